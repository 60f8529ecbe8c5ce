// CA bundles of BackendTLSPolicies, read from ConfigMaps (key ca.crt) and checked when a ConfigMap enters the
// cache, not when a request needs it: the tunnel gets only certificates that node:crypto parsed, and a bundle
// that is missing, too large or not a certificate makes the policy unusable (its backend refused) rather than
// fall back to cleartext or the system roots. Pure.
import { X509Certificate } from 'node:crypto';
import type { KubeObject } from '../../operator/informer.js';

export const CA_KEY = 'ca.crt';
/** A CA bundle larger than this is refused: the system roots of a distribution are ~220 KiB. */
export const MAX_CA_BUNDLE_BYTES = 512 * 1024;
/** And one with more certificates than this. */
export const MAX_CA_CERTIFICATES = 500;

export type CaBundle = { ok: true; pem: string; certificates: number } | { ok: false; error: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]*?-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM bundle, each parsed: text between them (comments) is dropped, so the bundle handed
 * on holds certificates and nothing else (never a private key someone pasted along).
 */
export function parseCaBundle(text: string): CaBundle {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CA_BUNDLE_BYTES) return { ok: false, error: `${CA_KEY} is ${bytes} bytes, more than the ${MAX_CA_BUNDLE_BYTES} a CA bundle may have` };
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return { ok: false, error: `${CA_KEY} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  if (blocks.length > MAX_CA_CERTIFICATES) return { ok: false, error: `${CA_KEY} holds ${blocks.length} certificates, more than ${MAX_CA_CERTIFICATES}` };
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return { ok: false, error: `${CA_KEY}: certificate ${index + 1} of ${blocks.length} cannot be parsed (${(err as Error).message})` };
    }
  }
  return { ok: true, pem: `${blocks.join('\n')}\n`, certificates: blocks.length };
}

/** A ConfigMap as the CA cache keeps it: its identity and its ca.crt, parsed; `ca` absent when it has no such key. */
export interface CaConfigMap extends KubeObject {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; creationTimestamp?: string };
  ca?: CaBundle;
}

interface ConfigMapLike extends KubeObject {
  data?: Record<string, string>;
}

/**
 * The informer transform of the ConfigMap cache. ConfigMaps are watched in every (watched) namespace, as
 * policies may name any of them and a per-name watch is not something an informer can follow; so that this
 * costs little memory, the cache keeps of each only its name, resourceVersion and parsed ca.crt (dashboards,
 * scripts and other large values are dropped as they arrive, and parsing happens once per change).
 */
export function keepCaOnly(object: KubeObject): CaConfigMap {
  const { metadata = {}, data } = object as ConfigMapLike;
  const { name, namespace, resourceVersion } = metadata as CaConfigMap['metadata'];
  const kept: CaConfigMap = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace, resourceVersion } };
  const text = data?.[CA_KEY];
  if (typeof text === 'string') kept.ca = parseCaBundle(text);
  return kept;
}
