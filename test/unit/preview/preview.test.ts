// gateway-operator preview, pure: a table of input files (test/fixtures/preview/) and the GatewayRoutes,
// condition reasons and verdict they give; then the options, the order manifests are taken in, and inputs
// a cluster would have refused.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RouteSpec } from '../../../src/api/v1alpha1/types.js';
import { parseManifests } from '../../../src/preview/inputs.js';
import { InputError, preview, previewFails, type PreviewOptions, type PreviewResult } from '../../../src/preview/preview.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/preview');
const NOW = new Date('2026-01-02T03:04:05Z');
const DEFAULTS: PreviewOptions = { ingressClasses: [], allowCatchAll: false, gatewayControllerName: 'gateway.pipeops.io/tunnel', now: NOW };

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

function run(texts: string | string[], options: Partial<PreviewOptions> = {}): PreviewResult {
  const manifests = [texts].flat().flatMap((text, index) => parseManifests(text, `input-${index}.yaml`));
  return preview(manifests, { ...DEFAULTS, ...options });
}

/** What a row of the table below says about one GatewayRoute. */
interface Expected {
  key: string;
  source: string;
  routes: RouteSpec[];
  tlsSecrets?: string[];
  accepted: string;
  resolvedRefs: string;
  stalled?: string;
}

function summary(result: PreviewResult) {
  return {
    gatewayRoutes: result.gatewayRoutes.map(({ gatewayRoute: route, stalled }) => {
      const reason = (type: string) => route.status?.conditions?.find((c) => c.type === type)?.reason;
      const row: Expected = {
        key: `${route.metadata.namespace}/${route.metadata.name}`,
        source: `${route.spec.source?.kind}/${route.spec.source?.name}`,
        routes: route.spec.routes ?? [],
        accepted: reason('Accepted') ?? '',
        resolvedRefs: reason('ResolvedRefs') ?? '',
      };
      if (route.spec.tlsSecrets) row.tlsSecrets = route.spec.tlsSecrets;
      if (stalled) row.stalled = stalled.reason;
      return row;
    }),
    sources: result.sources.map((s) => `${s.kind} ${s.namespace}/${s.name}${s.fails ? ' (fails)' : ''}`),
    exitCode: previewFails(result) ? 1 : 0,
  };
}

const route = (host: string, path: string, service: string, port: RouteSpec['backend']['port'], extra: Partial<RouteSpec> = {}): RouteSpec => ({
  path,
  pathType: 'Prefix',
  backend: { service, port },
  tls: false,
  host,
  ...extra,
});

describe('preview: the fixtures and what they give', () => {
  const table: Array<{ file: string; gatewayRoutes: Expected[]; sources: string[]; exitCode: number }> = [
    {
      file: 'ingress-tls.yaml',
      gatewayRoutes: [
        {
          key: 'preview-shop/shop',
          source: 'Ingress/shop',
          routes: [route('shop.example.com', '/', 'web', { name: 'http' }, { tls: true }), route('shop.example.com', '/healthz', 'web', { number: 8080 }, { pathType: 'Exact', tls: true })],
          tlsSecrets: ['shop-tls'],
          accepted: 'Accepted',
          resolvedRefs: 'ResolvedRefs',
        },
      ],
      sources: [],
      exitCode: 0,
    },
    {
      file: 'ingress-drops.yaml',
      gatewayRoutes: [{ key: 'preview-shop/legacy', source: 'Ingress/legacy', routes: [route('legacy.example.com', '/', 'web', { name: 'http' })], accepted: 'PartiallyAccepted', resolvedRefs: 'ResolvedRefs' }],
      sources: [],
      exitCode: 1,
    },
    {
      file: 'ingress-missing-service.yaml',
      gatewayRoutes: [{ key: 'preview-shop/api', source: 'Ingress/api', routes: [route('api.example.com', '/', 'api', { number: 80 })], accepted: 'Accepted', resolvedRefs: 'ServiceNotFound', stalled: 'ServiceNotFound' }],
      sources: [],
      exitCode: 1,
    },
    {
      file: 'httproute.yaml',
      gatewayRoutes: [
        {
          key: 'preview-shop/store',
          source: 'HTTPRoute/store',
          // Served through the HTTP listener and the HTTPS one (*.example.com): TLS, as HTTPS on any parent says.
          routes: [
            { path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 8080 } }, tls: true, host: 'store.example.com' },
            { path: '/catalog', pathType: 'Exact', backend: { service: 'catalog', port: { number: 9000 }, namespace: 'preview-backends' }, tls: true, host: 'store.example.com' },
          ],
          accepted: 'Accepted',
          resolvedRefs: 'ResolvedRefs',
        },
      ],
      sources: [],
      exitCode: 0,
    },
    {
      file: 'httproute-drops.yaml',
      gatewayRoutes: [
        {
          key: 'preview-shop/api',
          source: 'HTTPRoute/api',
          routes: [{ path: '/v1', pathType: 'Prefix', backend: { service: 'web', port: { number: 8080 } }, tls: false, host: 'api.example.com' }],
          accepted: 'PartiallyAccepted',
          resolvedRefs: 'ResolvedRefs',
        },
      ],
      sources: ['HTTPRoute preview-backends/admin (fails)', 'HTTPRoute preview-shop/elsewhere'],
      exitCode: 1,
    },
    {
      file: 'conflicts.yaml',
      gatewayRoutes: [
        { key: 'preview-shop/first', source: 'Ingress/first', routes: [route('shop.example.com', '/', 'web', { name: 'http' })], accepted: 'Accepted', resolvedRefs: 'ResolvedRefs' },
        { key: 'preview-shop/second', source: 'Ingress/second', routes: [route('shop.example.com', '/blog', 'web', { name: 'http' })], accepted: 'PartiallyAccepted', resolvedRefs: 'ResolvedRefs' },
      ],
      sources: ['HTTPRoute preview-shop/first (fails)'],
      exitCode: 1,
    },
    {
      file: 'list.yaml',
      gatewayRoutes: [{ key: 'preview-shop/docs', source: 'Ingress/docs', routes: [route('docs.example.com', '/', 'docs', { number: 80 })], accepted: 'Accepted', resolvedRefs: 'ResolvedRefs' }],
      sources: [],
      exitCode: 0,
    },
  ];

  it.each(table)('$file', ({ file, ...expected }) => {
    expect(summary(run(fixture(file)))).toEqual(expected);
  });
});

const service = (namespace: string, name: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec: {ports: [{name: http, port: 8080}]}
`;
const ingress = (name: string, extra: { namespace?: string; className?: string; annotations?: string; host?: string; created?: string } = {}) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
${extra.namespace ? `  namespace: ${extra.namespace}\n` : ''}${extra.created ? `  creationTimestamp: "${extra.created}"\n` : ''}${extra.annotations ? `  annotations: ${extra.annotations}\n` : ''}spec:
${extra.className ? `  ingressClassName: ${extra.className}\n` : ''}  rules:
  - ${extra.host === '' ? '' : `host: ${extra.host ?? `${name}.example.com`}\n    `}http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {name: http}}}
`;
const keys = (result: PreviewResult) => result.gatewayRoutes.map((r) => `${r.gatewayRoute.metadata.namespace}/${r.gatewayRoute.metadata.name}`);

describe('preview: the GatewayRoute as the controller writes it', () => {
  it('has the managed-by label, the source as controlling owner, user annotations, and the status the Ingress controller writes', () => {
    const [previewed] = run(fixture('ingress-tls.yaml')).gatewayRoutes;
    expect(previewed?.gatewayRoute.metadata).toEqual({
      name: 'shop',
      namespace: 'preview-shop',
      labels: { 'gateway.pipeops.io/managed-by': 'ingress' },
      annotations: { team: 'storefront' },
      ownerReferences: [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'shop', uid: '', controller: true }],
    });
    expect(previewed?.gatewayRoute.status).toEqual({
      source: 'Ingress',
      hosts: 'shop.example.com',
      routeCount: 2,
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: '2 route(s) accepted', lastTransitionTime: '2026-01-02T03:04:05Z' },
        { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all backend Services and ports exist', lastTransitionTime: '2026-01-02T03:04:05Z' },
      ],
    });
  });

  it('names every dropped part in Accepted, as the operator does', () => {
    const accepted = run(fixture('ingress-drops.yaml')).gatewayRoutes[0]?.gatewayRoute.status?.conditions?.[0];
    expect(accepted?.message).toBe(
      '1 route(s) accepted; dropped rules[0].paths[1] (/files): resource backend Bucket/files is not supported; rules[1].paths[0] (/): no host (catch-all routes are disabled; enable with --allow-catch-all)',
    );
  });

  it('says why a refused source is not served: the HTTPRoute parent condition, the name conflict', () => {
    expect(run(fixture('httproute-drops.yaml')).sources.map((s) => s.message)).toEqual([
      'not attached (NotAllowedByListeners): Gateway preview-shop/tunnel: no listener allows HTTPRoutes from namespace preview-backends (protocol, allowedRoutes, conflicts)',
      'names no Gateway of gateway.pipeops.io/tunnel: Gateway preview-shop/mesh-gateway is not among the inputs',
    ]);
    expect(run(fixture('conflicts.yaml')).sources.map((s) => s.message)).toEqual([
      'GatewayRoute preview-shop/first is translated from Ingress preview-shop/first; this HTTPRoute is not exposed until one of them is renamed or that GatewayRoute is deleted',
    ]);
  });

  it('would be Stalled when a backend is refused: the sync controller leaves the route out (Synced BackendUnresolved)', () => {
    const externalName = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: ExternalName, externalName: example.org, ports: [{name: http, port: 8080}]}
`;
    const [previewed] = run([externalName, ingress('a', { namespace: 'shop' })]).gatewayRoutes;
    expect(previewed?.gatewayRoute.status?.conditions?.[1]?.reason).toBe('UnsupportedBackend');
    expect(previewed?.stalled).toMatchObject({ type: 'Stalled', status: 'True', reason: 'BackendUnresolved' });
  });
});

describe('preview: the options, as the operator reads its flags', () => {
  const classes = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: tunnel
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: gateway.pipeops.io/tunnel}
`;
  const ingresses = [
    service('shop', 'web'),
    ingress('ours', { namespace: 'shop', className: 'tunnel' }),
    ingress('nginx', { namespace: 'shop', className: 'nginx' }),
    ingress('legacy', { namespace: 'shop', annotations: '{kubernetes.io/ingress.class: nginx}' }),
    ingress('unnamed', { namespace: 'shop' }),
    ingress('opted-out', { namespace: 'shop', annotations: '{gateway.pipeops.io/exclude: "true"}' }),
  ];

  it('mirrors every Ingress but the opted-out one by default', () => {
    const result = run(ingresses);
    expect(keys(result)).toEqual(['shop/legacy', 'shop/nginx', 'shop/ours', 'shop/unnamed']);
    expect(result.sources).toEqual([{ kind: 'Ingress', namespace: 'shop', name: 'opted-out', message: 'not selected: opted out with the annotation gateway.pipeops.io/exclude: "true"', fails: false }]);
    expect(previewFails(result)).toBe(false);
  });

  it('--ingress-class: only that class; an Ingress naming none has the default IngressClass, when the inputs have one', () => {
    expect(keys(run(ingresses, { ingressClasses: ['tunnel'] }))).toEqual(['shop/ours']);
    const withDefault = run([classes, ...ingresses], { ingressClasses: ['tunnel'] });
    expect(keys(withDefault)).toEqual(['shop/ours', 'shop/unnamed']);
    expect(withDefault.sources.map((s) => s.message)).toEqual([
      'not selected: class nginx is neither ours nor one of --ingress-class tunnel',
      'not selected: class nginx is neither ours nor one of --ingress-class tunnel',
      'not selected: opted out with the annotation gateway.pipeops.io/exclude: "true"',
    ]);
  });

  it('--allow-catch-all: a rule without a host is served for every host', () => {
    const text = [service('shop', 'web'), ingress('any', { namespace: 'shop', host: '' })];
    expect(run(text).gatewayRoutes[0]).toMatchObject({ dropsPaths: true, stalled: { reason: 'NoRoutes' } });
    const allowed = run(text, { allowCatchAll: true }).gatewayRoutes[0];
    expect(allowed?.gatewayRoute.spec.routes).toEqual([{ path: '/', pathType: 'Prefix', backend: { service: 'web', port: { name: 'http' } }, tls: false }]);
    expect(allowed?.gatewayRoute.status?.hosts).toBe('*');
    expect(allowed).toMatchObject({ dropsPaths: false, stalled: undefined });
  });

  it('--gateway-controller-name: Gateways of other controllers are not ours; their routes are noted, not failed', () => {
    const result = run(fixture('httproute.yaml'), { gatewayControllerName: 'example.com/other' });
    expect(result.gatewayRoutes).toEqual([]);
    expect(result.sources).toEqual([
      {
        kind: 'HTTPRoute',
        namespace: 'preview-shop',
        name: 'store',
        message: 'names no Gateway of example.com/other: Gateway preview-shop/tunnel is of GatewayClass preview-tunnel, whose controllerName is gateway.pipeops.io/tunnel',
        fails: false,
      },
    ]);
    expect(previewFails(result)).toBe(false);
  });
});

describe('preview: the order manifests are taken in', () => {
  it('an earlier manifest is the older one: it keeps a host + path another asks for', () => {
    const both = [service('shop', 'web'), ingress('b', { namespace: 'shop', host: 'same.example.com' }), ingress('a', { namespace: 'shop', host: 'same.example.com' })];
    const result = run(both);
    expect(result.gatewayRoutes.map((r) => [r.gatewayRoute.metadata.name, r.gatewayRoute.status?.routeCount, r.stalled?.reason])).toEqual([
      ['a', 0, 'NoRoutes'],
      ['b', 1, undefined],
    ]);
  });

  it('creationTimestamps (objects exported from a cluster) decide before the order', () => {
    const both = [
      service('shop', 'web'),
      ingress('b', { namespace: 'shop', host: 'same.example.com', created: '2026-01-01T10:00:00Z' }),
      ingress('a', { namespace: 'shop', host: 'same.example.com', created: '2025-06-01T10:00:00Z' }),
    ];
    expect(run(both).gatewayRoutes.map((r) => [r.gatewayRoute.metadata.name, r.gatewayRoute.status?.routeCount])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
  });

  it('an object without a namespace goes to "default", as kubectl applies it; a cluster-scoped one has none', () => {
    expect(keys(run([service('default', 'web'), ingress('plain')]))).toEqual(['default/plain']);
    const withNamespacedClass = fixture('httproute.yaml').replace('name: preview-tunnel\n', 'name: preview-tunnel\n  namespace: preview-shop\n');
    expect(withNamespacedClass).toContain('namespace: preview-shop\nspec:\n  controllerName');
    expect(keys(run(withNamespacedClass))).toEqual(['preview-shop/store']);
  });

  it('the same object twice: the last one counts, and a warning says so', () => {
    const result = run([service('shop', 'web'), ingress('x', { namespace: 'shop', host: 'old.example.com' }), ingress('x', { namespace: 'shop', host: 'new.example.com' })]);
    expect(result.gatewayRoutes.map((r) => r.gatewayRoute.status?.hosts)).toEqual(['new.example.com']);
    expect(result.warnings).toEqual(['Ingress shop/x is given twice (input-1.yaml: document 1; input-2.yaml: document 1): the last one counts, as it would once applied']);
  });

  it('ignores kinds and apiVersions it does not read, and lists them', () => {
    const old = ingress('old', { namespace: 'shop' }).replace('networking.k8s.io/v1', 'extensions/v1beta1');
    const result = run([old, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: 5\n']);
    expect(result.ignored).toEqual([
      { kind: 'extensions/v1beta1 Ingress', origin: 'input-0.yaml: document 1' },
      { kind: 'apps/v1 Deployment', origin: 'input-1.yaml: document 1' },
    ]);
    expect(result.gatewayRoutes).toEqual([]);
  });
});

describe('preview: inputs a cluster would refuse are errors that name the input, the document and the field', () => {
  const refused = (text: string): string => {
    try {
      run(['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n', text]);
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it.each<[string, string, string]>([
    ['rules not a list', 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {rules: 5}\n', 'input-1.yaml: document 1: Ingress: spec.rules: must be a list, got a number'],
    ['a port as a string', 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {defaultBackend: {service: {name: s, port: {number: "80"}}}}\n', 'input-1.yaml: document 1: Ingress: spec.defaultBackend.service.port.number: must be a whole number, got a string'],
    ['an annotation that is not a string', 'apiVersion: v1\nkind: Service\nmetadata: {name: a, annotations: {replicas: 3}}\n', 'input-1.yaml: document 1: Service: metadata.annotations.replicas: must be a string, got a number'],
    ['no name', 'apiVersion: v1\nkind: Service\nmetadata: {namespace: a}\n', 'input-1.yaml: document 1: Service: metadata.name: is required'],
    ['a Gateway without listeners', 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c}\n', 'input-1.yaml: document 1: Gateway: spec.listeners: is required'],
    ['an unknown operator', 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c, listeners: [{name: l, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: k, operator: Has}]}}}}]}\n', 'input-1.yaml: document 1: Gateway: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].operator: must be one of In, NotIn, Exists, DoesNotExist, got "Has"'],
    ['an HTTPRoute parentRef without a name', 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {parentRefs: [{}], rules: [{backendRefs: [{name: x, port: 80, weight: 1.5}]}]}\n', 'input-1.yaml: document 1: HTTPRoute: spec.parentRefs[0].name: is required; spec.rules[0].backendRefs[0].weight: must be a whole number, got a number'],
    ['a List item', 'apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Service, metadata: {name: [a]}}]\n', 'input-1.yaml: document 1, items[0]: Service: metadata.name: must be a string, got a list'],
  ])('%s', (_name, text, message) => {
    expect(refused(text)).toBe(message);
  });

  it('null fields are absent, as the apiserver reads them', () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a, namespace: shop, annotations: null}\nspec: {tls: null, rules: [{host: a.example.com, http: {paths: [{path: /, pathType: null, backend: {service: {name: web, port: {number: 8080}}}}]}}]}\n';
    expect(run([service('shop', 'web'), text]).gatewayRoutes[0]?.gatewayRoute.spec.routes).toEqual([route('a.example.com', '/', 'web', { number: 8080 })]);
  });
});
