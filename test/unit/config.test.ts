import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig, usage } from '../../src/config.js';

describe('parseConfig', () => {
  it('has sensible defaults outside a pod', () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({ namespace: 'gateway-system', healthPort: 8080, leaderElect: false, logLevel: 'info', ingressClasses: [] });
    expect(config.controlPlaneUrl).toBeUndefined();
  });

  it('elects a leader by default in a pod', () => {
    expect(parseConfig([], { KUBERNETES_SERVICE_HOST: '10.0.0.1', GATEWAY_CLUSTER_NAME: 'prod-eu' }).leaderElect).toBe(true);
  });

  it('runs the operator unless the first argument names another command', () => {
    expect(parseConfig([], {}).command).toBe('run');
    expect(parseConfig(['run', '--log-level', 'debug'], {}).command).toBe('run');
    expect(parseConfig(['deregister', '--control-plane-url', 'https://cp.example.com'], {}).command).toBe('deregister');
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
    { name: 'boolean =false', argv: ['--leader-elect=false', '--cluster-name', 'a'], env: { KUBERNETES_SERVICE_HOST: 'x' }, expected: { leaderElect: false } },
    { name: 'cluster name from env in a pod', argv: [], env: { KUBERNETES_SERVICE_HOST: 'x', GATEWAY_CLUSTER_NAME: 'prod-eu' }, expected: { clusterName: 'prod-eu' } },
    { name: 'TLS files', argv: ['--ca-file', '/ca.pem', '--client-cert-file', '/c.pem', '--client-key-file', '/k.pem'], expected: { caFile: '/ca.pem', clientCertFile: '/c.pem', clientKeyFile: '/k.pem' } },
    { name: 'proxy from env', argv: [], env: { GATEWAY_PROXY_URL: 'http://proxy:3128' }, expected: { proxyUrl: 'http://proxy:3128' } },
    { name: 'deregister flags', argv: ['deregister', '--control-plane-url', 'http://cp', '--stop-deployment', 'gw', '--deregister-timeout-ms', '5000'], expected: { command: 'deregister', stopDeployment: 'gw', deregisterTimeoutMs: 5000 } },
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
    { argv: [], env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, message: /^--cluster-name: is required in a pod: set --cluster-name or GATEWAY_CLUSTER_NAME/ },
    { argv: ['deregister'], message: /^--control-plane-url: deregister needs the control plane URL/ },
    { argv: ['--log-level', 'info', 'deregister'], message: /^deregister: unexpected argument/ },
    { argv: ['--proxy-url', 'socks5://p:1080'], message: /^--proxy-url: must be an http:\/\/ or https:\/\/ URL/ },
    { argv: ['--client-cert-file', '/c.pem'], message: /^--client-key-file: give --client-cert-file and --client-key-file together/ },
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
