// The one raw REST call the runtime needs (a list as plain JSON, like the watch delivers), with the
// kubeconfig's TLS and credentials. Typed clients are used everywhere else.
import { constants } from 'node:buffer';
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

/** Longest body read: a JSON text longer than V8's longest string could not be decoded (and throws). */
export const MAX_BODY_BYTES = constants.MAX_STRING_LENGTH;

export interface GetJsonOptions {
  timeoutMs?: number;
  /** A body past this many bytes is refused (the request aborted): MAX_BODY_BYTES unless told (tests). */
  maxBodyBytes?: number;
}

export async function getJson<T>(kc: KubeConfig, path: string, query: Record<string, string> = {}, { timeoutMs = 60_000, maxBodyBytes = MAX_BODY_BYTES }: GetJsonOptions = {}): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const options: import('node:https').RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : request;
  return new Promise<T>((resolve, reject) => {
    const req = send(url, { ...options, timeout: timeoutMs }, (res) => {
      let chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes > maxBodyBytes) return; // refused already
        bytes += chunk.length;
        if (bytes <= maxBodyBytes) return void chunks.push(chunk);
        chunks = []; // let go of what was read: it cannot be used
        req.destroy(new Error(`GET ${path}: the response body is larger than ${maxBodyBytes} bytes, more than can be decoded`));
      });
      res.on('error', reject);
      // Whatever decoding throws (an invalid body, a string too long) rejects: thrown from an 'end' handler it
      // would escape as an uncaught exception instead of reaching the caller's retry.
      res.on('end', () => {
        try {
          settle(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          reject(new Error(`GET ${path}: the response body cannot be read: ${(err as Error).message}`));
        }
      });
    });
    const settle = (status: number, text: string): void => {
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
      reject(new KubeRequestError(`GET ${path}: ${status} ${message.slice(0, 4096)}`, status, reason));
    };
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
