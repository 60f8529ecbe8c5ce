import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig, usage } from '../../src/config.js';

describe('parseConfig', () => {
  it('has sensible defaults outside a pod', () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({ namespace: 'gateway-system', healthPort: 8080, leaderElect: false, logLevel: 'info', ingressClasses: [] });
    expect(config.controlPlaneUrl).toBeUndefined();
  });

  it('elects a leader by default in a pod', () => {
    expect(parseConfig([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).leaderElect).toBe(true);
  });

  const cases: Array<{ name: string; argv: string[]; env?: Record<string, string>; expected: Record<string, unknown> }> = [
    { name: 'flag with space', argv: ['--health-port', '9000'], expected: { healthPort: 9000 } },
    { name: 'flag with =', argv: ['--health-port=9001'], expected: { healthPort: 9001 } },
    { name: 'env var', argv: [], env: { GATEWAY_HEALTH_PORT: '9002' }, expected: { healthPort: 9002 } },
    { name: 'flag beats env', argv: ['--log-level', 'debug'], env: { LOG_LEVEL: 'warn' }, expected: { logLevel: 'debug' } },
    { name: 'repeatable list flag', argv: ['--ingress-class', 'nginx', '--ingress-class=traefik'], expected: { ingressClasses: ['nginx', 'traefik'] } },
    { name: 'list from env', argv: [], env: { GATEWAY_INGRESS_CLASSES: 'a, b' }, expected: { ingressClasses: ['a', 'b'] } },
    { name: 'flag list replaces env list', argv: ['--ingress-class', 'c'], env: { GATEWAY_INGRESS_CLASSES: 'a' }, expected: { ingressClasses: ['c'] } },
    { name: 'bare boolean', argv: ['--leader-elect'], expected: { leaderElect: true } },
    { name: 'boolean =false', argv: ['--leader-elect=false'], env: { KUBERNETES_SERVICE_HOST: 'x' }, expected: { leaderElect: false } },
    { name: 'namespace from POD_NAMESPACE', argv: [], env: { POD_NAMESPACE: 'ops' }, expected: { namespace: 'ops' } },
    { name: 'control plane url', argv: ['--control-plane-url', 'https://cp.example.com'], expected: { controlPlaneUrl: 'https://cp.example.com' } },
  ];
  it.each(cases)('$name', ({ argv, env, expected }) => {
    expect(parseConfig(argv, env ?? {})).toMatchObject(expected);
  });

  const errors: Array<{ argv: string[]; env?: Record<string, string>; message: RegExp }> = [
    { argv: ['--bogus'], message: /^--bogus: unknown flag/ },
    { argv: ['stray'], message: /^stray: unexpected argument/ },
    { argv: ['--health-port', 'abc'], message: /^--health-port: must be a whole number from 0 to 65535, got "abc"/ },
    { argv: ['--health-port', '70000'], message: /^--health-port: must be a whole number/ },
    { argv: ['--health-port'], message: /^--health-port: needs a value/ },
    { argv: [], env: { GATEWAY_HEALTH_PORT: '-1' }, message: /^\$GATEWAY_HEALTH_PORT: must be a whole number/ },
    { argv: ['--leader-elect=maybe'], message: /^--leader-elect: must be true or false/ },
    { argv: ['--log-level', 'loud'], message: /^--log-level: must be one of error, warn, info, debug/ },
    { argv: ['--control-plane-url', 'not a url'], message: /^--control-plane-url: must be an absolute URL/ },
    { argv: ['--control-plane-url', 'ftp://x'], message: /^--control-plane-url: must use http, https, ws or wss/ },
    { argv: ['--token', 'a', '--token-file', '/x'], message: /^--token-file: give --token or --token-file, not both/ },
    { argv: ['--watch-namespaces', 'Bad_NS'], message: /^--watch-namespaces: "Bad_NS" is not a valid namespace name/ },
  ];
  it.each(errors)('rejects $argv $env', ({ argv, env, message }) => {
    let error: unknown;
    try {
      parseConfig(argv, env ?? {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('documents every flag with its env var', () => {
    expect(usage()).toContain('--control-plane-url');
    expect(usage()).toContain('[$GATEWAY_CONTROL_PLANE_URL]');
  });
});
