// Credentials of the reference control plane. One admin secret (`--token`) guards the admin API; agents
// never get it. Each agent gets a token bound to its cluster name, derived from the secret, so an agent
// that learns another cluster's id cannot register as that cluster. Pure.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type AgentTokenCheck = { ok: true; clusterName: string } | { ok: false };

/** The hex HMAC that binds a cluster name to the secret. */
function agentMac(secret: string, clusterName: string): string {
  return createHmac('sha256', secret).update(`agent:${clusterName}`).digest('hex');
}

/** The token the agent of `clusterName` dials with: `<cluster name>.<hex HMAC-SHA256(secret, "agent:" + name)>`. */
export function agentToken(secret: string, clusterName: string): string {
  return `${clusterName}.${agentMac(secret, clusterName)}`;
}

/**
 * The cluster name an agent token is bound to, when the token was made from `secret`. The name may itself
 * contain dots, so the token is split at its last one; the MAC is compared in constant time.
 */
export function verifyAgentToken(secret: string, token: string): AgentTokenCheck {
  const dot = token.lastIndexOf('.');
  if (!secret || dot <= 0) return { ok: false };
  const clusterName = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(agentMac(secret, clusterName), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false };
  return { ok: true, clusterName };
}

/** Whether `given` is `secret`, in time that does not depend on where they differ (both are hashed first). */
export function secretMatches(secret: string, given: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(secret), digest(given));
}

/** The bearer token of an Authorization header, or undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  return match?.[1];
}
