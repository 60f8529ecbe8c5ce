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

/**
 * Makes every agent `kc` creates a shared keep-alive one. Proxies and plain http keep client-node's own
 * agents. Returns `kc` for chaining.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createAgent: CreateAgent };
  const original: CreateAgent = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, options) => {
    if (!cluster?.server.startsWith('https:') || cluster.proxyUrl) return original(cluster, options);
    const key = identity(cluster, options);
    let agent = agents.get(key);
    if (!agent) {
      agent = countingAgent({ ...options, keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' });
      agents.set(key, agent);
    }
    return agent;
  };
  return kc;
}
