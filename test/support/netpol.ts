// NetworkPolicies checked against flows without an enforcing CNI: what a process connects to (read from /proc),
// and what a NetworkPolicy analyzer decides about a flow (cyclonus' policy matcher, the engine of
// sigs.k8s.io/network-policy-api's policy-assistant, through the helper hack/testbin/netpol, built once, cached).
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommandSync } from './processes.js';
import { cachedDir } from './test-cluster.js';

/** A connection a process opened (not one it accepted): where it goes. */
export interface OutboundSocket {
  protocol: 'TCP' | 'UDP';
  remoteAddress: string;
  remotePort: number;
}

const TCP_LISTEN = '0A';

/** "0100007F" (the kernel's byte order) → 127.0.0.1; an IPv6 address as its 32 hex digits, or a mapped IPv4. */
function addressOf(hex: string): string {
  const v4 = (word: string) => [6, 4, 2, 0].map((i) => parseInt(word.slice(i, i + 2), 16)).join('.');
  if (hex.length === 8) return v4(hex);
  return hex.slice(0, 24) === '0000000000000000FFFF0000' ? v4(hex.slice(24)) : hex;
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

/** Samples outboundSockets(pid) until stopped: short-lived connections are seen too, as long as one sample falls in them. */
export class SocketRecorder {
  private readonly seen = new Map<string, OutboundSocket>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 20) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    try {
      for (const socket of outboundSockets(this.pid)) this.seen.set(`${socket.protocol} ${socket.remoteAddress}:${socket.remotePort}`, socket);
    } catch {
      // the process has exited
    }
  }

  /** Samples now: whether a socket to `remotePort` was seen (a server can hold its answer until its connection is recorded). */
  sawPort(remotePort: number): boolean {
    this.sample();
    return [...this.seen.values()].some((socket) => socket.remotePort === remotePort);
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
  if (run.status !== 0) throw new Error(`netpol exited with ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Verdict[];
}
