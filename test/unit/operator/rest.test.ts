// The one raw LIST call: whatever body comes back, the caller gets an answer or a rejection it can retry,
// never an exception thrown from a stream handler (that would end the process).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import { getJson, KubeRequestError } from '../../../src/operator/rest.js';

/** path → [status, body] the fake apiserver answers. */
const answers: Record<string, [number, string | Buffer]> = {
  '/ok': [200, '{"items":[{"metadata":{"name":"a"}}]}'],
  '/garbled': [200, '{"items":[{"metadata":'],
  '/binary': [200, Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
  '/large': [200, JSON.stringify({ items: [{ data: 'x'.repeat(64 * 1024) }] })],
  '/gone': [410, '{"kind":"Status","reason":"Expired","message":"continue token expired"}'],
};

let server: Server;
let kc: KubeConfig;

beforeAll(async () => {
  server = createServer((req, res) => {
    const [status, body] = answers[req.url ?? ''] ?? [404, 'not found'];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
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
