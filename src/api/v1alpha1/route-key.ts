// A route's key (docs/protocol.md), in one place for both ends and for the operator's own lookups. Pure.

/**
 * A route's key, from what identifies it: its GatewayRoute, path type, host and path (the translation keeps
 * these unique within a GatewayRoute). Inserting or reordering paths leaves every other key as it was. `*`
 * stands for the catch-all host. Part of the contract: both ends compute it, so routes are sent without it.
 */
export function wireRouteKey(namespace: string, name: string, route: { host: string; path: string; path_type: string }): string {
  return `${namespace}/${name}/${route.path_type}:${route.host || '*'}${route.path}`;
}

/** The GatewayRoute a route key names: its first two parts (a namespace and a name hold no "/"). */
export function gatewayRouteOfKey(key: string): { namespace: string; name: string } {
  const [namespace = '', name = ''] = key.split('/', 2);
  return { namespace, name };
}
