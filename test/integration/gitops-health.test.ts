// The Argo CD health check (config/argocd/health.lua) and Flux's kstatus (sigs.k8s.io/cli-utils) on real
// GatewayRoutes the operator reported on, in each state: Healthy / Current (acknowledged), Degraded / Failed
// (stalled: the control plane rejected it), Progressing / InProgress (waiting for a control plane, or a
// generation not yet processed).
import { describe, expect, it } from '@jest/globals';
import { clusterHolding } from '../support/control-plane.js';
import { condition, createIngress, getGatewayRoute, ingressObject } from '../support/fixtures.js';
import { eventually } from '../support/kube.js';
import { kstatus } from '../support/kstatus.js';
import { argoHealth, luaLiteral } from '../support/lua.js';
import { freePort } from '../support/test-cluster.js';
import { syncSuite } from '../support/sync-suite.js';

const suite = syncSuite('argocd-health-token');

describe('config/argocd/health.lua and kstatus', () => {
  it('reads a GatewayRoute the control plane acknowledged as Healthy, and one with a newer generation as Progressing', async () => {
    const ns = await suite.ownNamespace('argo-healthy');
    await suite.operators.start(suite.operatorArgs(ns)).registered();
    await createIngress(ingressObject(ns, 'site', [{ host: `site.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }]));
    const healthy = await eventually('Ready', async () => {
      const route = await getGatewayRoute(ns, 'site');
      return condition(route, 'Ready')?.status === 'True' && route?.status?.observedGeneration === route?.metadata.generation ? route : undefined;
    });
    expect(argoHealth(healthy)).toEqual({ status: 'Healthy', message: 'all conditions are satisfied' });
    const edited = { ...healthy, metadata: { ...healthy.metadata, generation: (healthy.metadata.generation ?? 1) + 1 } };
    expect(argoHealth(edited)).toEqual({ status: 'Progressing', message: `Waiting for the operator to process generation ${edited.metadata.generation}` });
    expect(argoHealth({ ...healthy, status: undefined })).toEqual({ status: 'Progressing', message: 'Waiting for the operator to report status' });
    expect(kstatus(healthy, edited)).toEqual([
      { status: 'Current', message: 'Resource is Ready' },
      { status: 'InProgress', message: `GatewayRoute generation is ${edited.metadata.generation}, but latest observed generation is ${healthy.metadata.generation}` },
    ]);
  });

  it('reads a GatewayRoute the control plane rejected as Degraded, with the reason', async () => {
    const ns = await suite.ownNamespace('argo-degraded');
    await suite.operators.start(suite.operatorArgs(ns)).registered();
    const host = `taken.${ns}.example.com`;
    clusterHolding(suite.cp, `holder-${ns}`, [{ host, path: '/', path_type: 'Prefix', service: 's', port: 80, tls: false }]);
    await createIngress(ingressObject(ns, 'taken', [{ host, paths: [{ service: 'web', port: 'http' }] }]));
    const stalled = await eventually('Stalled', async () => {
      const route = await getGatewayRoute(ns, 'taken');
      return condition(route, 'Stalled')?.status === 'True' ? route : undefined;
    });
    const health = argoHealth(stalled);
    expect(health.status).toBe('Degraded');
    expect(health.message).toContain(`host taken.${ns}.example.com is served by another cluster`);
    const [flux] = kstatus(stalled);
    expect(flux?.status).toBe('Failed');
    expect(flux?.message).toContain(`host taken.${ns}.example.com is served by another cluster`);
  });

  // Finding 11 of the hostile-peer review: enough rejections made Synced longer than the CRD's 32,768
  // characters, the status write failed with 422 forever and the old Synced=True stayed.
  it('300 routes rejected: Synced says so within the CRD limit ("and N more") and the status is written', async () => {
    const ns = await suite.ownNamespace('argo-many-rejected');
    await suite.operators.start(suite.operatorArgs(ns)).registered();
    const hosts = Array.from({ length: 300 }, (_, i) => `taken-${i}-${'x'.repeat(60)}.${ns}.example.com`);
    clusterHolding(suite.cp, `holder-${ns}`, hosts.map((host) => ({ host, path: '/', path_type: 'Prefix', service: 's', port: 80, tls: false })));
    await createIngress(ingressObject(ns, 'many', hosts.map((host) => ({ host, paths: [{ service: 'web', port: 'http' }] }))));
    const synced = await eventually('Synced=False Rejected written', async () => {
      const found = condition(await getGatewayRoute(ns, 'many'), 'Synced');
      return found?.reason === 'Rejected' ? found : undefined;
    });
    expect(synced.message).toMatch(/^the control plane rejected 300 route\(s\): /);
    expect(synced.message).toMatch(/; and \d+ more$/);
    expect(synced.message.length).toBeLessThanOrEqual(32_768);
    expect(synced.message.length).toBeGreaterThan(16_000); // cut near the limit, not far below it
  });

  it('reads a GatewayRoute waiting for its control plane as Progressing', async () => {
    const ns = await suite.ownNamespace('argo-progressing');
    suite.operators.start(suite.operatorArgs(ns, { url: `http://127.0.0.1:${await freePort()}` }));
    await createIngress(ingressObject(ns, 'waiting', [{ host: `waiting.${ns}.example.com`, paths: [{ service: 'web', port: 'http' }] }]));
    const waiting = await eventually('Reconciling', async () => {
      const route = await getGatewayRoute(ns, 'waiting');
      return condition(route, 'Reconciling')?.reason === 'Disconnected' ? route : undefined;
    });
    const health = argoHealth(waiting);
    expect(health.status).toBe('Progressing');
    expect(health.message).toContain('Synced: waiting for the control plane');
    const [flux] = kstatus(waiting);
    expect(flux?.status).toBe('InProgress');
  });

  it.each([
    ['plain', '"plain"'],
    ['quote " and \\ backslash', '"quote \\034 and \\092 backslash"'],
    ['é', '"\\195\\169"'],
    ['"1', '"\\0341"'],
  ])('writes the Lua string literal of %p', (text, literal) => expect(luaLiteral(text)).toBe(literal));
});
