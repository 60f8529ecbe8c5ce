// Every REST call the operator makes, over one request function: the kubeconfig's TLS and credentials and
// the shared keep-alive agent (kc.applyToHTTPSOptions, see connections.ts), JSON in and out, a bounded body,
// and errors that carry the HTTP status. clients.ts builds the typed calls on it; watches stay client-node's.
import { constants } from 'node:buffer';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * A response outside 2xx. `code` (the HTTP status) and `body` (the response text, a Status JSON from the
 * apiserver) are what client-node's ApiException carried, so apiErrorCode/apiErrorMessage read both alike.
 */
export class KubeRequestError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly reason?: string,
    readonly body = '',
  ) {
    super(message);
    this.name = 'KubeRequestError';
  }

  get code(): number {
    return this.statusCode;
  }
}

/** Longest body read: a JSON text longer than V8's longest string could not be decoded (and throws). */
export const MAX_BODY_BYTES = constants.MAX_STRING_LENGTH;

export type QueryValue = string | number | boolean | undefined;

export interface GetJsonOptions {
  timeoutMs?: number;
  /** A body past this many bytes is refused (the request aborted): MAX_BODY_BYTES unless told (tests). */
  maxBodyBytes?: number;
}

export interface RequestOptions extends GetJsonOptions {
  /** GET unless told. */
  method?: string;
  /** Added as URLSearchParams; undefined values are left out. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Of the body: application/json unless told (application/apply-patch+yaml, application/merge-patch+json). */
  contentType?: string;
}

/**
 * "/seg/seg/...", each segment URL-encoded. An empty segment, "." or "..", or one holding a "/" is refused: it
 * would name another resource (a collection, a parent, or a deeper path: the apiserver splits the decoded
 * path, so an encoded "/" separates too) than the one asked for.
 */
export function restPath(...segments: string[]): string {
  for (const segment of segments) {
    if (!segment || segment === '.' || segment === '..' || segment.includes('/')) throw new Error(`invalid path segment ${JSON.stringify(segment)} in /${segments.join('/')}`);
  }
  return `/${segments.map(encodeURIComponent).join('/')}`;
}

/** One call to the apiserver: resolves with the decoded JSON body (undefined when empty), rejects with KubeRequestError on a status outside 2xx. */
export async function request<T>(kc: KubeConfig, path: string, options: RequestOptions = {}): Promise<T> {
  const { method = 'GET', query = {}, body, contentType = 'application/json', timeoutMs = 60_000, maxBodyBytes = MAX_BODY_BYTES } = options;
  const what = `${method} ${path}`;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload) Object.assign(headers, { 'Content-Type': contentType, 'Content-Length': payload.length });
  const requestOptions: HttpsRequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(requestOptions);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise<T>((resolve, reject) => {
    const req = send(url, { ...requestOptions, timeout: timeoutMs }, (res) => {
      let chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes > maxBodyBytes) return; // refused already
        bytes += chunk.length;
        if (bytes <= maxBodyBytes) return void chunks.push(chunk);
        chunks = []; // let go of what was read: it cannot be used
        req.destroy(new Error(`${what}: the response body is larger than ${maxBodyBytes} bytes, more than can be decoded`));
      });
      res.on('error', reject);
      // Whatever decoding throws (an invalid body, a string too long) rejects: thrown from an 'end' handler it
      // would escape as an uncaught exception instead of reaching the caller's retry.
      res.on('end', () => {
        try {
          settle(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          reject(new Error(`${what}: the response body cannot be read: ${(err as Error).message}`));
        }
      });
    });
    const settle = (status: number, text: string): void => {
      if (status >= 200 && status < 300) {
        try {
          resolve((text === '' ? undefined : JSON.parse(text)) as T);
        } catch (err) {
          reject(new Error(`${what}: invalid JSON: ${(err as Error).message}`));
        }
        return;
      }
      let message = text;
      let reason: string | undefined;
      try {
        const parsed = JSON.parse(text) as { message?: string; reason?: string };
        message = parsed.message ?? text;
        reason = parsed.reason;
      } catch {
        // not a Status object; keep the text
      }
      reject(new KubeRequestError(`${what}: ${status} ${message.slice(0, 4096)}`, status, reason, text));
    };
    req.on('timeout', () => req.destroy(new Error(`${what}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A GET of plain JSON (a list, as the watch delivers it; discovery). */
export function getJson<T>(kc: KubeConfig, path: string, query: Record<string, QueryValue> = {}, options: GetJsonOptions = {}): Promise<T> {
  return request<T>(kc, path, { ...options, query });
}
