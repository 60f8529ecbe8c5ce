// Annotations → GatewayRoute backend fields: every ingress-nginx backend-protocol value, our TLS opt-out, and
// what is reported instead of applied. Then the same through the Ingress and HTTPRoute translations.
import { describe, expect, it } from '@jest/globals';
import { translateHTTPRoute } from '../../../src/gatewayapi/translate.js';
import { translateIngress } from '../../../src/ingress/translate.js';
import {
  BACKEND_PROTOCOL_ANNOTATION,
  INSECURE_SKIP_VERIFY_ANNOTATION,
  readBackendAnnotations,
  withBackendSettings,
  type BackendSettings,
} from '../../../src/routing/backend-annotations.js';

const PROTOCOL = BACKEND_PROTOCOL_ANNOTATION;
const SKIP = INSECURE_SKIP_VERIFY_ANNOTATION;
const unsupportedProtocol = (shown: string) =>
  `annotation ${PROTOCOL}: ${shown} is not supported (HTTP, HTTPS, GRPC, GRPCS and H2C are); backends are dialled as without it`;
const badSkip = (shown: string) => `annotation ${SKIP}: ${shown} is neither "true" nor "false"; certificates are verified`;

// annotations, settings, ignored (on an Ingress: backend-protocol is read)
const table: Array<[string, Record<string, string> | undefined, BackendSettings, string[]]> = [
  ['no annotations', undefined, {}, []],
  ['unrelated annotations', { team: 'payments' }, {}, []],
  ['HTTP', { [PROTOCOL]: 'HTTP' }, { protocol: 'HTTP' }, []],
  ['HTTPS', { [PROTOCOL]: 'HTTPS' }, { protocol: 'HTTPS' }, []],
  ['GRPC → H2C', { [PROTOCOL]: 'GRPC' }, { protocol: 'H2C' }, []],
  ['GRPCS → H2', { [PROTOCOL]: 'GRPCS' }, { protocol: 'H2' }, []],
  ['H2C', { [PROTOCOL]: 'H2C' }, { protocol: 'H2C' }, []],
  ['lower case grpc', { [PROTOCOL]: 'grpc' }, { protocol: 'H2C' }, []],
  ['mixed case Https with spaces', { [PROTOCOL]: ' Https ' }, { protocol: 'HTTPS' }, []],
  ['AUTO_HTTP is not applied', { [PROTOCOL]: 'AUTO_HTTP' }, {}, [unsupportedProtocol('"AUTO_HTTP"')]],
  ['FCGI is not applied', { [PROTOCOL]: 'FCGI' }, {}, [unsupportedProtocol('"FCGI"')]],
  ['an empty value is not applied', { [PROTOCOL]: '' }, {}, [unsupportedProtocol('""')]],
  ['an inherited property name is not a protocol', { [PROTOCOL]: 'constructor' }, {}, [unsupportedProtocol('"constructor"')]],
  ['a huge value is shown cut', { [PROTOCOL]: 'X'.repeat(100_000) }, {}, [unsupportedProtocol(`"${'X'.repeat(64)}…"`)]],
  ['a value with quotes and newlines is shown escaped', { [PROTOCOL]: 'a"\nb' }, {}, [unsupportedProtocol('"a\\"\\nb"')]],
  ['opt-out "true"', { [SKIP]: 'true' }, { insecureSkipVerify: true }, []],
  ['opt-out "True"', { [SKIP]: 'True' }, { insecureSkipVerify: true }, []],
  ['opt-out "false" sets nothing', { [SKIP]: 'false' }, {}, []],
  ['opt-out "yes" is reported', { [SKIP]: 'yes' }, {}, [badSkip('"yes"')]],
  ['opt-out "1" is reported', { [SKIP]: '1' }, {}, [badSkip('"1"')]],
  ['both, one of each kind', { [PROTOCOL]: 'GRPCS', [SKIP]: 'true' }, { protocol: 'H2', insecureSkipVerify: true }, []],
  ['both wrong: both reported', { [PROTOCOL]: 'FCGI', [SKIP]: 'maybe' }, {}, [unsupportedProtocol('"FCGI"'), badSkip('"maybe"')]],
];

describe('readBackendAnnotations', () => {
  it.each(table)('%s', (_name, annotations, settings, ignored) => {
    expect(readBackendAnnotations(annotations, { backendProtocol: true })).toEqual({ settings, ignored });
  });

  it('leaves backend-protocol alone where it is not read (HTTPRoutes)', () => {
    expect(readBackendAnnotations({ [PROTOCOL]: 'GRPC', [SKIP]: 'true' }, { backendProtocol: false })).toEqual({ settings: { insecureSkipVerify: true }, ignored: [] });
  });
});

describe('withBackendSettings', () => {
  const backend = { service: 'api', port: { number: 50051 } };
  it.each<[string, BackendSettings, object]>([
    ['nothing', {}, backend],
    ['a protocol', { protocol: 'H2C' }, { ...backend, protocol: 'H2C' }],
    ['the opt-out', { insecureSkipVerify: true }, { ...backend, tls: { insecureSkipVerify: true } }],
  ])('%s', (_name, settings, expected) => {
    expect(withBackendSettings(backend, settings)).toEqual(expected);
  });
});

describe('the translations apply them to every route and report what they ignore', () => {
  const paths = [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 50051 } } } }];
  const ingress = (annotations: Record<string, string>) => ({ metadata: { name: 'api', namespace: 'shop', annotations }, spec: { rules: [{ host: 'a.example.com', http: { paths } }, { host: 'b.example.com', http: { paths } }] } });

  it('an Ingress with backend-protocol GRPC: H2C on each route', () => {
    const result = translateIngress(ingress({ [PROTOCOL]: 'GRPC' }), { allowCatchAll: false });
    expect(result.spec.routes?.map((r) => r.backend.protocol)).toEqual(['H2C', 'H2C']);
    expect(result.accepted).toEqual({ type: 'Accepted', status: 'True', reason: 'Accepted', message: '2 route(s) accepted' });
    expect(result.ignored).toEqual([]);
  });

  it('an Ingress with backend-protocol FCGI: routes as without it, PartiallyAccepted naming the annotation and value', () => {
    const result = translateIngress(ingress({ [PROTOCOL]: 'FCGI' }), { allowCatchAll: false });
    expect(result.spec.routes?.map((r) => r.backend)).toEqual([
      { service: 'api', port: { number: 50051 } },
      { service: 'api', port: { number: 50051 } },
    ]);
    expect(result.ignored).toEqual([unsupportedProtocol('"FCGI"')]);
    expect(result.accepted).toEqual({ type: 'Accepted', status: 'True', reason: 'PartiallyAccepted', message: `2 route(s) accepted; ignored ${unsupportedProtocol('"FCGI"')}` });
  });

  it('an Ingress with the opt-out: insecureSkipVerify on each route', () => {
    const result = translateIngress(ingress({ [PROTOCOL]: 'HTTPS', [SKIP]: 'true' }), { allowCatchAll: false });
    expect(result.spec.routes?.map((r) => r.backend)).toEqual([
      { service: 'api', port: { number: 50051 }, protocol: 'HTTPS', tls: { insecureSkipVerify: true } },
      { service: 'api', port: { number: 50051 }, protocol: 'HTTPS', tls: { insecureSkipVerify: true } },
    ]);
  });

  const httpRoute = (annotations: Record<string, string>) => ({
    metadata: { name: 'api', namespace: 'shop', annotations },
    spec: { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 'api', port: 50051 }] }] },
  });
  const httpOptions = { allowCatchAll: false, referenceGrants: [], service: () => ({ spec: { ports: [{ port: 50051 }] } }) };

  it('an HTTPRoute with the opt-out: insecureSkipVerify; backend-protocol is not read there', () => {
    const result = translateHTTPRoute(httpRoute({ [SKIP]: 'true', [PROTOCOL]: 'GRPC' }), [{ host: 'a.example.com', tls: true }], httpOptions);
    expect(result.spec.routes?.map((r) => r.backend)).toEqual([{ service: 'api', port: { number: 50051 }, tls: { insecureSkipVerify: true } }]);
    expect(result.ignored).toEqual([]);
  });

  it('an HTTPRoute with an opt-out that is not a boolean: reported in Accepted', () => {
    const result = translateHTTPRoute(httpRoute({ [SKIP]: 'please' }), [{ host: 'a.example.com', tls: true }], httpOptions);
    expect(result.spec.routes?.map((r) => r.backend)).toEqual([{ service: 'api', port: { number: 50051 } }]);
    expect(result.accepted).toEqual({ type: 'Accepted', status: 'True', reason: 'PartiallyAccepted', message: `1 route(s) accepted; ignored ${badSkip('"please"')}` });
  });
});
