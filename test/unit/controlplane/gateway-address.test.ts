// register_success.gateway_address: what a control plane may say (and what the operator's
// --ingress-status-address may say) is exactly what the apiserver takes in an Ingress's
// status.loadBalancer.ingress[]; anything else refuses the whole registration at parse time.
import { describe, expect, it } from '@jest/globals';
import { gatewayAddressOf, INBOUND_SCHEMAS, invalidGatewayAddress, parseFrame, parseGatewayAddress, type InboundMessage } from '../../../src/controlplane/protocol.js';

const registered = (gatewayAddress: unknown) =>
  JSON.stringify({ type: 'register_success', payload: { cluster_id: 'c', cluster_uuid: 'u', protocol_version: 2, resume_revision: 0, gateway_address: gatewayAddress } });

describe('invalidGatewayAddress', () => {
  it.each<{ value: unknown; problem?: string }>([
    { value: { hostname: 'gateway.example.com' } },
    { value: { ip: '203.0.113.10' } },
    { value: { ip: '2001:db8::1' } },
    { value: { ip: '::1' } },
    { value: { hostname: 'gw.example.com', ip: '203.0.113.10' } },
    { value: { hostname: 'localhost' } },
    { value: { hostname: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}` } }, // 253 characters
    { value: { hostname: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}` }, problem: 'is not a lower-case DNS name of at most 253 characters' },
    { value: null, problem: 'gateway address must be an object {hostname?, ip?}' },
    { value: 'gateway.example.com', problem: 'gateway address must be an object {hostname?, ip?}' },
    { value: ['gateway.example.com'], problem: 'gateway address must be an object {hostname?, ip?}' },
    { value: {}, problem: 'gateway address needs a hostname or an ip' },
    { value: { port: 443 }, problem: 'gateway address needs a hostname or an ip' },
    { value: { hostname: '' }, problem: 'hostname "" is not a lower-case DNS name' },
    { value: { hostname: 'Gateway.Example.com' }, problem: 'is not a lower-case DNS name' },
    { value: { hostname: 'gw.example.com.' }, problem: 'is not a lower-case DNS name' },
    { value: { hostname: '*.example.com' }, problem: 'is not a lower-case DNS name' },
    { value: { hostname: 'gw.example.com:443' }, problem: 'is not a lower-case DNS name' },
    { value: { hostname: 'https://gw.example.com' }, problem: 'is not a lower-case DNS name' },
    { value: { hostname: 'gw.example.com\nX-Injected: 1' }, problem: 'hostname "gw.example.com\\nX-Injected: 1" is not a lower-case DNS name' },
    { value: { hostname: 'a'.repeat(10_000) }, problem: `hostname "${'a'.repeat(76)}... is not` },
    { value: { hostname: 42 }, problem: 'hostname 42 is not a lower-case DNS name' },
    { value: { hostname: '203.0.113.10' }, problem: 'hostname "203.0.113.10" is an IP address: give it as ip' },
    { value: { hostname: '010.0.0.1' }, problem: 'is an IP address' },
    { value: { hostname: 'gw.example.com', ip: 'nope' }, problem: 'ip "nope" is not an IPv4 or IPv6 address' },
    { value: { ip: '' }, problem: 'ip "" is not an IPv4 or IPv6 address' },
    { value: { ip: 7 }, problem: 'ip 7 is not an IPv4 or IPv6 address' },
    { value: { ip: '010.0.0.1' }, problem: 'is not an IPv4 or IPv6 address' },
    { value: { ip: '1.2.3.256' }, problem: 'is not an IPv4 or IPv6 address' },
    { value: { ip: ' 1.2.3.4' }, problem: 'is not an IPv4 or IPv6 address' },
    { value: { ip: '1.2.3.4/32' }, problem: 'is not an IPv4 or IPv6 address' },
    { value: { ip: 'fe80::1%eth0' }, problem: 'has a zone' },
    { value: { ip: '::ffff:203.0.113.10' }, problem: 'is an IPv4 address written as IPv6' },
    { value: { ip: '0.0.0.0' }, problem: 'is the unspecified address' },
    { value: { ip: '::' }, problem: 'is the unspecified address' },
    { value: { ip: '0:0:0:0:0:0:0:0' }, problem: 'is the unspecified address' },
  ])('$value', ({ value, problem }) => {
    const found = invalidGatewayAddress(value);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
    // The parse-time check of register_success says the same: accepted exactly when valid.
    expect(parseFrame<InboundMessage>(registered(value), INBOUND_SCHEMAS).ok).toBe(problem === undefined);
  });

  it('leaves register_success without it as it was (an older control plane)', () => {
    expect(parseFrame<InboundMessage>(registered(undefined), INBOUND_SCHEMAS)).toMatchObject({ ok: true });
  });

  it('names the field when it refuses a registration', () => {
    expect(parseFrame<InboundMessage>(registered({ hostname: 'evil host' }), INBOUND_SCHEMAS)).toEqual({
      ok: false,
      code: 'bad_payload',
      error: 'register_success: field "gateway_address" is missing or of the wrong type',
      type: 'register_success',
      requestId: undefined,
    });
  });

  it('keeps only hostname and ip of what the control plane sent', () => {
    expect(gatewayAddressOf({ hostname: 'gw.example.com', ports: [{ port: 443 }] } as never)).toEqual({ hostname: 'gw.example.com' });
    expect(gatewayAddressOf({ ip: '203.0.113.10' })).toEqual({ ip: '203.0.113.10' });
  });
});

describe('parseGatewayAddress (one string: a flag)', () => {
  it.each<{ text: string; address?: object; error?: string }>([
    { text: 'gateway.example.com', address: { hostname: 'gateway.example.com' } },
    { text: '203.0.113.10', address: { ip: '203.0.113.10' } },
    { text: '2001:db8::10', address: { ip: '2001:db8::10' } },
    { text: '0.0.0.0', error: 'ip "0.0.0.0" is the unspecified address' },
    { text: '010.0.0.1', error: 'ip "010.0.0.1" is not an IPv4 or IPv6 address' },
    { text: '300.1.1.1', error: 'ip "300.1.1.1" is not an IPv4 or IPv6 address' },
    { text: 'fe80::1%eth0', error: 'ip "fe80::1%eth0" has a zone, which means something on one host only' },
    ...['https://gateway.example.com', 'gateway.example.com:443', 'Gateway.example.com', 'gateway.example.com/x', 'gate way', '']
      .map((text) => ({ text, error: `${JSON.stringify(text)} is neither an IP address nor a lower-case DNS name of at most 253 characters (no scheme, port or path), e.g. gateway.example.com or 203.0.113.10` })),
  ])('$text', ({ text, address, error }) => {
    expect(parseGatewayAddress(text)).toEqual(address ? { ok: true, address } : { ok: false, error });
  });
});
