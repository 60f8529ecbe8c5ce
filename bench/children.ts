// The parties of the tunnel and gRPC benches that run in processes of their own (the backends, the reference
// control plane and its gateway), and what the bench process, the load generator, sends them: requests over
// HTTP/1.1 and a driver that keeps a number of them in flight. Every child started here is SIGTERMed when the
// bench process exits, whether it ends well or fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type Agent, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { agentToken } from '../src/reference-control-plane/credentials.js';
import { testKubeConfig } from '../test/support/kube.js';
import { OperatorProcess, type OperatorRuntime } from '../test/support/operator.js';
import { REPO_ROOT, type TestCluster } from '../test/support/test-cluster.js';

const children: ChildProcess[] = [];

/** SIGTERMs every child still running. */
export function stopChildren(): void {
  for (const child of children) if (!child.killed && child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', stopChildren);
// Interrupted (Ctrl-C, a CI timeout): 'exit' does not run on a signal's default action.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** A child process whose stdout is JSON lines; resolves with the first line `pick` accepts. */
export function startChild<T>(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, pick: (line: Record<string, unknown>) => T | undefined): Promise<T> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${name} could not start: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const found = pick(JSON.parse(line) as Record<string, unknown>);
        if (found !== undefined) resolve(found);
      } catch {
        // not a JSON line: ignored
      }
    });
  });
}

/** Starts the bench's test apiserver; its kubeconfig is the one the operator and the bench's own clients use. */
export async function startBenchCluster(cluster: TestCluster): Promise<KubeConfig> {
  const info = await cluster.start();
  process.env.GATEWAY_TEST_KUBECONFIG = info.kubeconfig;
  return testKubeConfig(info.kubeconfig);
}

/** The operator on `runtime`, logging at info; OPERATOR_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=prof") profiles it during the run. */
export function startBenchOperator(args: string[], runtime: OperatorRuntime): OperatorProcess {
  return new OperatorProcess(args, { LOG_LEVEL: 'info', ...(process.env.OPERATOR_NODE_ARGS ? { OPERATOR_NODE_ARGS: process.env.OPERATOR_NODE_ARGS } : {}) }, runtime);
}

/** The ports of bench/backends.ts; httpsPort only when `env` gives it BENCH_TLS_CERT and BENCH_TLS_KEY. */
export interface BackendPorts {
  grpcPort: number;
  httpPort: number;
  httpsPort?: number;
}

export function startBackends(env: NodeJS.ProcessEnv = {}): Promise<BackendPorts> {
  return startChild('backends', process.execPath, ['--import', 'tsx', 'bench/backends.ts'], env, (line) =>
    typeof line.httpPort === 'number' ? (line as unknown as BackendPorts) : undefined,
  );
}

/**
 * The reference control plane as its users run it (npm run control-plane, the built dist-reference/), admin
 * secret `token`: what the operator is given to register at it, and its gateway's port.
 */
export async function startReferenceControlPlane(token: string): Promise<{ cp: { url: string; agentToken(clusterName: string): string }; gatewayPort: number }> {
  const ports: { cp?: number; gateway?: number } = {};
  // CONTROL_PLANE_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=prof") profiles the gateway during the run.
  const nodeArgs = (process.env.CONTROL_PLANE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  await startChild('control plane', process.execPath, [...nodeArgs, 'dist-reference/reference-control-plane/main.js', '--port', '0', '--gateway-port', '0', '--token', token], { LOG_LEVEL: 'info' }, (line) => {
    if (line.msg === 'reference control plane listening') ports.cp = line.port as number;
    if (line.msg === 'gateway listening') ports.gateway = line.port as number;
    return ports.cp && ports.gateway ? true : undefined;
  });
  return { cp: { url: `http://127.0.0.1:${ports.cp}`, agentToken: (name: string) => agentToken(token, name) }, gatewayPort: ports.gateway! };
}

/** Where requests go: a loopback port, the Host they name, and the agent that keeps their connections (false: none). */
export interface Endpoint {
  port: number;
  host: string;
  agent: Agent | false;
}

/** One request (a POST of `body` if given, else a GET); resolves with the response, its body not yet read. */
export function send(endpoint: Endpoint, path: string, body?: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Host: endpoint.host };
    if (body) headers['Content-Length'] = body.length;
    request({ host: '127.0.0.1', port: endpoint.port, path, method: body ? 'POST' : 'GET', headers, agent: endpoint.agent }, resolve).on('error', reject).end(body);
  });
}

/** One request that must answer 200; resolves with the number of body bytes once the body has been read. */
export async function expectOk(endpoint: Endpoint, path: string, body?: Buffer): Promise<number> {
  const res = await send(endpoint, path, body);
  let bytes = 0;
  await new Promise<void>((resolve, reject) => res.on('data', (c: Buffer) => (bytes += c.length)).on('end', resolve).on('error', reject));
  if (res.statusCode !== 200) throw new Error(`${endpoint.host}${path} answered ${res.statusCode} on port ${endpoint.port}`);
  return bytes;
}

/** The body of one GET, as text. */
export async function getText(endpoint: Endpoint, path: string): Promise<string> {
  const res = await send(endpoint, path);
  let text = '';
  await new Promise<void>((resolve, reject) => res.on('data', (c: Buffer) => (text += c.toString())).on('end', resolve).on('error', reject));
  return text;
}

/** `total` runs of `one`, `inFlight` of them at a time; runs/s and each run's latency in ms. */
export async function concurrently(total: number, inFlight: number, one: () => Promise<unknown>): Promise<{ rps: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < total) {
      const t = performance.now();
      await one();
      latencies.push(performance.now() - t);
    }
  }));
  return { rps: total / ((performance.now() - started) / 1000), latencies };
}
