// NetworkPolicies checked against flows without an enforcing CNI: what a process connects to (recorded inside it
// by a preload, cross-checked against /proc), and what a NetworkPolicy analyzer decides about a flow (cyclonus' policy matcher, the engine of
// sigs.k8s.io/network-policy-api's policy-assistant, through the helper hack/testbin/netpol, built once, cached).
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHIPPED_NODE_OPTIONS } from './operator.js';
import { runCommandSync } from './processes.js';
import { cachedDir, REPO_ROOT } from './test-cluster.js';

/** A connection a process opened (not one it accepted): where it goes. */
export interface OutboundSocket {
  protocol: 'TCP' | 'UDP';
  remoteAddress: string;
  remotePort: number;
}

const TCP_LISTEN = '0A';

export const socketKey = (socket: OutboundSocket) => `${socket.protocol} ${socket.remoteAddress}:${socket.remotePort}`;

/**
 * Every outbound connection (and UDP send) a Node process makes, as it makes it: the env for OperatorProcess
 * that preloads test/support/connect-recorder.mjs (test-only: the image has no test/), and what it recorded.
 * No sampling window: a connection is recorded at connect(), before a byte is sent, however short it is.
 */
export function connectionRecording(): { env: Record<string, string>; recorded(): OutboundSocket[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-connections-'));
  const file = join(dir, 'connections.jsonl');
  const preload = pathToFileURL(join(REPO_ROOT, 'test/support/connect-recorder.mjs')).href;
  return {
    env: { OPERATOR_NODE_ARGS: `${SHIPPED_NODE_OPTIONS} --import=${preload}`, GATEWAY_TEST_CONNECTIONS: file },
    recorded() {
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
      const unique = new Map(lines.map((line) => JSON.parse(line) as OutboundSocket).map((socket) => [socketKey(socket), socket]));
      return [...unique.values()];
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** "0100007F" (the kernel's byte order) → 127.0.0.1; IPv6 likewise, in its usual text form. */
function addressOf(hex: string): string {
  const bytes = (word: string) => [6, 4, 2, 0].map((i) => parseInt(word.slice(i, i + 2), 16));
  if (hex.length === 8) return bytes(hex).join('.');
  if (hex.slice(0, 24) === '0000000000000000FFFF0000') return bytes(hex.slice(24)).join('.');
  const b = (hex.match(/.{8}/g) ?? []).flatMap(bytes);
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/**
 * The sockets `pid` has open to a remote address, from /proc/<pid>/net/{tcp,udp}{,6} (its network namespace's
 * table) narrowed to the socket inodes among its file descriptors. Connections to a port the process listens
 * on are ones it accepted (its health port), not flows it opened.
 */
export function outboundSockets(pid: number): OutboundSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed between the listing and the read
    }
  }
  const rows: Array<{ protocol: OutboundSocket['protocol']; state: string; localPort: number; remoteAddress: string; remotePort: number }> = [];
  for (const [table, protocol] of [['tcp', 'TCP'], ['tcp6', 'TCP'], ['udp', 'UDP'], ['udp6', 'UDP']] as const) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
      const [local, remote] = [fields[1]!.split(':'), fields[2]!.split(':')];
      rows.push({ protocol, state: fields[3]!, localPort: parseInt(local[1]!, 16), remoteAddress: addressOf(remote[0]!), remotePort: parseInt(remote[1]!, 16) });
    }
  }
  const listening = new Set(rows.filter((r) => r.protocol === 'TCP' && r.state === TCP_LISTEN).map((r) => r.localPort));
  return rows
    .filter((r) => r.remotePort !== 0 && !(r.protocol === 'TCP' && listening.has(r.localPort)))
    .map(({ protocol, remoteAddress, remotePort }) => ({ protocol, remoteAddress, remotePort }));
}

/**
 * Samples outboundSockets(pid) until stopped. It sees only connections open at a sample, so it can miss short
 * ones; it checks connectionRecording's preload instead, which sees only what goes through Node's net and dgram:
 * a long-lived socket opened another way shows up here and not there.
 */
export class SocketSampler {
  private readonly seen = new Map<string, OutboundSocket>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 100) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    try {
      for (const socket of outboundSockets(this.pid)) this.seen.set(socketKey(socket), socket);
    } catch {
      // the process has exited
    }
  }

  /** Takes a last sample, stops, and returns every distinct socket seen. */
  stop(): OutboundSocket[] {
    this.sample();
    clearInterval(this.timer);
    return [...this.seen.values()];
  }
}

/** A peer of a flow as the analyzer takes it: a pod (its namespace and labels) or, without `internal`, an address outside the cluster. */
export interface Peer {
  internal?: { namespace: string; namespaceLabels: Record<string, string>; podLabels: Record<string, string> };
  ip: string;
}

export interface Flow {
  /** What the flow is, for messages: "backend shop/web". */
  name: string;
  source: Peer;
  destination: Peer;
  protocol: 'TCP' | 'UDP';
  port: number;
}

export interface Verdict {
  allowed: boolean;
  egress: { allowed: boolean; allowedBy: string[]; deniedBy: string[] };
  ingress: { allowed: boolean; allowedBy: string[]; deniedBy: string[] };
}

const trafficPeer = (peer: Peer) => ({
  ...(peer.internal ? { Internal: { Namespace: peer.internal.namespace, NamespaceLabels: peer.internal.namespaceLabels, PodLabels: peer.internal.podLabels } } : {}),
  IP: peer.ip,
});

/**
 * What the analyzer decides for each flow under `policies` (NetworkPolicy objects): the pods no policy selects
 * allow everything, as in a cluster.
 */
export function analyze(policies: readonly object[], flows: readonly Flow[]): Verdict[] {
  const binary = join(cachedDir('go-helper.sh', 'netpol', ['netpol']), 'netpol');
  const dir = mkdtempSync(join(tmpdir(), 'gateway-netpol-'));
  policies.forEach((policy, i) => writeFileSync(join(dir, `policy-${i}.json`), JSON.stringify(policy)));
  const traffic = flows.map((f) => ({ Source: trafficPeer(f.source), Destination: trafficPeer(f.destination), Protocol: f.protocol, ResolvedPort: f.port, ResolvedPortName: '' }));
  const run = runCommandSync(binary, [dir], { input: JSON.stringify(traffic), timeoutMs: 30_000 });
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`netpol exited with ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Verdict[];
}
