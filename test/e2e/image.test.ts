// The container image as users run it: built by `make test` (hack/test-image.sh) on local Node 24 bases,
// run by podman on the host network against the test apiserver as the Helm release's ServiceAccount,
// read-only root filesystem, all capabilities dropped. Owns the Helm release "gwimage".
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ReferenceControlPlane } from '../../src/reference-control-plane/server.js';
import { eventually, TestNamespaces } from '../support/kube.js';
import { condition, createIngress, createService, getGatewayRoute, ingressObject, serviceObject } from '../support/fixtures.js';
import { describeRoute, startControlPlane, waitForRoutes } from '../support/control-plane.js';
import { apply, forbiddenLines, renderChart, serviceAccountKubeconfig } from '../support/install.js';
import { freePort, REPO_ROOT } from '../support/test-cluster.js';
import { operatorArgs, SHIPPED_ENV, SHIPPED_NODE_OPTIONS } from '../support/operator.js';
import { runCommand } from '../support/processes.js';
import { packageVersion } from '../../hack/release.js';

const imageFile = join(REPO_ROOT, '.local/test-image');
const skipFile = join(REPO_ROOT, '.local/test-image.skip');
const image = existsSync(imageFile) ? readFileSync(imageFile, 'utf8').trim() : undefined;
const skipReason = existsSync(skipFile) ? readFileSync(skipFile, 'utf8').trim() : 'no image was built (run the tests with `make test`, which builds it)';

const run = (command: string, args: string[], timeoutMs?: number) => runCommand(command, args, { timeoutMs });

const TOKEN = 'image-test-token';
const RELEASE = 'gwimage';
const namespaces = new TestNamespaces();

if (!image) {
  it.skip(`image test: ${skipReason}`, () => undefined);
} else {
  describe(`the image ${image}`, () => {
    const container = `gateway-operator-test-${randomBytes(3).toString('hex')}`;
    let cp: ReferenceControlPlane;
    let ns: string;

    beforeAll(async () => {
      cp = await startControlPlane({ token: TOKEN });
      ns = await namespaces.create('image');
    });

    afterAll(async () => {
      await run('podman', ['rm', '-f', '--time', '0', container]);
      await cp?.close();
      await namespaces.deleteAll();
    });

    it('refuses to start in a pod without a cluster name: one line naming the flag and the variable, exit 2', async () => {
      const result = await run('podman', ['run', '--rm', '--network', 'host', '-e', 'KUBERNETES_SERVICE_HOST=10.0.0.1', image]);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^gateway-operator: --cluster-name: is required in a pod: set --cluster-name or GATEWAY_CLUSTER_NAME/)]);
      expect(result.status).toBe(2);
    });

    it('holds the operator alone, as one bundle and its source map: no node_modules, no reference control plane', async () => {
      const listing = "import { readdirSync } from 'node:fs'; console.log(readdirSync('/app', { recursive: true }).join('\\n'))";
      const result = await run('podman', ['run', '--rm', '--entrypoint', '/usr/local/bin/node', image, '--input-type=module', '-e', listing]);
      expect(result.status).toBe(0);
      expect(result.stdout.trim().split('\n').sort()).toEqual(['dist', 'dist/gateway-operator.mjs', 'dist/gateway-operator.mjs.map', 'package.json']);
      const inspect = JSON.parse((await run('podman', ['image', 'inspect', image])).stdout)[0];
      expect(inspect.Config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/dist/gateway-operator.mjs']);
    });

    it("is labelled with package.json's version, the chart's appVersion", async () => {
      const inspect = JSON.parse((await run('podman', ['image', 'inspect', image])).stdout)[0];
      const version = packageVersion(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
      expect(inspect.Config.Labels['org.opencontainers.image.version']).toBe(version);
      expect(readFileSync(join(REPO_ROOT, 'charts/gateway-operator/Chart.yaml'), 'utf8')).toContain(`appVersion: "${version}"`);
    });

    it('runs as uid 65532 on a read-only root filesystem under the chart ServiceAccount, syncs a route, is ready, and exits cleanly within 10 s of SIGTERM', async () => {
      apply({ yaml: renderChart(RELEASE, ns, { clusterName: ns, 'controlPlane.url': cp.url }) });
      const { path: kubeconfig } = await serviceAccountKubeconfig(ns, `${RELEASE}-gateway-operator`);
      const healthPort = await freePort();
      const started = await run('podman', [
        'run', '-d', '--name', container, '--network', 'host', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
        '-v', `${dirname(kubeconfig)}:/config:ro`,
        image,
        '--kubeconfig', '/config/kubeconfig',
        ...operatorArgs(ns, { cp }, ['--leader-elect=true', '--lease-name', `${RELEASE}-gateway-operator`, '--health-port', String(healthPort)]),
      ]);
      expect(started.stderr).toBe('');
      expect(started.status).toBe(0);
      const logs = async () => (await run('podman', ['logs', container])).stdout;

      const inspect = JSON.parse((await run('podman', ['inspect', container])).stdout)[0];
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspect.Config.User).toBe('65532:65532');
      expect(inspect.Config.Env).toContain(`NODE_OPTIONS=${SHIPPED_NODE_OPTIONS}`); // what the tests and the bench run with
      for (const [name, value] of Object.entries(SHIPPED_ENV)) expect(inspect.Config.Env).toContain(`${name}=${value}`);
      const status = readFileSync(`/proc/${inspect.State.Pid}/status`, 'utf8');
      expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
      expect(status).toMatch(/^Gid:\s+65532\s+65532\s+65532\s+65532$/m);

      await createService(serviceObject(ns, 'web', [{ name: 'http', port: 8080 }]));
      await createIngress(ingressObject(ns, 'shop', [{ host: 'shop.example.com', paths: [{ service: 'web', port: 'http' }] }]));
      try {
        await waitForRoutes(cp, ns, [describeRoute({ host: 'shop.example.com', path: '/', service: 'web', port: 8080 })]);
        await eventually('GatewayRoute Synced=True', async () => condition(await getGatewayRoute(ns, 'shop'), 'Synced')?.status === 'True');
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- container log ---\n${await logs()}`);
      }
      const readyz = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      expect(readyz.status).toBe(200);

      const stopping = Date.now();
      expect((await run('podman', ['kill', '--signal', 'TERM', container])).status).toBe(0);
      const waited = await run('podman', ['wait', container], 20_000);
      const stoppedMs = Date.now() - stopping;
      expect(waited.stdout.trim()).toBe('0');
      expect(stoppedMs).toBeLessThan(10_000);
      const lines = (await logs()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.some((l) => l.msg === 'released the leader lease')).toBe(true);
      expect(forbiddenLines(lines)).toEqual([]);
    }, 120_000);
  });
}
