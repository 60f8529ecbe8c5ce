// BackendTLSPolicies, where the apiserver serves them: the tunnel's TlsPolicyLookup (every replica: the caches
// of policies and CA ConfigMaps run on standbys too), the re-check of every status that shows how a backend is
// dialled when a policy or CA ConfigMap changes, and the policies' own status.ancestors (the leader).
import { GATEWAY_ROUTE_BACKEND_INDEX, backendServicesOf, type GatewayRoutes } from '../../gatewayroute/setup.js';
import { applyStatus } from '../../operator/apply.js';
import type { Informer } from '../../operator/informer.js';
import { CONFIG_MAP, keysOf, objectKey, splitKey } from '../../operator/kinds.js';
import { watch, type Manager } from '../../operator/manager.js';
import { specOrMetadataChanged } from '../../operator/predicates.js';
import type { AppliedTlsPolicy } from '../../routing/backend-transport.js';
import { GATEWAY_API_GROUP, type GatewayApiRoute, type ReferenceGrant, type RouteKindName } from '../types.js';
import { keepCaOnly, type CaConfigMap } from './ca.js';
import {
  BACKEND_TLS_POLICY,
  conflictOf,
  evaluatePolicy,
  SharedCaBundles,
  policyForPort,
  policyName,
  referencedConfigMaps,
  targetedServices,
  type BackendTLSPolicy,
  type PolicyEvaluation,
} from './policy.js';
import { ancestorsOf, updateAncestors, type AncestorLookups } from './status.js';

export const BACKEND_TLS_STATUS_FIELD_MANAGER = 'gateway-operator-backendtlspolicy';
const TARGET_SERVICE_INDEX = 'target-service';
const CA_CONFIGMAP_INDEX = 'ca-configmap';

export interface BackendTlsOptions {
  routes: GatewayRoutes;
  /** The translated route kinds served (HTTPRoute, GRPCRoute): their parents are the policies' ancestors. */
  routeInformers: ReadonlyMap<RouteKindName, Informer<GatewayApiRoute>>;
  /** ReferenceGrants, when served: they decide which GatewayRoutes of other namespaces are a policy's ancestors. */
  referenceGrants?: Informer<ReferenceGrant>;
  /** Ours: the controllerName of our entries in status.ancestors (and of the HTTPRoute parents we read). */
  controllerName: string;
  concurrency: number;
}

/** Registers what BackendTLSPolicies need, when served; false (logged once) when they are not. */
export async function setup(manager: Manager, options: BackendTlsOptions): Promise<boolean> {
  const logger = manager.logger.child({ controller: 'backendtlspolicy' });
  const served = await manager.serves([BACKEND_TLS_POLICY]).catch((err: unknown) => {
    logger.warn('could not ask the apiserver whether it serves BackendTLSPolicy; policies are not read', { err });
    return false;
  });
  if (!served) {
    logger.info('BackendTLSPolicy (gateway.networking.k8s.io/v1) is not served: backends are dialled as routes and Service appProtocols say (install the CRD and restart to use policies)');
    return false;
  }
  const { routes, routeInformers, controllerName } = options;
  const policies = manager.runOnEveryReplica(manager.informer<BackendTLSPolicy>(BACKEND_TLS_POLICY, { watched: true }));
  const configMaps = manager.runOnEveryReplica(manager.informer<CaConfigMap>(CONFIG_MAP, { watched: true, transform: { name: 'ca-only', keep: keepCaOnly } }));
  policies.addIndex(TARGET_SERVICE_INDEX, (policy) => targetedServices(policy));
  policies.addIndex(CA_CONFIGMAP_INDEX, (policy) => referencedConfigMaps(policy));
  const evaluations = new Evaluations(configMaps);

  routes.transports.useTlsPolicies((namespace, service, port): AppliedTlsPolicy | undefined => {
    const policy = policyForPort(policies.byIndex(TARGET_SERVICE_INDEX, `${namespace}/${service}`), service, port);
    return policy && evaluations.of(policy).applied;
  });
  const policiesUsing = (configMapKey: string): BackendTLSPolicy[] => policies.byIndex(CA_CONFIGMAP_INDEX, configMapKey);
  // Whatever shows how a backend is dialled (the GatewayRoutes' ResolvedRefs) reads it again.
  policies.onChange((policy, previous, deleted) => {
    if (deleted) evaluations.forget(policy);
    routes.transports.changed(new Set([...targetedServices(policy), ...targetedServices(previous)]));
  });
  configMaps.onChange((configMap) => routes.transports.changed(new Set(policiesUsing(objectKey(configMap.metadata)).flatMap((p) => targetedServices(p)))));

  const policiesTargeting = (serviceKeys: Iterable<string>): string[] => [...new Set([...serviceKeys].flatMap((key) => keysOf(policies.byIndex(TARGET_SERVICE_INDEX, key))))];
  const status = new PolicyStatusController({ manager, policies, evaluations, routes, routeInformers, controllerName, logger });
  manager.controller({
    name: 'backendtlspolicy',
    for: { informer: policies },
    watches: [
      // A policy changing decides conflicts with the others on its Services.
      watch({ informer: policies, map: (policy, previous) => policiesTargeting([...targetedServices(policy), ...targetedServices(previous)]) }),
      watch({ informer: configMaps, map: (configMap) => keysOf(policiesUsing(objectKey(configMap.metadata))) }),
      // A grant changes which GatewayRoutes of other namespaces may use the Services (and so the ancestors) of its namespace.
      ...(options.referenceGrants ? [watch({ informer: options.referenceGrants, map: (grant) => keysOf(policies.list(grant.metadata.namespace ?? '')) })] : []),
      // A Service's ports (sectionName), the GatewayRoutes using it and the HTTPRoutes behind them: the ancestors.
      watch({ informer: routes.services, map: (service) => policiesTargeting([objectKey(service.metadata ?? {})]) }),
      watch({
        informer: routes.gatewayRoutes,
        predicate: specOrMetadataChanged,
        map: (gatewayRoute, previous) => policiesTargeting([...backendServicesOf(gatewayRoute), ...backendServicesOf(previous)]),
      }),
      ...[...routeInformers.values()].map((informer) =>
        watch({ informer, map: (route) => policiesTargeting(backendServicesOf(routes.gatewayRoutes.get(objectKey(route.metadata)))) }),
      ),
    ],
    reconcile: (key) => status.reconcile(key),
    concurrency: options.concurrency,
  });
  return true;
}

/**
 * Evaluations of policies, kept per policy object (the cache replaces objects, never mutates them) and
 * redone when a CA ConfigMap it names changes: the tunnel asks at every request. Policies naming the same
 * CA ConfigMaps share one bundle string.
 */
class Evaluations {
  private readonly cache = new WeakMap<BackendTLSPolicy, { versions: string; evaluation: PolicyEvaluation }>();
  private readonly bundles = new SharedCaBundles();

  constructor(private readonly configMaps: Informer<CaConfigMap>) {}

  of(policy: BackendTLSPolicy): PolicyEvaluation {
    const versions = referencedConfigMaps(policy)
      .map((key) => this.configMaps.get(key)?.metadata.resourceVersion ?? '-')
      .join(',');
    const cached = this.cache.get(policy);
    if (cached?.versions === versions) return cached.evaluation;
    const user = policyName(policy);
    const evaluation = evaluatePolicy(policy, (namespace, name) => this.configMaps.get(`${namespace}/${name}`), { bundle: (parts) => this.bundles.bundleFor(user, parts) });
    if (evaluation.applied.ca === undefined) this.bundles.release(user);
    this.cache.set(policy, { versions, evaluation });
    return evaluation;
  }

  /** A deleted policy's bundle is no longer kept for it. */
  forget(policy: BackendTLSPolicy): void {
    this.bundles.release(policyName(policy));
  }
}

interface PolicyStatusParts {
  manager: Manager;
  policies: Informer<BackendTLSPolicy>;
  evaluations: Evaluations;
  routes: GatewayRoutes;
  routeInformers: ReadonlyMap<RouteKindName, Informer<GatewayApiRoute>>;
  controllerName: string;
  logger: Manager['logger'];
}

/** Writes this operator's entries of a policy's status.ancestors: Accepted and ResolvedRefs per ancestor. */
class PolicyStatusController {
  private readonly lookups: AncestorLookups;
  /** Policies whose ancestors did not all fit, already logged. */
  private readonly full = new Set<string>();

  constructor(private readonly parts: PolicyStatusParts) {
    const { routes, routeInformers, controllerName } = parts;
    this.lookups = {
      controllerName,
      gatewayRoutesUsing: (serviceKey) => routes.gatewayRoutes.byIndex(GATEWAY_ROUTE_BACKEND_INDEX, serviceKey),
      usesPort: (route, namespace, sectionName) => {
        const ports = routes.services.get(`${route.backend.namespace ?? namespace}/${route.backend.service}`)?.spec?.ports ?? [];
        const { name, number } = route.backend.port;
        return ports.some((p) => p.name === sectionName && (name !== undefined ? p.name === name : p.port === number));
      },
      backends: routes.backends,
      route: (kind, key) => routeInformers.get(kind as RouteKindName)?.get(key),
    };
  }

  async reconcile(key: string): Promise<void> {
    const { policies, evaluations, controllerName, manager, logger } = this.parts;
    const policy = policies.get(key);
    if (!policy) {
      this.full.delete(key);
      return;
    }
    const { namespace, name } = splitKey(key);
    const evaluation = evaluations.of(policy);
    const peers = [...new Set(targetedServices(policy).flatMap((service) => policies.byIndex(TARGET_SERVICE_INDEX, service)))];
    const accepted = conflictOf(policy, peers) ?? evaluation.accepted;
    const refs = ancestorsOf(policy, this.lookups);
    const update = updateAncestors({ previous: policy.status?.ancestors, refs, conditions: [accepted, evaluation.resolvedRefs], controllerName, generation: policy.metadata.generation, now: new Date() });
    if (update.left && !this.full.has(key)) {
      this.full.add(key);
      logger.warn('status.ancestors is full (16 entries): some ancestors of this BackendTLSPolicy are not shown', { namespace, name, notShown: update.left });
    }
    if (!update.changed) return;
    await applyStatus(
      manager.custom,
      { group: GATEWAY_API_GROUP, version: 'v1', plural: BACKEND_TLS_POLICY.plural, kind: BACKEND_TLS_POLICY.kind, namespace, name },
      // status.ancestors is an atomic list: the other controllers' entries are written back unchanged.
      { apiVersion: BACKEND_TLS_POLICY.apiVersion, kind: BACKEND_TLS_POLICY.kind, metadata: { name, namespace }, status: { ancestors: update.ancestors } },
      BACKEND_TLS_STATUS_FIELD_MANAGER,
    );
    logger.info('BackendTLSPolicy status written', { policy: policyName(policy), ancestors: refs.length, accepted: accepted.reason, resolvedRefs: evaluation.resolvedRefs.reason });
  }
}
