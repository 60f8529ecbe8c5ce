// The one raw REST call the runtime needs (a list as plain JSON, like the watch delivers), with the
// kubeconfig's TLS and credentials. Typed clients are used everywhere else.
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export class KubeRequestError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

export async function getJson<T>(kc: KubeConfig, path: string, query: Record<string, string> = {}, timeoutMs = 60_000): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const options: import('node:https').RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : request;
  return new Promise<T>((resolve, reject) => {
    const req = send(url, { ...options, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(new Error(`GET ${path}: invalid JSON: ${(err as Error).message}`));
          }
          return;
        }
        let message = text;
        let reason: string | undefined;
        try {
          const body = JSON.parse(text) as { message?: string; reason?: string };
          message = body.message ?? text;
          reason = body.reason;
        } catch {
          // not a Status object; keep the text
        }
        reject(new KubeRequestError(`GET ${path}: ${status} ${message}`, status, reason));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
