// The one request function every REST call goes through: what it sends (method, encoded path, query,
// content type, JSON body) and that whatever body comes back, the caller gets an answer or a rejection it
// can retry (with the status as `code` and the text as `body`, what apiErrorCode/apiErrorMessage read),
// never an exception thrown from a stream handler (that would end the process).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiErrorCode, apiErrorMessage } from '../../../src/operator/apply.js';
import { APPLY_PATCH, coordinationClient, CustomObjectsClient, microTime } from '../../../src/operator/clients.js';
import { getJson, KubeRequestError, request, restPath } from '../../../src/operator/rest.js';

/** path → [status, body] the fake apiserver answers. */
const answers: Record<string, [number, string | Buffer]> = {
  '/ok': [200, '{"items":[{"metadata":{"name":"a"}}]}'],
  '/garbled': [200, '{"items":[{"metadata":'],
  '/binary': [200, Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
  '/large': [200, JSON.stringify({ items: [{ data: 'x'.repeat(64 * 1024) }] })],
  '/gone': [410, '{"kind":"Status","reason":"Expired","message":"continue token expired"}'],
};

const conflict = '{"kind":"Status","reason":"Conflict","message":"the object has been modified","code":409}';
const notFound = '{"kind":"Status","reason":"NotFound","message":"leases \\"x\\" not found","code":404}';
answers['/conflict'] = [409, conflict];
answers['/missing'] = [404, notFound];

/** Answers what it was sent: method, the raw path and query, content type and body. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, contentType: req.headers['content-type'] ?? null, body: Buffer.concat(chunks).toString('utf8') }));
  });
}

let server: Server;
let kc: KubeConfig;
/** The same server under the path /echo, as an apiserver behind a path prefix: it answers what it was sent. */
let echoing: KubeConfig;

function kubeConfig(server: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({ clusters: [{ name: 'c', server, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return config;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/echo/')) return void echo(req, res);
    if (req.url?.startsWith('/silent/')) return; // never answers
    const [status, body] = answers[req.url ?? ''] ?? [404, 'not found'];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  kc = kubeConfig(`http://127.0.0.1:${port}`);
  echoing = kubeConfig(`http://127.0.0.1:${port}/echo`);
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('getJson', () => {
  it('parses a body', async () => {
    await expect(getJson(kc, '/ok')).resolves.toEqual({ items: [{ metadata: { name: 'a' } }] });
  });

  it.each([
    ['a garbled body', '/garbled', /^GET \/garbled: invalid JSON: /],
    ['a body that is not text', '/binary', /^GET \/binary: invalid JSON: /],
    ['a body over the limit, refused while it arrives', '/large', /^GET \/large: the response body is larger than 1024 bytes, more than can be decoded$/],
  ])('%s rejects, naming the path', async (_name, path, message) => {
    await expect(getJson(kc, path, {}, { maxBodyBytes: 1024 })).rejects.toThrow(message);
  });

  it('an error status rejects with its status and reason (an expired continue token: 410 Expired)', async () => {
    const err = await getJson(kc, '/gone').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeRequestError);
    expect([(err as KubeRequestError).statusCode, (err as KubeRequestError).reason, (err as Error).message]).toEqual([410, 'Expired', 'GET /gone: 410 continue token expired']);
  });
});

describe('request', () => {
  it('sends the method, the query (as URLSearchParams, undefined left out), the content type and the JSON body', async () => {
    const sent = await request(kc, '/echo/x', { method: 'PATCH', query: { fieldManager: 'a b&c', force: true, dryRun: undefined }, body: { spec: { n: 1 } }, contentType: APPLY_PATCH });
    expect(sent).toEqual({ method: 'PATCH', url: '/echo/x?fieldManager=a+b%26c&force=true', contentType: 'application/apply-patch+yaml', body: '{"spec":{"n":1}}' });
  });

  it('sends no body and no content type without a body (GET unless told)', async () => {
    await expect(request(kc, '/echo/y')).resolves.toEqual({ method: 'GET', url: '/echo/y', contentType: null, body: '' });
  });

  it.each([
    [404, '/missing', notFound, 'leases "x" not found'],
    [409, '/conflict', conflict, 'the object has been modified'],
  ])('a %i rejects with code, body and a message naming method, path and status', async (code, path, text, message) => {
    const err = await request(kc, path, { method: 'PUT', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeRequestError);
    expect([apiErrorCode(err), (err as KubeRequestError).body, apiErrorMessage(err), (err as Error).message]).toEqual([code, text, message, `PUT ${path}: ${code} ${message}`]);
  });

  it('refuses a body over the limit for any method', async () => {
    await expect(request(kc, '/large', { method: 'POST', body: {}, maxBodyBytes: 1024 })).rejects.toThrow(/^POST \/large: the response body is larger than 1024 bytes/);
  });
});

describe('restPath', () => {
  it('encodes each segment, so no input can add a query', () => {
    expect(restPath('api', 'v1', 'namespaces', 'a?c=d#e', 'configmaps', 'x y%')).toBe('/api/v1/namespaces/a%3Fc%3Dd%23e/configmaps/x%20y%25');
  });

  it.each([[''], ['.'], ['..'], ['a/b'], ['/']])('refuses the segment %j', (segment) => {
    expect(() => restPath('api', 'v1', 'namespaces', segment, 'leases')).toThrow(/^invalid path segment/);
  });
});

describe('CustomObjectsClient', () => {
  it("applies to the encoded path of a namespaced object's status, with fieldManager and force", async () => {
    const sent = await new CustomObjectsClient(echoing).patchNamespacedCustomObjectStatus(
      { group: 'gateway.pipeops.io', version: 'v1alpha1', namespace: 'n s', plural: 'gatewayroutes', name: 'web', body: { status: {} }, fieldManager: 'm', force: true },
      APPLY_PATCH,
    );
    expect(sent).toEqual({ method: 'PATCH', url: '/echo/apis/gateway.pipeops.io/v1alpha1/namespaces/n%20s/gatewayroutes/web/status?fieldManager=m&force=true', contentType: APPLY_PATCH, body: '{"status":{}}' });
  });

  it('reads an object back with a GET of its encoded path', async () => {
    const sent = await new CustomObjectsClient(echoing).getNamespacedCustomObject({ group: 'gateway.pipeops.io', version: 'v1alpha1', namespace: 'n s', plural: 'gatewayroutes', name: 'web' });
    expect(sent).toEqual({ method: 'GET', url: '/echo/apis/gateway.pipeops.io/v1alpha1/namespaces/n%20s/gatewayroutes/web', contentType: null, body: '' });
  });

  it('an empty name rejects (never a request to the collection)', async () => {
    await expect(new CustomObjectsClient(echoing).deleteClusterCustomObject({ group: 'g', version: 'v1', plural: 'things', name: '' })).rejects.toThrow(/^invalid path segment ""/);
  });
});

describe('coordinationClient', () => {
  it('gives up on a Lease call after its own timeout (leader election passes its renew deadline)', async () => {
    const { port } = server.address() as { port: number };
    const silent = kubeConfig(`http://127.0.0.1:${port}/silent`);
    const started = Date.now();
    await expect(coordinationClient(silent, { timeoutMs: 200 }).readNamespacedLease({ namespace: 'ns', name: 'l' })).rejects.toThrow(
      'GET /apis/coordination.k8s.io/v1/namespaces/ns/leases/l: no answer within 200 ms',
    );
    expect(Date.now() - started).toBeLessThan(10_000); // not the 60 s default
  });
});

describe('microTime', () => {
  it.each([
    [Date.UTC(2026, 11, 1, 13, 0, 0, 123), '2026-12-01T13:00:00.123000Z'],
    [Date.UTC(2026, 11, 1, 13, 0, 0, 0), '2026-12-01T13:00:00.000000Z'],
    [0, '1970-01-01T00:00:00.000000Z'],
    [new Date('2024-02-29T23:59:59.999Z'), '2024-02-29T23:59:59.999000Z'],
  ])('%p is %s (RFC 3339, UTC, 6 fractional digits), read back as the same instant', (at, text) => {
    expect(microTime(at)).toBe(text);
    expect(microTime(at)).toBe(new V1MicroTime(at).toISOString()); // what client-node wrote before
    expect(new Date(microTime(at)).getTime()).toBe(new Date(at).getTime());
  });
});

describe('apiErrorMessage', () => {
  it.each([
    ['a Status message', { code: 500, body: JSON.stringify({ message: 'm'.repeat(10_000) }) }],
    ['a body that is not JSON (a proxy page)', { code: 502, body: `<html>${'x'.repeat(10_000)}</html>` }],
  ])('quotes at most 4096 characters of %s', (_what, err) => {
    expect(apiErrorMessage(err)).toHaveLength(4096);
  });

  it('quotes a short message whole', () => {
    expect(apiErrorMessage({ code: 404, body: JSON.stringify({ message: 'leases "x" not found' }) })).toBe('leases "x" not found');
  });
});
