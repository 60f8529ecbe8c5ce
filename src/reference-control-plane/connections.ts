// A cluster's many connections (protocol version 3, docs/protocol.md "Connections and roles"): which version
// a register gets, which connection a new request or stream goes to, and whether an exchange whose connection
// failed may be sent again on another. Pure: the server and the gateway keep the state and ask these.

/** The most connections one cluster may hold (every replica of its operator has one). */
export const DEFAULT_MAX_CLUSTER_CONNECTIONS = 64;
/** How often each agent socket is pinged. */
export const DEFAULT_AGENT_PING_INTERVAL_MS = 2_000;
/** An agent socket with no frame and no pong for this long is terminated: a node lost without a TCP close. */
export const DEFAULT_AGENT_DEAD_AFTER_MS = 6_000;

/** The version this control plane speaks with an agent: the highest both offer, or undefined when none. */
export function negotiateVersion(offered: readonly number[], served: readonly number[]): number | undefined {
  const common = offered.filter((v) => served.includes(v));
  return common.length === 0 ? undefined : Math.max(...common);
}

/** What balancing needs to know of a connection. */
export interface Candidate {
  /** When it registered, as a sequence number: the earliest wins a tie. */
  order: number;
  /** HTTP requests and WebSocket streams it carries now. */
  inFlight: number;
  draining: boolean;
}

/**
 * The connection a new request or stream goes to: the non-draining one with the fewest exchanges in flight
 * (a tie goes to the one registered earliest, so the choice is deterministic). When every connection drains,
 * a draining one still answers better than a 503; undefined only when there is none.
 */
export function pickConnection<T extends Candidate>(connections: readonly T[]): T | undefined {
  const better = (a: T, b: T): boolean => (a.draining !== b.draining ? !a.draining : a.inFlight !== b.inFlight ? a.inFlight < b.inFlight : a.order < b.order);
  let best: T | undefined;
  for (const c of connections) if (!best || better(c, best)) best = c;
  return best;
}

/** Methods that a server may receive twice with the effect of once (RFC 9110, 9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** What the retry rule looks at, for an HTTP exchange whose connection failed. */
export interface FailedExchange {
  method: string;
  /** Some of its answer (proxy_response or proxy_response_header) already went to the client. */
  answerBegun: boolean;
  /** Its request body went out in chunks: those bytes are gone, it cannot be sent again. */
  bodyStreamed: boolean;
  /** It was already sent again once. */
  retried: boolean;
  /** Another open, non-draining connection of the cluster is there to take it. */
  otherConnection: boolean;
}

export type RetryDecision = { retry: true } | { retry: false; reason: string };

/**
 * Whether an exchange whose connection failed is sent once more on another connection: only when the
 * backend may have seen it without harm (an idempotent method, a body that can be sent again) and the client
 * saw nothing of an answer yet. Otherwise the reason goes into the 502 the client gets.
 */
export function retryDecision(exchange: FailedExchange): RetryDecision {
  const method = exchange.method.toUpperCase();
  if (exchange.answerBegun) return { retry: false, reason: 'its answer had begun' };
  if (!IDEMPOTENT_METHODS.has(method)) return { retry: false, reason: `${method} is not idempotent` };
  if (exchange.bodyStreamed) return { retry: false, reason: 'its request body was streamed' };
  if (exchange.retried) return { retry: false, reason: 'it was already retried once' };
  if (!exchange.otherConnection) return { retry: false, reason: 'no other connection of the cluster can take it' };
  return { retry: true };
}
