import { describe, expect, it } from '@jest/globals';
import type { Agent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { forWatches, shareConnections } from '../../../src/operator/connections.js';

const config = (): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
};
const agentOf = async (kc: KubeConfig): Promise<Agent> => ((await kc.applyToFetchOptions({})) as { agent: Agent }).agent;

describe('shareConnections', () => {
  it('requests share one capped keep-alive agent; watches one of their own without a cap', async () => {
    const kc = shareConnections(config());
    const request = await agentOf(kc);
    expect(await agentOf(kc)).toBe(request);
    expect(request.maxSockets).toBe(64);
    const watches = forWatches(kc);
    const watch = await agentOf(watches);
    expect(watch).not.toBe(request);
    expect(await agentOf(forWatches(kc))).toBe(watch);
    // Enough long-lived watches (watched kinds × --watch-namespaces) never leave requests without a connection.
    expect(watch.maxSockets).toBe(Infinity);
    expect(watches.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('a KubeConfig that was not prepared is used as it is', () => {
    const kc = config();
    expect(forWatches(kc)).toBe(kc);
  });
});
