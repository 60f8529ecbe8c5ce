// One keep-alive HTTPS agent per apiserver TLS identity, for every API call and watch. client-node builds
// a new https.Agent (so a new TLS handshake and secure context, CA parsing included) for each request;
// at a few thousand reconciles that was ~40 % of the operator's CPU and most of the apiserver's.
import { createHash } from 'node:crypto';
import { Agent, type AgentOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { metrics } from '../metrics.js';

type Cluster = ReturnType<KubeConfig['getCurrentCluster']>;
type CreateAgent = (cluster: Cluster, options: AgentOptions) => unknown;

/** The agent options that decide which TLS connection may be reused. */
function identity(cluster: Cluster, options: AgentOptions): string {
  const hash = createHash('sha256');
  for (const part of [cluster?.server, options.ca, options.cert, options.key, options.pfx, options.passphrase, options.servername, options.rejectUnauthorized, options.timeout]) {
    hash.update(part === undefined ? '\0' : Buffer.isBuffer(part) ? part : String(part));
    hash.update('\x01');
  }
  return hash.digest('hex');
}

/** A keep-alive agent that counts the connections (TLS handshakes) it opens, for /metrics and the bench. */
function countingAgent(options: AgentOptions): Agent {
  const agent = new Agent(options);
  const open = (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection.bind(agent);
  (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (...args) => {
    metrics.apiserverConnections.inc();
    return open(...args);
  };
  return agent;
}

/** Where a KubeConfig prepared by shareConnections keeps the agent factory for watches. */
const WATCH_AGENTS = Symbol('watch agents');
type Shared = { createAgent: CreateAgent; [WATCH_AGENTS]?: CreateAgent };

/**
 * Makes every agent `kc` creates a shared keep-alive one. Proxies and plain http keep client-node's own
 * agents. Requests share a pool of at most 64 connections; watches (see forWatches) have a pool of their own
 * without a cap: each holds its connection for as long as it runs, one per watched kind and namespace
 * (--watch-namespaces), and in a shared pool enough of them left no connection for any request. Returns `kc`
 * for chaining.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as Shared;
  const original: CreateAgent = target.createAgent.bind(kc);
  const pool = (maxSockets: number): CreateAgent => {
    const agents = new Map<string, Agent>();
    return (cluster, options) => {
      if (!cluster?.server.startsWith('https:') || cluster.proxyUrl) return original(cluster, options);
      const key = identity(cluster, options);
      let agent = agents.get(key);
      if (!agent) {
        agent = countingAgent({ ...options, keepAlive: true, keepAliveMsecs: 30_000, maxSockets, maxFreeSockets: 16, scheduling: 'lifo' });
        agents.set(key, agent);
      }
      return agent;
    };
  };
  target.createAgent = pool(64);
  target[WATCH_AGENTS] = pool(Infinity);
  return kc;
}

/** `kc` as a watch should use it: the same settings, connections from the watches' pool (shareConnections). */
export function forWatches(kc: KubeConfig): KubeConfig {
  const watchAgents = (kc as unknown as Shared)[WATCH_AGENTS];
  if (!watchAgents) return kc;
  const derived = Object.create(kc) as Shared; // client-node reads this.createAgent: the rest is kc's own
  derived.createAgent = watchAgents;
  return derived as unknown as KubeConfig;
}
