// Request → route matching by the Kubernetes Ingress rules, shared by the operator's tunnel and the
// reference control plane's gateway. Pure.
//   host: case-insensitive, :port dropped; an exact host beats a wildcard; *.example.com matches exactly
//         one extra label. A route without host matches every host, after exact and wildcard ones.
//   Exact: equal, case-sensitive. Prefix (and ImplementationSpecific, treated as Prefix): element-wise
//         on "/"-split paths, trailing slashes ignored. Exact beats Prefix for the same path, else the
//         longest path wins, ties go to the earlier (older) route.
import type { PathType } from '../api/v1alpha1/types.js';

export interface MatchableRoute {
  host: string;
  path: string;
  path_type: PathType;
}

export function normalizeHost(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1); // [::1]:8080
  const colon = lower.lastIndexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

/** 2: exact host, 1: wildcard, 0: catch-all, -1: no match. */
export function hostRank(routeHost: string, requestHost: string): number {
  const pattern = routeHost.toLowerCase();
  if (pattern === '') return 0;
  if (pattern === requestHost) return 2;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    const label = requestHost.slice(0, -suffix.length);
    if (requestHost.endsWith(suffix) && label.length > 0 && !label.includes('.')) return 1;
  }
  return -1;
}

function elements(path: string): string[] {
  return path.split('/').filter((e) => e !== '');
}

export function pathMatches(route: MatchableRoute, requestPath: string): boolean {
  if (route.path_type === 'Exact') return route.path === requestPath;
  const prefix = elements(route.path);
  const request = elements(requestPath);
  return prefix.length <= request.length && prefix.every((e, i) => e === request[i]);
}

/** The winning route for host + path, or undefined (404). Routes are given oldest first. */
export function matchRoute<T extends MatchableRoute>(routes: readonly T[], host: string, path: string): T | undefined {
  const requestHost = normalizeHost(host);
  const requestPath = path.split('?')[0] || '/';
  let best: { route: T; score: number[] } | undefined;
  for (const route of routes) {
    const rank = hostRank(route.host, requestHost);
    if (rank < 0 || !pathMatches(route, requestPath)) continue;
    const exact = route.path_type === 'Exact';
    // Host rank, then the longer path, then Exact over Prefix; strictly greater keeps the older on ties.
    const score = [rank, exact ? route.path.length : `/${elements(route.path).join('/')}`.length, exact ? 1 : 0];
    if (!best || greater(score, best.score)) best = { route, score };
  }
  return best?.route;
}

function greater(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
}
