// A real kube-apiserver + etcd (+ kube-controller-manager for garbage collection) on loopback, started the
// way controller-runtime's envtest starts them. Used by Jest's global setup and by `make cluster-up`.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommandSync, startProcess, waitFor, type ManagedProcess } from './processes.js';
import { installCrds } from './crds.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const STATE_PREFIX = 'gateway-operator-cluster-';

export interface TestClusterOptions {
  /** Start kube-controller-manager (garbage collection, namespace deletion). Default true. */
  controllerManager?: boolean;
  /** Directory holding the CRD YAML to install. Default: the repo's crds/; null: none (a test installs its own). */
  crdDir?: string | null;
  /** Also install the Gateway API CRDs (standard channel, pinned in hack/testbin/versions.env). Default true. */
  gatewayApi?: boolean;
  /** Also write the kubeconfig here (e.g. .local/kubeconfig). */
  kubeconfigCopy?: string;
}

export interface TestClusterInfo {
  server: string;
  token: string;
  kubeconfig: string;
  stateDir: string;
}

/** Runs a hack/testbin script that fills a cache directory and prints it last; checks `expected` is there. */
export function cachedDir(script: string, expected: string, args: string[] = []): string {
  const path = join(REPO_ROOT, 'hack/testbin', script);
  const result = runCommandSync('bash', [path, ...args], { timeoutMs: 0, showStderr: true });
  if (result.status !== 0) throw new Error(`${path} failed with exit code ${result.status}`);
  const dir = result.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(join(dir, expected))) throw new Error(`${path} printed "${dir}", which has no ${expected}`);
  return dir;
}

/** Finds or builds the pinned binaries (KUBEBUILDER_ASSETS wins) and returns their directory. */
export function testBinaries(): string {
  return cachedDir('build.sh', 'kube-apiserver');
}

/** Finds or builds (once, cached) the pinned prometheus and promtool and returns their directory. */
export function prometheusBinaries(): string {
  return cachedDir('prometheus.sh', 'promtool');
}

/** Fetches (once, cached) the pinned Gateway API CRDs and returns their directory. */
export function gatewayApiCrds(): string {
  return cachedDir('gateway-api-crds.sh', 'gateway.networking.k8s.io_httproutes.yaml');
}

/**
 * A port nothing listens on, picked below the kernel's ephemeral range (32768+ on Linux): a port the
 * kernel handed out for port 0 is also what it hands to the next outgoing connection, which is how
 * etcd once lost its port between this check and its own bind. Callers that spawn a server still
 * retry on "address already in use" (see TestCluster.start).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port between 20000 and 32000 after 50 tries');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

function statusOf(url: string, token?: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const options = { headers: token ? { Authorization: `Bearer ${token}` } : {}, rejectUnauthorized: false, timeout: 5_000 };
    const request = (url.startsWith('https:') ? httpsGet : httpGet)(url, options, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/**
 * Kills control planes left behind by a runner that died without tearing down (its owner pid is gone),
 * so an interrupted run never leaks etcd or kube-apiserver into the next one.
 */
export function reapAbandonedClusters(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(STATE_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let state: { owner: number; pids: number[] };
    try {
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    } catch {
      continue; // being written by a live run, or not ours
    }
    if (isAlive(state.owner)) continue;
    for (const pid of state.pids) {
      if (isAlive(pid) && commandLine(pid).includes(dir)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export class TestCluster {
  private readonly processes: ManagedProcess[] = [];
  private readonly launches = new Map<string, { binary: string; args: string[] }>();
  private info?: TestClusterInfo;

  constructor(private readonly options: TestClusterOptions = {}) {}

  get kubeconfig(): string {
    if (!this.info) throw new Error('the test cluster is not started');
    return this.info.kubeconfig;
  }

  async start(): Promise<TestClusterInfo> {
    reapAbandonedClusters();
    const bin = testBinaries();
    const started = Date.now();
    // Another process (the other test worker, any outgoing connection) can take a port between
    // freePort() and etcd's or kube-apiserver's bind; that start is retried with new ports.
    for (let attempt = 1; ; attempt++) {
      const stateDir = mkdtempSync(join(tmpdir(), STATE_PREFIX));
      try {
        this.info = await this.startIn(bin, stateDir);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        process.stderr.write(`test control plane ready at ${this.info.server} in ${seconds} s\n`);
        return this.info;
      } catch (err) {
        await this.stop();
        rmSync(stateDir, { recursive: true, force: true });
        const portTaken = /address already in use/.test(String((err as Error).message));
        if (!portTaken || attempt >= 3) throw err;
        process.stderr.write(`test control plane: a port was taken during start (attempt ${attempt}), retrying\n`);
      }
    }
  }

  private async startIn(bin: string, stateDir: string): Promise<TestClusterInfo> {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const token = randomBytes(24).toString('hex');
    this.recordState(stateDir);

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = this.spawn('etcd', join(bin, 'etcd'), stateDir, [
      `--name=test`,
      `--data-dir=${join(stateDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor('etcd /health', async () => (await statusOf(`${etcdUrl}/health`)) === 200, { abortOn: etcd.exited }).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n--- etcd log ---\n${etcd.logTail()}`);
      },
    );

    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(join(stateDir, 'sa.pub'), publicKey);
    writeFileSync(join(stateDir, 'sa.key'), privateKey, { mode: 0o600 });
    writeFileSync(join(stateDir, 'tokens.csv'), `${token},admin,admin-uid,system:masters\n`, { mode: 0o600 });
    const certDir = join(stateDir, 'certs');
    mkdirSync(certDir);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = this.spawn('kube-apiserver', join(bin, 'kube-apiserver'), stateDir, [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--service-account-issuer=${server}/`,
      `--service-account-key-file=${join(stateDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(stateDir, 'sa.key')}`,
      '--disable-admission-plugins=ServiceAccount',
      `--token-auth-file=${join(stateDir, 'tokens.csv')}`,
      '--v=0',
    ]);
    const apiserverFailed = (err: Error): never => {
      throw new Error(`${err.message}\n--- kube-apiserver log ---\n${apiserver.logTail()}`);
    };
    await waitFor('kube-apiserver /readyz', async () => (await statusOf(`${server}/readyz`, token)) === 200, {
      abortOn: apiserver.exited,
    }).catch(apiserverFailed);
    await waitFor(
      'namespace default',
      async () => (await statusOf(`${server}/api/v1/namespaces/default`, token)) === 200,
      { abortOn: apiserver.exited },
    ).catch(apiserverFailed);

    const kubeconfig = join(stateDir, 'kubeconfig');
    const ca = readFileSync(join(certDir, 'apiserver.crt')).toString('base64');
    const kubeconfigText = renderKubeconfig(server, ca, token);
    writeFileSync(kubeconfig, kubeconfigText, { mode: 0o600 });
    if (this.options.kubeconfigCopy) writeFileSync(this.options.kubeconfigCopy, kubeconfigText, { mode: 0o600 });

    if (this.options.crdDir !== null) await installCrds(kubeconfig, this.options.crdDir ?? join(REPO_ROOT, 'crds'));
    if (this.options.gatewayApi ?? true) await installCrds(kubeconfig, gatewayApiCrds());

    if (this.options.controllerManager ?? true) {
      this.spawn('kube-controller-manager', join(bin, 'kube-controller-manager'), stateDir, [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--controllers=garbage-collector-controller,namespace-controller',
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        `--cert-dir=${join(stateDir, 'kcm-certs')}`,
        '--v=0',
      ]);
    }
    this.recordState(stateDir);
    return { server, token, kubeconfig, stateDir };
  }

  private spawn(name: string, binary: string, stateDir: string, args: string[]): ManagedProcess {
    const managed = startProcess(name, binary, args, join(stateDir, `${name}.log`));
    this.processes.push(managed);
    this.launches.set(name, { binary, args });
    this.recordState(stateDir);
    return managed;
  }

  /** Stops kube-apiserver (SIGTERM), for tests of how clients live through an apiserver outage. */
  async stopApiserver(): Promise<void> {
    const apiserver = this.process('kube-apiserver');
    if (!apiserver) throw new Error('kube-apiserver is not running');
    await apiserver.stop();
    this.processes.splice(this.processes.indexOf(apiserver), 1);
  }

  /** Starts kube-apiserver again with the same flags (same port, same etcd) and waits for /readyz. */
  async startApiserver(): Promise<void> {
    const launch = this.launches.get('kube-apiserver');
    if (!launch || !this.info) throw new Error('kube-apiserver was never started');
    const apiserver = this.spawn('kube-apiserver', launch.binary, this.info.stateDir, launch.args);
    const { server, token } = this.info;
    await waitFor('kube-apiserver /readyz after restart', async () => (await statusOf(`${server}/readyz`, token)) === 200, {
      abortOn: apiserver.exited,
    });
  }

  private recordState(stateDir: string): void {
    const state = { owner: process.pid, pids: this.processes.map((p) => p.pid) };
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state));
  }

  /** SIGTERM in reverse start order (SIGKILL after a grace period), then removes the state directory. */
  async stop(): Promise<void> {
    for (const managed of [...this.processes].reverse()) await managed.stop();
    this.processes.length = 0;
    if (this.info) rmSync(this.info.stateDir, { recursive: true, force: true });
    this.info = undefined;
  }

  /** The process handles, for tests that stop and restart the apiserver. */
  process(name: string): ManagedProcess | undefined {
    return this.processes.find((p) => p.name === name);
  }
}

export function renderKubeconfig(server: string, caData: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: gateway-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: gateway-test',
    '  context:',
    '    cluster: gateway-test',
    '    user: admin',
    '    namespace: default',
    'current-context: gateway-test',
    '',
  ].join('\n');
}
