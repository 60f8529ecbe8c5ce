import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig, redactUserinfo, usage } from '../../src/config.js';

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

  it('has exactly these defaults', () => {
    expect(parseConfig([], {})).toEqual({
      command: 'run', deregisterTimeoutMs: 120_000, namespace: 'gateway-system', healthPort: 8080, leaderElect: false, leaseName: 'gateway-operator',
      leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
      ingressClasses: [], watchNamespaces: [], prometheusNamespaces: [], clusterDomain: 'cluster.local', serviceAddresses: [], tunnelTimeoutMs: 120_000, drainTimeoutMs: 15_000,
      allowCatchAll: false, gatewayControllerName: 'gateway.pipeops.io/tunnel', logLevel: 'info', concurrency: 4, maxFrameBytes: 16 * 1024 * 1024, reconnectMaxMs: 15_000, heartbeatIntervalMs: 30_000,
      ackTimeoutMs: 30_000, frameBudgetBytes: 1_048_576, inputs: [], output: 'table', help: false, version: false,
    });
  });

  // Values at and past the edges of each kind of flag: accepted ones give the value, refused ones the exact message.
  const edges: Array<{ argv: string[]; env?: Record<string, string>; value?: Record<string, unknown>; error?: string }> = [
    { argv: ['--health-port', '65535'], value: { healthPort: 65535 } },
    { argv: ['--health-port', '0'], value: { healthPort: 0 } },
    { argv: ['--health-port', '65536'], error: '--health-port: must be a whole number from 0 to 65535, got "65536"' },
    { argv: ['--concurrency', '1'], value: { concurrency: 1 } },
    { argv: ['--concurrency', '0'], error: '--concurrency: must be a whole number from 1 to 64, got "0"' },
    { argv: ['--concurrency', '64'], value: { concurrency: 64 } },
    { argv: ['--concurrency', '65'], error: '--concurrency: must be a whole number from 1 to 64, got "65"' },
    { argv: ['--health-port', '12a'], error: '--health-port: must be a whole number from 0 to 65535, got "12a"' },
    { argv: ['--health-port', 'a12'], error: '--health-port: must be a whole number from 0 to 65535, got "a12"' },
    { argv: ['--health-port', '1e3'], error: '--health-port: must be a whole number from 0 to 65535, got "1e3"' },
    { argv: ['--tunnel-timeout-ms', '9007199254740993'], error: '--tunnel-timeout-ms: must be a whole number from 100 to 3600000, got "9007199254740993"' },
    { argv: [], env: { GATEWAY_HEALTH_PORT: ' 9000\n' }, value: { healthPort: 9000 } },
    { argv: [], env: { GATEWAY_HEALTH_PORT: '' }, value: { healthPort: 8080 } },
    { argv: ['--leader-elect=YES'], value: { leaderElect: true } },
    { argv: ['--leader-elect=1'], value: { leaderElect: true } },
    { argv: ['--leader-elect=No'], value: { leaderElect: false } },
    { argv: ['--leader-elect=0'], value: { leaderElect: false } },
    { argv: ['--leader-elect=truex'], error: '--leader-elect: must be true or false, got "truex"' },
    { argv: ['--leader-elect=xtrue'], error: '--leader-elect: must be true or false, got "xtrue"' },
    { argv: ['--leader-elect=nope'], error: '--leader-elect: must be true or false, got "nope"' },
    { argv: ['--leader-elect=xno'], error: '--leader-elect: must be true or false, got "xno"' },
    { argv: ['--token='], error: '--token: must not be empty' },
    { argv: ['--watch-namespaces', ' a , ,b '], value: { watchNamespaces: ['a', 'b'] } },
    { argv: ['--token-file', '/t'], value: { tokenFile: '/t' } },
    { argv: ['--token', 't'], value: { token: 't' } },
    { argv: ['--client-key-file', '/k.pem'], error: '--client-cert-file: give --client-cert-file and --client-key-file together' },
    { argv: ['--control-plane-url', 'ftp://x'], error: '--control-plane-url: must use http, https, ws or wss, got "ftp:"' },
    { argv: ['--control-plane-url', 'wss://cp.example.com'], value: { controlPlaneUrl: 'wss://cp.example.com' } },
    { argv: ['--proxy-url', 'not a url'], error: '--proxy-url: must be an http:// or https:// URL, got "not a url"' },
    { argv: ['--proxy-url', 'socks5://alice:s3cret@p:1080'], error: '--proxy-url: must be an http:// or https:// URL, got "socks5://***@p:1080"' },
    // A password with a character that ends the authority (#, /, ?, @) unescaped: never echoed, up to the last "@".
    { argv: ['--proxy-url', 'http://alice:s3cr#t@proxy:3128'], error: '--proxy-url: must be an http:// or https:// URL, got "http://***@proxy:3128"' },
    { argv: ['--proxy-url', 'socks5://alice:p/ss@p:1080'], error: '--proxy-url: must be an http:// or https:// URL, got "socks5://***@p:1080"' },
    { argv: ['--proxy-url', 'http://alice:p?ss@proxy:3128'], error: '--proxy-url: must be an http:// or https:// URL, got "http://***@proxy:3128"' },
    { argv: ['--proxy-url', 'socks5://alice:p@ss@p:1080'], error: '--proxy-url: must be an http:// or https:// URL, got "socks5://***@p:1080"' },
    { argv: ['--proxy-url', 'http:\\\\alice:s3cr#t@proxy:3128'], error: '--proxy-url: must be an http:// or https:// URL, got "http:\\\\***@proxy:3128"' },
    { argv: ['--proxy-url', 'socks5://alice:p%40ss@p:1080'], error: '--proxy-url: must be an http:// or https:// URL, got "socks5://***@p:1080"' },
    { argv: ['--proxy-url', 'socks5://alice@p:1080'], error: '--proxy-url: must be an http:// or https:// URL, got "socks5://***@p:1080"' },
    { argv: ['--proxy-url', 'socks5://alice:s3cret@[2001:db8::1]:1080'], error: '--proxy-url: must be an http:// or https:// URL, got "socks5://***@[2001:db8::1]:1080"' },
    { argv: ['--proxy-url', 'alice:s3cret@proxy:3128'], error: '--proxy-url: must be an http:// or https:// URL, got "***@proxy:3128"' },
    { argv: ['--proxy-url', 'http://alice:p%40ss@proxy:3128'], value: { proxyUrl: 'http://alice:p%40ss@proxy:3128' } },
    { argv: ['--proxy-url', 'http://alice:s3cret@[2001:db8::1]:3128'], value: { proxyUrl: 'http://alice:s3cret@[2001:db8::1]:3128' } },
    { argv: ['--proxy-url', 'https://proxy:3128'], value: { proxyUrl: 'https://proxy:3128' } },
    { argv: ['--namespace', 'Ops'], error: '--namespace: "Ops" is not a valid namespace name' },
    { argv: ['--namespace', 'ops-1'], value: { namespace: 'ops-1' } },
    { argv: ['--watch-namespaces', 'a,b-c'], value: { watchNamespaces: ['a', 'b-c'] } },
    { argv: ['--service-address', 'shop/web=127.0.0.1:8080', '--service-address', 'a-1/b-2=localhost:1'], value: { serviceAddresses: ['shop/web=127.0.0.1:8080', 'a-1/b-2=localhost:1'] } },
    ...['web=127.0.0.1:8080', 'shop/web=127.0.0.1', 'shop/web=h:123456', 'shop/web=:80', 'shop/web=h:8a', 'Shop/web=h:1', 'x shop/web=h:1', 'shop/=h:1', '/web=h:1', 'shop/web=a b:1', 'shop/web=h=1:1', 'shop/web=h:99999', 'shop/web=h:0']
      .map((entry) => ({ argv: ['--service-address', entry], error: `--service-address: "${entry}" is not namespace/service=host:port (port 1-65535)` })),
    { argv: ['--log-level', 'info', 'run'], error: 'run: unexpected argument (see --help)' },
    { argv: ['--bogus'], error: '--bogus: unknown flag (see --help)' },
    { argv: ['deregister', '--control-plane-url', 'http://cp'], value: { command: 'deregister' } },
    { argv: ['--ingress-status-address', 'gateway.example.com'], value: { ingressStatusAddress: { hostname: 'gateway.example.com' } } },
    { argv: ['--ingress-status-address=203.0.113.10'], value: { ingressStatusAddress: { ip: '203.0.113.10' } } },
    { argv: [], env: { GATEWAY_INGRESS_STATUS_ADDRESS: '2001:db8::10' }, value: { ingressStatusAddress: { ip: '2001:db8::10' } } },
    { argv: ['--ingress-status-address', 'gw.example.com'], env: { GATEWAY_INGRESS_STATUS_ADDRESS: '203.0.113.10' }, value: { ingressStatusAddress: { hostname: 'gw.example.com' } } },
    { argv: ['--ingress-status-address', 'https://gw.example.com'], error: '--ingress-status-address: "https://gw.example.com" is neither an IP address nor a lower-case DNS name of at most 253 characters (no scheme, port or path), e.g. gateway.example.com or 203.0.113.10' },
    { argv: ['--ingress-status-address', 'gw.example.com:443'], error: '--ingress-status-address: "gw.example.com:443" is neither an IP address nor a lower-case DNS name of at most 253 characters (no scheme, port or path), e.g. gateway.example.com or 203.0.113.10' },
    { argv: ['--ingress-status-address', '0.0.0.0'], error: '--ingress-status-address: ip "0.0.0.0" is the unspecified address' },
    { argv: [], env: { GATEWAY_INGRESS_STATUS_ADDRESS: '10.0.0.256' }, error: '$GATEWAY_INGRESS_STATUS_ADDRESS: ip "10.0.0.256" is not an IPv4 or IPv6 address' },
    { argv: ['--ingress-status-address'], error: '--ingress-status-address: needs a value' },
    // Leader election timings: Go durations as controller-runtime's flags take them, each also from its env var.
    { argv: ['--leader-elect-lease-duration', '30s', '--leader-elect-renew-deadline=20s', '--leader-elect-retry-period', '4s'], value: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4_000 } },
    { argv: ['--leader-elect-lease-duration=1m30s', '--leader-elect-renew-deadline=1.5s', '--leader-elect-retry-period=500ms'], value: { leaseDurationMs: 90_000, renewDeadlineMs: 1_500, retryPeriodMs: 500 } },
    { argv: ['--leader-elect-lease-duration=1h'], value: { leaseDurationMs: 3_600_000 } },
    {
      argv: [],
      env: { GATEWAY_LEADER_ELECT_LEASE_DURATION: '60s', GATEWAY_LEADER_ELECT_RENEW_DEADLINE: '40s', GATEWAY_LEADER_ELECT_RETRY_PERIOD: '5s' },
      value: { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 5_000 },
    },
    { argv: ['--leader-elect-retry-period=3s'], env: { GATEWAY_LEADER_ELECT_RETRY_PERIOD: '9s' }, value: { retryPeriodMs: 3_000 } },
    { argv: ['--leader-elect-lease-duration', '15'], error: '--leader-elect-lease-duration: must be a duration such as 15s or 1m30s, from 1s to 3600s, got "15"' },
    { argv: ['--leader-elect-lease-duration', '-15s'], error: '--leader-elect-lease-duration: must be a duration such as 15s or 1m30s, from 1s to 3600s, got "-15s"' },
    { argv: ['--leader-elect-lease-duration', '15 s'], error: '--leader-elect-lease-duration: must be a duration such as 15s or 1m30s, from 1s to 3600s, got "15 s"' },
    { argv: ['--leader-elect-lease-duration', '999ms'], error: '--leader-elect-lease-duration: must be a duration such as 15s or 1m30s, from 1s to 3600s, got "999ms"' },
    { argv: ['--leader-elect-lease-duration', '61m'], error: '--leader-elect-lease-duration: must be a duration such as 15s or 1m30s, from 1s to 3600s, got "61m"' },
    { argv: ['--leader-elect-retry-period', '99ms'], error: '--leader-elect-retry-period: must be a duration such as 15s or 1m30s, from 100ms to 3600s, got "99ms"' },
    { argv: [], env: { GATEWAY_LEADER_ELECT_RENEW_DEADLINE: 'soon' }, error: '$GATEWAY_LEADER_ELECT_RENEW_DEADLINE: must be a duration such as 15s or 1m30s, from 1s to 3600s, got "soon"' },
    // renew deadline < lease duration, retry period < renew deadline: else exit 2 naming both flags.
    { argv: ['--leader-elect-renew-deadline', '15s'], error: '--leader-elect-renew-deadline: must be shorter than --leader-elect-lease-duration, got 15s and 15s' },
    { argv: ['--leader-elect-lease-duration', '5s'], error: '--leader-elect-renew-deadline: must be shorter than --leader-elect-lease-duration, got 10s and 5s' },
    { argv: ['--leader-elect-retry-period', '10s'], error: '--leader-elect-retry-period: must be shorter than --leader-elect-renew-deadline, got 10s and 10s' },
    { argv: ['--leader-elect-renew-deadline', '1500ms', '--leader-elect-retry-period', '2s'], error: '--leader-elect-retry-period: must be shorter than --leader-elect-renew-deadline, got 2s and 1500ms' },
    { argv: ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2999ms', '--leader-elect-retry-period', '2998ms'], value: { leaseDurationMs: 3_000, renewDeadlineMs: 2_999, retryPeriodMs: 2_998 } },
  ];
  it.each(edges)('$argv $env', ({ argv, env, value, error }) => {
    if (error) {
      expect(() => parseConfig(argv, env ?? {})).toThrow(new ConfigError(error.slice(0, error.indexOf(':')), error.slice(error.indexOf(':') + 2)));
      try {
        parseConfig(argv, env ?? {});
      } catch (err) {
        expect(err).toMatchObject({ name: 'ConfigError', message: error });
      }
    } else {
      expect(parseConfig(argv, env ?? {})).toMatchObject(value as Record<string, unknown>);
    }
  });

  it('prints usage with the commands, then every flag padded to one column with its env var', () => {
    const lines = usage().split('\n');
    expect(lines.slice(0, 12)).toEqual([
      'Usage: gateway-operator [run|deregister] [flags]',
      '       gateway-operator preview [flags] FILE|DIR|- ...',
      '',
      'Commands:',
      '  run          reconcile Ingresses and GatewayRoutes and sync them to the control plane (default)',
      "  deregister   wait until no operator holds the leader Lease, then tell the control plane that this cluster's",
      '               routes are gone (empty snapshot); for uninstalling',
      '  preview      print the GatewayRoutes and conditions the operator would write for the Ingresses, HTTPRoutes,',
      '               Services, Gateways and GatewayClasses in YAML files, directories or stdin (-), with no cluster;',
      '               exit 1 when one would be Stalled or drops a path, 2 when an input cannot be read',
      '',
      'Flags (each also read from the environment variable in brackets):',
    ]);
    expect(lines).toContain('  --kubeconfig             kubeconfig file (default: in-cluster in a pod, else ~/.kube/config) [$KUBECONFIG]');
    expect(lines).toContain('  --help                   print this help');
    expect(lines).toContain(
      '  --leader-elect-lease-duration a standby takes over a Lease its holder has not renewed for this long (default 15s) [$GATEWAY_LEADER_ELECT_LEASE_DURATION]',
    );
  });

  describe('preview', () => {
    it.each<[string, string[], Record<string, string>, Record<string, unknown>]>([
      ['files, directories and - (stdin) as inputs, flags anywhere', ['preview', 'a.yaml', '--output', 'json', '-', 'dir'], {}, { command: 'preview', inputs: ['a.yaml', '-', 'dir'], output: 'json' }],
      ['-o as kubectl spells it', ['preview', '-o', 'yaml', 'a.yaml'], {}, { output: 'yaml' }],
      ['-o=', ['preview', '-o=json', 'a.yaml'], {}, { output: 'json' }],
      ["the operator's selection flags", ['preview', '--ingress-class', 'tunnel', '--allow-catch-all', '--gateway-controller-name', 'example.com/gw', 'a.yaml'], {}, { ingressClasses: ['tunnel'], allowCatchAll: true, gatewayControllerName: 'example.com/gw' }],
      ['and their environment variables', ['preview', 'a.yaml'], { GATEWAY_INGRESS_CLASSES: 'a,b', GATEWAY_ALLOW_CATCH_ALL: 'true' }, { ingressClasses: ['a', 'b'], allowCatchAll: true }],
      ['no --cluster-name needed in a pod (a CI job may run in one)', ['preview', 'a.yaml'], { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, { command: 'preview' }],
    ])('%s', (_name, argv, env, expected) => {
      expect(parseConfig(argv, env)).toMatchObject(expected);
    });

    it.each<[string[], RegExp]>([
      [['preview'], /^preview: give the manifests to read: files, directories, or - for stdin$/],
      [['preview', 'a.yaml', '--output', 'wide'], /^--output: must be one of table, yaml, json, got "wide"$/],
      [['preview', 'a.yaml', '-x'], /^-x: unknown flag/],
      [['run', 'a.yaml'], /^a\.yaml: unexpected argument/],
      [['preview', 'a.yaml', '--gateway-controller-name', 'nodomain'], /^--gateway-controller-name: "nodomain" is not a domain-prefixed path/],
    ])('refuses %j', (argv, message) => {
      expect(() => parseConfig(argv, {})).toThrow(message);
    });
  });

  it('documents every flag with its env var', () => {
    expect(usage()).toContain('--control-plane-url');
    expect(usage()).toContain('[$GATEWAY_CONTROL_PLANE_URL]');
  });
});

describe('redactUserinfo: the password is never shown, however the URL is spelt', () => {
  it.each<{ url: string; shown: string; secret?: string }>([
    { url: 'http://alice:s3cr#t@proxy:3128', shown: 'http://***@proxy:3128', secret: 's3cr' },
    { url: 'socks5://alice:p/ss@p:1080', shown: 'socks5://***@p:1080', secret: 'p/ss' },
    { url: 'https://alice:p?ss@proxy:3128/', shown: 'https://***@proxy:3128/', secret: 'p?ss' },
    { url: 'http://alice:p@ss@proxy:3128', shown: 'http://***@proxy:3128', secret: 'ss@' },
    { url: 'http://alice:p%40ss@proxy:3128', shown: 'http://***@proxy:3128', secret: 'p%40ss' },
    { url: 'http://alice@proxy:3128', shown: 'http://***@proxy:3128', secret: 'alice' },
    { url: 'http://alice:s3cret@[2001:db8::1]:3128', shown: 'http://***@[2001:db8::1]:3128', secret: 's3cret' },
    { url: 'http://alice:s3cret@', shown: 'http://***@', secret: 's3cret' },
    { url: 'alice:s3cret@proxy:3128', shown: '***@proxy:3128', secret: 's3cret' },
    { url: 'HTTP://alice:s3cret@proxy:3128', shown: 'HTTP://***@proxy:3128', secret: 's3cret' },
    { url: 'http:\\\\alice:s3cr#t@proxy:3128', shown: 'http:\\\\***@proxy:3128', secret: 's3cr' },
    // Nothing to hide: shown as given.
    { url: 'http://proxy:3128', shown: 'http://proxy:3128' },
    { url: 'http://[2001:db8::1]:3128', shown: 'http://[2001:db8::1]:3128' },
    { url: 'not a url', shown: 'not a url' },
    // An "@" in a path hides what comes before it: wrong the safe way.
    { url: 'http://proxy:3128/a@b', shown: 'http://***@b' },
  ])('$url → $shown', ({ url, shown, secret }) => {
    expect(redactUserinfo(url)).toBe(shown);
    if (secret) expect(redactUserinfo(url)).not.toContain(secret);
  });
});
