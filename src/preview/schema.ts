// The kinds preview reads, and a check of the fields the translation reads, since no apiserver validated the
// input: a wrong type is reported with its field path ("spec.rules[0].host: must be a string, got a
// number") instead of failing inside the translation. Only those fields are checked; others are ignored,
// as the translation ignores them. Pure.

/** The kinds preview reads, with the apiVersions the apiserver serves them under. */
export const PREVIEW_KINDS = {
  Ingress: { apiVersions: ['networking.k8s.io/v1'], namespaced: true },
  IngressClass: { apiVersions: ['networking.k8s.io/v1'], namespaced: false },
  Service: { apiVersions: ['v1'], namespaced: true },
  Namespace: { apiVersions: ['v1'], namespaced: false },
  GatewayClass: { apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'], namespaced: false },
  Gateway: { apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'], namespaced: true },
  HTTPRoute: { apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'], namespaced: true },
  ReferenceGrant: { apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'], namespaced: true },
} as const;
export type PreviewKind = keyof typeof PREVIEW_KINDS;

/** The kind preview reads this object as, or undefined (another kind, or an apiVersion it does not read). */
export function previewKindOf(apiVersion: unknown, kind: unknown): PreviewKind | undefined {
  if (typeof kind !== 'string' || !Object.hasOwn(PREVIEW_KINDS, kind)) return undefined;
  const known = PREVIEW_KINDS[kind as PreviewKind];
  return (known.apiVersions as readonly unknown[]).includes(apiVersion) ? (kind as PreviewKind) : undefined;
}

type Shape =
  | 'string'
  | 'integer'
  | 'any'
  | { oneOf: readonly string[] }
  | { list: Shape }
  | { map: Shape }
  | { fields: Record<string, Shape>; required?: readonly string[] };

const str = 'string';
const int = 'integer';
const obj = (fields: Record<string, Shape>, required: readonly string[] = []): Shape => ({ fields, required });
const list = (of: Shape): Shape => ({ list: of });

const metadata = obj({ name: str, namespace: str, uid: str, creationTimestamp: str, labels: { map: str }, annotations: { map: str } }, ['name']);
const withSpec = (spec: Shape, specRequired = true): Shape => obj({ metadata, spec }, specRequired ? ['metadata', 'spec'] : ['metadata']);

const ingressBackend = obj({
  service: obj({ name: str, port: obj({ number: int, name: str }) }, ['name']),
  resource: obj({ apiGroup: str, kind: str, name: str }),
});
const labelSelector = obj({
  matchLabels: { map: str },
  matchExpressions: list(obj({ key: str, operator: { oneOf: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: list(str) }, ['key', 'operator'])),
});
const parentRef = obj({ group: str, kind: str, namespace: str, name: str, sectionName: str, port: int }, ['name']);
const backendRef = obj({ group: str, kind: str, namespace: str, name: str, port: int, weight: int }, ['name']);

const SHAPES: Record<PreviewKind, Shape> = {
  Ingress: withSpec(
    obj({
      ingressClassName: str,
      defaultBackend: ingressBackend,
      tls: list(obj({ hosts: list(str), secretName: str })),
      rules: list(obj({ host: str, http: obj({ paths: list(obj({ path: str, pathType: str, backend: ingressBackend }, ['backend'])) }, ['paths']) })),
    }),
    false,
  ),
  IngressClass: obj({ metadata }, ['metadata']),
  Service: withSpec(obj({ type: str, ports: list(obj({ name: str, port: int }, ['port'])) }), false),
  Namespace: obj({ metadata }, ['metadata']),
  GatewayClass: withSpec(obj({ controllerName: str }, ['controllerName'])),
  Gateway: withSpec(
    obj(
      {
        gatewayClassName: str,
        listeners: list(
          obj(
            {
              name: str,
              hostname: str,
              port: int,
              protocol: str,
              allowedRoutes: obj({
                namespaces: obj({ from: { oneOf: ['All', 'Same', 'Selector', 'None'] }, selector: labelSelector }),
                kinds: list(obj({ group: str, kind: str }, ['kind'])),
              }),
            },
            ['name', 'port', 'protocol'],
          ),
        ),
        addresses: list(obj({ type: str, value: str }, ['value'])),
      },
      ['gatewayClassName', 'listeners'],
    ),
  ),
  HTTPRoute: withSpec(
    obj({
      parentRefs: list(parentRef),
      hostnames: list(str),
      rules: list(
        obj({
          name: str,
          matches: list(obj({ path: obj({ type: str, value: str }), headers: list('any'), queryParams: list('any'), method: str })),
          filters: list(obj({ type: str }, ['type'])),
          backendRefs: list(backendRef),
        }),
      ),
    }),
  ),
  ReferenceGrant: withSpec(
    obj(
      {
        from: list(obj({ group: str, kind: str, namespace: str }, ['group', 'kind', 'namespace'])),
        to: list(obj({ group: str, kind: str, name: str }, ['group', 'kind'])),
      },
      ['from', 'to'],
    ),
  ),
};

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

const MAX_PROBLEMS = 5;

function check(value: unknown, shape: Shape, path: string, problems: string[]): void {
  if (problems.length >= MAX_PROBLEMS || shape === 'any') return;
  const at = path || '(the object)';
  if (shape === 'string' || shape === 'integer') {
    const ok = shape === 'string' ? typeof value === 'string' : Number.isSafeInteger(value);
    if (!ok) problems.push(`${at}: must be ${shape === 'string' ? 'a string' : 'a whole number'}, got ${describe(value)}`);
    return;
  }
  if ('oneOf' in shape) {
    if (typeof value !== 'string' || !shape.oneOf.includes(value)) problems.push(`${at}: must be one of ${shape.oneOf.join(', ')}, got ${JSON.stringify(value)}`);
    return;
  }
  if ('list' in shape) {
    if (!Array.isArray(value)) return void problems.push(`${at}: must be a list, got ${describe(value)}`);
    value.forEach((item, index) => check(item, shape.list, `${path}[${index}]`, problems));
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return void problems.push(`${at}: must be an object, got ${describe(value)}`);
  const record = value as Record<string, unknown>;
  if ('map' in shape) {
    for (const [key, item] of Object.entries(record)) check(item, shape.map, `${path}.${key}`, problems);
    return;
  }
  for (const field of shape.required ?? []) {
    if (record[field] === undefined && problems.length < MAX_PROBLEMS) problems.push(`${path ? `${path}.` : ''}${field}: is required`);
  }
  for (const [field, fieldShape] of Object.entries(shape.fields)) {
    if (record[field] !== undefined) check(record[field], fieldShape, path ? `${path}.${field}` : field, problems);
  }
}

/** What is wrong with the fields of a `kind` object that the translation reads (at most 5), or nothing. */
export function shapeProblems(kind: PreviewKind, object: unknown): string[] {
  const problems: string[] = [];
  check(object, SHAPES[kind], '', problems);
  return problems;
}
