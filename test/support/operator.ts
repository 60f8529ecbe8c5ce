// Runs the real operator (node dist/main.js) as a child process against the test apiserver, with its
// JSON log lines captured so tests can wait on what it says and read its health endpoints.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './test-cluster.js';
import { testKubeconfigPath } from './kube.js';
import { runCommand, waitFor } from './processes.js';

/**
 * The image's NODE_OPTIONS (Dockerfile; the image test checks they agree): a 2 MiB young-generation
 * semi-space instead of 16, which keeps ~30 MiB of short-lived garbage out of the RSS for a negligible
 * CPU cost (measured with make bench).
 */
export const SHIPPED_NODE_OPTIONS = '--max-semi-space-size=2';
/** The rest of the image's environment that changes how the operator runs (see the Dockerfile). */
export const SHIPPED_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

export interface LogLine {
  ts: string;
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** Which Node runs which build of the operator. */
export interface OperatorRuntime {
  node: string;
  entry: string;
}

/** The tests': this process's Node and tsc's dist/main.js. */
export const DEV_RUNTIME: OperatorRuntime = { node: process.execPath, entry: join(REPO_ROOT, 'dist/main.js') };

/**
 * What the image ships: its Node (hack/shipped-node.sh fetches the same package once) and the bundle;
 * `bundled: false` runs tsc's dist/main.js on that Node instead, to measure what the bundle changes.
 */
export function shippedRuntime({ bundled = true } = {}): OperatorRuntime {
  const node = execFileSync('bash', [join(REPO_ROOT, 'hack/shipped-node.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return { node, entry: join(REPO_ROOT, bundled ? 'dist/gateway-operator.mjs' : 'dist/main.js') };
}

/** The bench's operator: BENCH_RUNTIME=shipped (default), shipped-unbundled or dev. */
export function benchRuntime(choice = process.env.BENCH_RUNTIME ?? 'shipped'): OperatorRuntime {
  if (choice === 'dev') return DEV_RUNTIME;
  if (choice === 'shipped' || choice === 'shipped-unbundled') return shippedRuntime({ bundled: choice === 'shipped' });
  throw new Error(`BENCH_RUNTIME=${choice}: expected shipped, shipped-unbundled or dev`);
}

/** "node v24.21.0, dist/gateway-operator.mjs": what a figure was measured on. */
export function describeRuntime(runtime: OperatorRuntime): string {
  const version = execFileSync(runtime.node, ['--version'], { encoding: 'utf8' }).trim();
  return `node ${version}, ${relative(REPO_ROOT, runtime.entry)}`;
}

export class OperatorProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null | undefined;
  healthPort = 0;
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string> = {}, runtime: OperatorRuntime = DEV_RUNTIME) {
    // The node flags the image runs with, unless OPERATOR_NODE_ARGS says otherwise (e.g. to add --cpu-prof).
    const nodeArgs = (env.OPERATOR_NODE_ARGS ?? SHIPPED_NODE_OPTIONS).split(' ').filter(Boolean);
    this.child = spawn(runtime.node, [...nodeArgs, runtime.entry, '--health-port', '0', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', KUBECONFIG: testKubeconfigPath(), LOG_LEVEL: 'debug', ...SHIPPED_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as LogLine;
        this.logs.push(entry);
        if (entry.msg === 'health server listening') this.healthPort = entry.port as number;
      } catch {
        this.stderr.push(line);
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    // 'close', not 'exit': it comes after stdout is drained, so every log line is in this.logs.
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve((this.exitCode = code))));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  async waitForLog(what: string, predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(`operator log: ${what}`, async () => (found = this.logs.find(predicate)) !== undefined, {
      timeoutMs,
      intervalMs: 50,
      abortOn: this.exited.then((code) => `exit code ${code}; stderr: ${this.stderr.join('\n')}`),
    });
    return found as LogLine;
  }

  async get(path: string): Promise<{ status: number; body: any }> {
    await waitFor('operator health port', async () => this.healthPort > 0, { timeoutMs: 20_000, intervalMs: 50 });
    const res = await fetch(`http://127.0.0.1:${this.healthPort}${path}`);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Prometheus text
    }
    return { status: res.status, body };
  }

  /**
   * The sum of a Prometheus metric's samples on /metrics whose labels include `labels` (0 when it has none).
   */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = (await this.get('/metrics')).body as string;
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    let sum = 0;
    for (const line of text.split('\n')) {
      const match = /^([^\s{]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const present = (match[2] ?? '').split(',');
      if (wanted.every((label) => present.includes(label))) sum += Number(match[3]);
    }
    return sum;
  }

  /** Waits until /readyz answers 200. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor('operator /readyz 200', async () => (await this.get('/readyz')).status === 200, {
      timeoutMs,
      intervalMs: 100,
      abortOn: this.exited.then((code) => `exit code ${code}`),
    });
  }

  /** Waits until the operator is registered with its control plane (readiness does not include it). */
  async registered(timeoutMs = 30_000): Promise<void> {
    await waitFor('operator registered with the control plane', async () => (await this.get('/api/health/detailed')).body.connection?.state === 'ready', {
      timeoutMs,
      intervalMs: 100,
      abortOn: this.exited.then((code) => `exit code ${code}`),
    });
  }

  /** Waits until both work queues are empty and idle on two polls in a row. */
  async settled(timeoutMs = 30_000): Promise<void> {
    let quietPolls = 0;
    await waitFor('operator queues idle', async () => {
      const { body } = await this.get('/api/health/detailed');
      const q = body.queues as Record<string, { depth: number; inFlight: number }>;
      const idle = Object.values(q).every((s) => s.depth === 0 && s.inFlight === 0);
      quietPolls = idle ? quietPolls + 1 : 0;
      return quietPolls >= 3;
    }, { timeoutMs, intervalMs: 200 });
  }

  /** SIGTERM and wait for the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`operator did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    return code;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export interface OperatorArgsOptions {
  /** --namespace (Lease, state ConfigMap, Events); default: the first watched namespace. */
  home?: string;
  /** The control plane to register at; none: routes are reconciled, not synced. */
  cp?: { url: string; agentToken(clusterName: string): string };
  /** Where to reach it instead of cp.url (a TLS front, a proxy, a port nothing listens on yet). */
  url?: string;
  /** --cluster-name; default: the first watched namespace. */
  clusterName?: string;
  /** false: no --token, the test gives it another way (GATEWAY_TOKEN, --token-file). */
  token?: boolean;
  /** --reconnect-max-ms: a short cap for tests that make the operator reconnect. */
  reconnectMaxMs?: number;
}

/**
 * The operator's flags as tests start it: watching `watch` (one namespace or several), with its state in the
 * first of them and, given a control plane, registered there with that control plane's token for the
 * cluster (none when it takes any token). `extra` flags come last.
 */
export function operatorArgs(watch: string | readonly string[], options: OperatorArgsOptions = {}, extra: readonly string[] = []): string[] {
  const watched = typeof watch === 'string' ? [watch] : [...watch];
  const first = watched[0]!;
  const args = ['--watch-namespaces', watched.join(','), '--namespace', options.home ?? first];
  const { cp } = options;
  if (cp) {
    const clusterName = options.clusterName ?? first;
    const token = options.token === false ? '' : cp.agentToken(clusterName);
    args.push('--control-plane-url', options.url ?? cp.url, ...(token ? ['--token', token] : []), '--cluster-name', clusterName);
  }
  if (options.reconnectMaxMs !== undefined) args.push('--reconnect-max-ms', String(options.reconnectMaxMs));
  return [...args, ...extra];
}

/** Runs a one-shot command of the operator binary (e.g. deregister) to its end, without blocking this process. */
export async function runOperatorCommand(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ status: number; output: string }> {
  const result = await runCommand(process.execPath, [join(REPO_ROOT, 'dist/main.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', KUBECONFIG: testKubeconfigPath(), ...env },
    timeoutMs,
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** Operators started by a test file, stopped in afterAll even when a test fails. */
export class OperatorPool {
  private readonly started: OperatorProcess[] = [];
  start(args: string[], env?: Record<string, string>): OperatorProcess {
    const op = new OperatorProcess(args, env);
    this.started.push(op);
    return op;
  }
  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((op) => op.stop().catch(() => op.kill())));
  }
}
