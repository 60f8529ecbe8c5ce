import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { agentToken, bearerToken, secretMatches, verifyAgentToken } from '../../../src/reference-control-plane/credentials.js';

const SECRET = 'admin-secret';
const mac = (secret: string, name: string): string => createHmac('sha256', secret).update(`agent:${name}`).digest('hex');

describe('agentToken', () => {
  it.each([
    { name: 'a plain name', clusterName: 'prod-eu-1' },
    { name: 'a name with dots', clusterName: 'shop.eu.1' },
    { name: 'a one-letter name', clusterName: 'a' },
  ])('is the name, a dot and the hex HMAC-SHA256 of "agent:" + name: $name', ({ clusterName }) => {
    expect(agentToken(SECRET, clusterName)).toBe(`${clusterName}.${mac(SECRET, clusterName)}`);
  });

  it('differs per cluster name and per secret', () => {
    expect(agentToken(SECRET, 'a')).not.toBe(agentToken(SECRET, 'b'));
    expect(agentToken(SECRET, 'a')).not.toBe(agentToken('other-secret', 'a'));
  });
});

describe('verifyAgentToken', () => {
  const good = agentToken(SECRET, 'prod-eu-1');
  const hex = mac(SECRET, 'prod-eu-1');
  it.each([
    { name: 'its own token', token: good, want: { ok: true, clusterName: 'prod-eu-1' } },
    { name: 'a dotted name, split at the last dot', token: agentToken(SECRET, 'shop.eu.1'), want: { ok: true, clusterName: 'shop.eu.1' } },
    { name: 'the admin secret itself', token: SECRET, want: { ok: false } },
    { name: 'another name with this MAC', token: `prod-eu-2.${hex}`, want: { ok: false } },
    { name: 'a token made from another secret', token: agentToken('other-secret', 'prod-eu-1'), want: { ok: false } },
    { name: 'the MAC in upper case', token: `prod-eu-1.${hex.toUpperCase()}`, want: { ok: false } },
    { name: 'a cut MAC', token: good.slice(0, -1), want: { ok: false } },
    { name: 'a MAC with a byte more', token: `${good}0`, want: { ok: false } },
    { name: 'no name', token: `.${hex}`, want: { ok: false } },
    { name: 'no dot', token: `prod-eu-1${hex}`, want: { ok: false } },
    { name: 'empty', token: '', want: { ok: false } },
    { name: 'a multi-byte MAC of the right length in characters', token: `prod-eu-1.${'é'.repeat(64)}`, want: { ok: false } },
  ])('$name', ({ token, want }) => {
    expect(verifyAgentToken(SECRET, token)).toEqual(want);
  });

  it('takes nothing when there is no secret', () => {
    expect(verifyAgentToken('', agentToken('', 'a'))).toEqual({ ok: false });
  });
});

describe('secretMatches', () => {
  it.each([
    { name: 'equal', given: SECRET, want: true },
    { name: 'a prefix', given: SECRET.slice(0, -1), want: false },
    { name: 'longer', given: `${SECRET}x`, want: false },
    { name: 'empty', given: '', want: false },
    { name: 'an agent token', given: agentToken(SECRET, 'a'), want: false },
  ])('$name → $want', ({ given, want }) => {
    expect(secretMatches(SECRET, given)).toBe(want);
  });
});

describe('bearerToken', () => {
  it.each([
    { header: 'Bearer abc.def', want: 'abc.def' },
    { header: 'Bearer ', want: undefined },
    { header: 'Basic abc', want: undefined },
    { header: 'bearer abc', want: undefined },
    { header: undefined, want: undefined },
  ])('$header → $want', ({ header, want }) => {
    expect(bearerToken(header)).toBe(want);
  });
});
