// BackendTLSPolicy (gateway.networking.k8s.io/v1), pure: what one policy says for the Services it targets
// (its CA bundle, hostname, and why it cannot be used), which policy applies to a Service port when several
// target it (the Gateway API's rule: the oldest, then namespace/name alphabetically; a policy for the port's
// name beats one for the whole Service), and the policy's own Accepted / ResolvedRefs conditions.
import type { ConditionInput } from '../../api/v1alpha1/conditions.js';
import type { Condition, ObjectMeta } from '../../api/v1alpha1/types.js';
import type { ResourceKind } from '../../operator/kinds.js';
import type { AppliedTlsPolicy } from '../../routing/backend-transport.js';
import { GATEWAY_API_GROUP, type ParentReference } from '../types.js';
import { CA_KEY, type CaConfigMap } from './ca.js';

export const BACKEND_TLS_POLICY: ResourceKind = { apiVersion: `${GATEWAY_API_GROUP}/v1`, kind: 'BackendTLSPolicy', plural: 'backendtlspolicies', namespaced: true };

export interface PolicyAncestorStatus {
  ancestorRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

export interface BackendTLSPolicy {
  metadata: ObjectMeta;
  spec: {
    targetRefs?: Array<{ group: string; kind: string; name: string; sectionName?: string }>;
    validation?: {
      caCertificateRefs?: Array<{ group: string; kind: string; name: string }>;
      wellKnownCACertificates?: string;
      hostname?: string;
      subjectAltNames?: Array<{ type: string; hostname?: string; uri?: string }>;
    };
    options?: Record<string, string>;
  };
  status?: { ancestors?: PolicyAncestorStatus[] };
}

/** A Service (in the policy's namespace) a policy targets, whole or one port by name. */
export interface ServiceTarget {
  service: string;
  sectionName?: string;
}

export const policyName = (policy: BackendTLSPolicy): string => `${policy.metadata.namespace ?? ''}/${policy.metadata.name ?? ''}`;

/** The Service targets of a policy (targetRefs of another kind are not ours to read). */
export function serviceTargets(policy: BackendTLSPolicy): ServiceTarget[] {
  return (policy.spec.targetRefs ?? [])
    .filter((ref) => ref.group === '' && ref.kind === 'Service')
    .map((ref) => (ref.sectionName ? { service: ref.name, sectionName: ref.sectionName } : { service: ref.name }));
}

/** "namespace/service" of every Service a policy targets. */
export function targetedServices(policy: BackendTLSPolicy | undefined): string[] {
  if (!policy) return [];
  return [...new Set(serviceTargets(policy).map((t) => `${policy.metadata.namespace ?? ''}/${t.service}`))];
}

/** "namespace/name" of every ConfigMap a policy's caCertificateRefs name. */
export function referencedConfigMaps(policy: BackendTLSPolicy | undefined): string[] {
  if (!policy) return [];
  const refs = policy.spec.validation?.caCertificateRefs ?? [];
  return [...new Set(refs.filter((r) => r.group === '' && r.kind === 'ConfigMap').map((r) => `${policy.metadata.namespace ?? ''}/${r.name}`))];
}

/** What one policy says, whichever targets it wins: its own conditions and what the tunnel is handed. */
export interface PolicyEvaluation {
  /** Accepted for the policy's own reasons (Conflicted is decided among policies: see conflictOf). */
  accepted: ConditionInput;
  resolvedRefs: ConditionInput;
  applied: AppliedTlsPolicy;
}

const condition = (type: string, ok: boolean, reason: string, message: string): ConditionInput => ({ type, status: ok ? 'True' : 'False', reason, message });

/** All CA ConfigMaps of one policy together may hold at most this much PEM: what one policy can pin in memory. */
export const MAX_POLICY_CA_BYTES = 512 * 1024;

/** One CA ConfigMap's certificates as a policy uses them: its key and resourceVersion name the content. */
export interface BundlePart {
  /** "namespace/name" of the ConfigMap. */
  key: string;
  resourceVersion: string;
  pem: string;
}

/** The one bundle of these parts, in the order of their keys (so the same ConfigMaps give the same text). */
export function joinBundleParts(parts: readonly BundlePart[]): string {
  if (parts.length === 1) return parts[0]!.pem; // the cached string itself, no copy
  return [...parts]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((p) => p.pem)
    .join('');
}

export interface EvaluateOptions {
  /** Makes the bundle of a policy's parts; default joinBundleParts (see SharedCaBundles for one string per CA set). */
  bundle?: (parts: readonly BundlePart[]) => string;
}

/** The policy's validation read against the CA ConfigMaps of its namespace (`configMap(namespace, name)`). */
export function evaluatePolicy(policy: BackendTLSPolicy, configMap: (namespace: string, name: string) => CaConfigMap | undefined, { bundle = joinBundleParts }: EvaluateOptions = {}): PolicyEvaluation {
  const namespace = policy.metadata.namespace ?? '';
  const validation = policy.spec.validation ?? {};
  const hostname = validation.hostname ?? '';
  const invalid: string[] = [];
  if (!hostname) invalid.push('validation.hostname is empty');
  if (validation.subjectAltNames?.length) invalid.push('validation.subjectAltNames is not supported: remove it to verify validation.hostname');
  const wellKnown = validation.wellKnownCACertificates;
  const refs = validation.caCertificateRefs ?? [];
  if (wellKnown && wellKnown !== 'System') invalid.push(`validation.wellKnownCACertificates ${JSON.stringify(wellKnown.slice(0, 253))} is not supported (System is)`);
  if (wellKnown && refs.length) invalid.push('validation sets both caCertificateRefs and wellKnownCACertificates');
  if (!wellKnown && !refs.length) invalid.push('validation sets neither caCertificateRefs nor wellKnownCACertificates');

  const refProblems: Array<{ reason: 'InvalidKind' | 'InvalidCACertificateRef'; message: string }> = [];
  const bundles: BundlePart[] = [];
  const seen = new Set<string>();
  refs.forEach((ref, index) => {
    const where = `validation.caCertificateRefs[${index}]`;
    // A reference repeated is read once: eight copies of one large ConfigMap are one bundle, not eight.
    const refKey = `${ref.group}/${ref.kind}/${ref.name}`;
    if (seen.has(refKey)) return;
    seen.add(refKey);
    if (ref.group !== '' || ref.kind !== 'ConfigMap') {
      refProblems.push({ reason: 'InvalidKind', message: `${where}: kind ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported (ConfigMap is)` });
      return;
    }
    const found = configMap(namespace, ref.name);
    const problem = !found ? `ConfigMap ${namespace}/${ref.name} not found` : !found.ca ? `ConfigMap ${namespace}/${ref.name} has no key ${CA_KEY}` : !found.ca.ok ? `ConfigMap ${namespace}/${ref.name}: ${found.ca.error}` : undefined;
    if (problem) refProblems.push({ reason: 'InvalidCACertificateRef', message: `${where}: ${problem}` });
    else if (found?.ca?.ok) bundles.push({ key: `${namespace}/${ref.name}`, resourceVersion: found.metadata.resourceVersion ?? '', pem: found.ca.pem });
  });
  const bundleBytes = bundles.reduce((sum, part) => sum + part.pem.length, 0); // PEM is ASCII: characters are bytes
  if (bundleBytes > MAX_POLICY_CA_BYTES) {
    invalid.push(`validation.caCertificateRefs: the referenced CA certificates are ${bundleBytes} bytes together, more than the ${MAX_POLICY_CA_BYTES} one BackendTLSPolicy may use`);
  }

  const firstRefProblem = refProblems[0];
  const resolvedRefs = firstRefProblem
    ? condition('ResolvedRefs', false, firstRefProblem.reason, refProblems.map((p) => p.message).join('; '))
    : condition('ResolvedRefs', true, 'ResolvedRefs', refs.length ? `${seen.size} CA certificate reference(s) resolved` : 'no references to resolve');
  const noValidCa = refs.length > 0 && bundles.length === 0;
  const options = Object.keys(policy.spec.options ?? {}).length ? '; options are ignored' : '';
  const accepted = invalid.length
    ? condition('Accepted', false, 'Invalid', invalid.join('; '))
    : noValidCa
      ? condition('Accepted', false, 'NoValidCACertificate', `no valid CA certificate: ${resolvedRefs.message}`)
      : condition('Accepted', true, 'Accepted', `backends are dialled with TLS, verifying ${hostname} against ${wellKnown ? 'the system roots' : 'the referenced CA certificates'}${options}`);

  // Any problem refuses the backend: a policy says the Service serves TLS, and half of one is not a weaker TLS.
  const error = [...invalid, ...refProblems.map((p) => p.message)].join('; ') || undefined;
  const applied: AppliedTlsPolicy = { name: policyName(policy), hostname };
  if (error) applied.error = error;
  else if (bundles.length) applied.ca = bundle(bundles);
  return { accepted, resolvedRefs, applied };
}

/**
 * One bundle string per set of CA ConfigMaps (at their resourceVersions), shared by every policy naming that
 * set: memory grows with the distinct CA sets, not with the policies. An entry is dropped when no policy
 * uses it any more (a policy moved to another set, or was released: deleted, or has no bundle now).
 */
export class SharedCaBundles {
  private readonly bundles = new Map<string, { pem: string; users: Set<string> }>();
  /** Policy "namespace/name" → the key of the bundle it uses. */
  private readonly usedBy = new Map<string, string>();

  /** The bundle of `parts` for policy `user`, shared with the other users of the same ConfigMaps and versions. */
  bundleFor(user: string, parts: readonly BundlePart[]): string {
    const key = parts
      .map((p) => `${p.key}@${p.resourceVersion}`)
      .sort()
      .join(',');
    if (this.usedBy.get(user) !== key) this.release(user);
    let entry = this.bundles.get(key);
    if (!entry) {
      entry = { pem: joinBundleParts(parts), users: new Set() };
      this.bundles.set(key, entry);
    }
    entry.users.add(user);
    this.usedBy.set(user, key);
    return entry.pem;
  }

  /** Policy `user` no longer uses a bundle. */
  release(user: string): void {
    const key = this.usedBy.get(user);
    if (key === undefined) return;
    this.usedBy.delete(user);
    const entry = this.bundles.get(key);
    entry?.users.delete(user);
    if (entry && entry.users.size === 0) this.bundles.delete(key);
  }

  /** How many distinct bundles are kept. */
  get size(): number {
    return this.bundles.size;
  }
}

/** The Gateway API's precedence: the older creationTimestamp, then namespace/name alphabetically. */
export function precedes(a: BackendTLSPolicy, b: BackendTLSPolicy): boolean {
  const time = (p: BackendTLSPolicy): number => new Date(p.metadata.creationTimestamp ?? 0).getTime() || 0;
  const [ta, tb] = [time(a), time(b)];
  if (ta !== tb) return ta < tb;
  return policyName(a) < policyName(b);
}

/** The first of these policies by precedence. */
export function winnerOf(policies: readonly BackendTLSPolicy[]): BackendTLSPolicy | undefined {
  return policies.reduce<BackendTLSPolicy | undefined>((best, p) => (!best || precedes(p, best) ? p : best), undefined);
}

const targets = (policy: BackendTLSPolicy, target: ServiceTarget): boolean =>
  serviceTargets(policy).some((t) => t.service === target.service && (t.sectionName ?? '') === (target.sectionName ?? ''));

/** Of `candidates` (the policies targeting a Service), the one that applies to its port (by name, if it has one). */
export function policyForPort(candidates: readonly BackendTLSPolicy[], service: string, port: { name?: string }): BackendTLSPolicy | undefined {
  const forPort = port.name ? winnerOf(candidates.filter((p) => targets(p, { service, sectionName: port.name }))) : undefined;
  return forPort ?? winnerOf(candidates.filter((p) => targets(p, { service })));
}

/** Accepted False Conflicted when another of `candidates` takes precedence for one of the policy's targets. */
export function conflictOf(policy: BackendTLSPolicy, candidates: readonly BackendTLSPolicy[]): ConditionInput | undefined {
  for (const target of serviceTargets(policy)) {
    const winner = winnerOf(candidates.filter((p) => targets(p, target)));
    if (winner && winner !== policy && policyName(winner) !== policyName(policy)) {
      const what = `Service ${policy.metadata.namespace ?? ''}/${target.service}${target.sectionName ? ` port ${target.sectionName}` : ''}`;
      return condition('Accepted', false, 'Conflicted', `BackendTLSPolicy ${policyName(winner)} applies to ${what}: it is older (or, as old, first by namespace/name)`);
    }
  }
  return undefined;
}
