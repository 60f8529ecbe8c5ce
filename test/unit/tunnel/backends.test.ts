import { describe, expect, it } from '@jest/globals';
import type { BackendTransport } from '../../../src/routing/backend-transport.js';
import { explainBackendError } from '../../../src/tunnel/backends.js';

const error = (code: string | undefined, message: string): Error => Object.assign(new Error(message), code ? { code } : {});
const https = (ca?: string): BackendTransport => ({ protocol: 'HTTPS', tls: { servername: 'web.shop.svc.cluster.local', verify: true, source: ca ? 'BackendTLSPolicy shop/web-tls' : 'route protocol HTTPS', ...(ca ? { ca } : {}) } });
const target = (transport: BackendTransport) => ({ address: '10.0.0.7:443', transport });

describe('explainBackendError', () => {
  it.each<{ name: string; err: Error; transport: BackendTransport; want: string }>([
    { name: 'a chain to no CA of the policy', err: error('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), transport: https('PEM'), want: 'backend 10.0.0.7:443 (HTTPS): TLS verification failed: the certificate is not trusted by the CA of BackendTLSPolicy shop/web-tls (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate)' },
    { name: 'a self-signed certificate, system roots', err: error('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), transport: https(), want: 'not trusted by the system roots (route protocol HTTPS names no CA) (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate)' },
    { name: 'another name', err: error('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), transport: https('PEM'), want: 'the certificate does not match the name web.shop.svc.cluster.local' },
    { name: 'an expired certificate', err: error('CERT_HAS_EXPIRED', 'certificate has expired'), transport: https(), want: 'the certificate is not valid now (CERT_HAS_EXPIRED' },
    { name: 'plain HTTP where TLS was expected', err: error('EPROTO', 'write EPROTO ...:SSL routines:ssl3_get_record:wrong version number'), transport: https(), want: 'the backend does not answer TLS' },
    { name: 'no h2 over TLS', err: error('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', 'tlsv1 alert no application protocol'), transport: { ...https(), protocol: 'H2' }, want: 'backend 10.0.0.7:443 (H2): the backend does not offer HTTP/2 (ALPN h2) over TLS' },
  ])('$name', ({ err, transport, want }) => {
    const why = explainBackendError(err, target(transport));
    expect(why.tls).toBe(true);
    expect(why.message).toContain(want);
  });

  it("unwraps an HTTP/2 stream cancelled by its session's failure", () => {
    const cause = error('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain');
    const err = Object.assign(error('ERR_HTTP2_STREAM_CANCEL', 'The pending stream has been canceled'), { cause });
    expect(explainBackendError(err, target({ ...https(), protocol: 'H2' }))).toEqual({ tls: true, message: expect.stringContaining('(H2): TLS verification failed: the certificate is not trusted by the system roots') });
  });

  it('anything else, or any failure of a cleartext backend, is "unreachable"', () => {
    expect(explainBackendError(error('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:443'), target(https()))).toEqual({ tls: false, message: 'backend 10.0.0.7:443 unreachable: connect ECONNREFUSED 10.0.0.7:443' });
    expect(explainBackendError(error('DEPTH_ZERO_SELF_SIGNED_CERT', 'x'), target({ protocol: 'H2C' }))).toEqual({ tls: false, message: 'backend 10.0.0.7:443 unreachable: x' });
  });
});
