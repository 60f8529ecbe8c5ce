// Command line + environment → a validated, typed Config, once, before anything touches the cluster.
// Every flag also reads an env var; the flag wins. Pure: takes argv and env, throws ConfigError.
import { parseGatewayAddress, type GatewayAddress } from './controlplane/protocol.js';
import { DEFAULT_GATEWAY_CONTROLLER_NAME } from './gatewayapi/types.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

export class ConfigError extends Error {
  constructor(readonly flag: string, message: string) {
    super(`${flag}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * `run` (the operator), `deregister` (tell the control plane this cluster's routes are gone) or `preview`
 * (the GatewayRoutes some manifests would give, with no cluster).
 */
export type Command = 'run' | 'deregister' | 'preview';
export const COMMANDS: readonly Command[] = ['run', 'deregister', 'preview'];

export type PreviewOutput = 'table' | 'yaml' | 'json';
export const PREVIEW_OUTPUTS: readonly PreviewOutput[] = ['table', 'yaml', 'json'];

export interface Config {
  command: Command;
  kubeconfig?: string;
  controlPlaneUrl?: string;
  token?: string;
  tokenFile?: string;
  clusterName?: string;
  caFile?: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  proxyUrl?: string;
  stopDeployment?: string;
  deregisterTimeoutMs: number;
  namespace: string;
  healthPort: number;
  leaderElect: boolean;
  leaseName: string;
  /** Leader election timings, as client-go's: a standby takes over a Lease unrenewed this long. */
  leaseDurationMs: number;
  /** The leader gives up when it could not renew within this. */
  renewDeadlineMs: number;
  /** How often the leader renews and a standby retries. */
  retryPeriodMs: number;
  ingressClasses: string[];
  watchNamespaces: string[];
  ingressSelector?: string;
  prometheusNamespaces: string[];
  clusterDomain: string;
  serviceAddresses: string[];
  tunnelTimeoutMs: number;
  /** On SIGTERM: how long requests in flight may take to finish before the socket closes (see GatewayOperator.stop). */
  drainTimeoutMs: number;
  allowCatchAll: boolean;
  gatewayControllerName: string;
  /** Overrides the address the control plane tells for Ingresses of our IngressClass. */
  ingressStatusAddress?: GatewayAddress;
  logLevel: LogLevel;
  concurrency: number;
  maxFrameBytes: number;
  reconnectMaxMs: number;
  heartbeatIntervalMs: number;
  ackTimeoutMs: number;
  frameBudgetBytes: number;
  /** preview: files, directories, or "-" for stdin. */
  inputs: string[];
  output: PreviewOutput;
  help: boolean;
  version: boolean;
}

type Kind = 'string' | 'list' | 'bool' | 'int' | 'duration' | 'address';
interface FlagSpec {
  key: keyof Config;
  env?: string;
  kind: Kind;
  help: string;
  /** int: the bounds; duration: the bounds in milliseconds. */
  min?: number;
  max?: number;
}

const FLAGS: Record<string, FlagSpec> = {
  '--kubeconfig': { key: 'kubeconfig', env: 'KUBECONFIG', kind: 'string', help: 'kubeconfig file (default: in-cluster in a pod, else ~/.kube/config)' },
  '--control-plane-url': { key: 'controlPlaneUrl', env: 'GATEWAY_CONTROL_PLANE_URL', kind: 'string', help: 'control plane base URL (http[s]://...); none: routes are reconciled but not synced' },
  '--token': { key: 'token', env: 'GATEWAY_TOKEN', kind: 'string', help: 'bearer token for the control plane' },
  '--token-file': { key: 'tokenFile', env: 'GATEWAY_TOKEN_FILE', kind: 'string', help: 'file holding the bearer token (re-read on every connect, and when it changes after a 401/403)' },
  '--cluster-name': { key: 'clusterName', env: 'GATEWAY_CLUSTER_NAME', kind: 'string', help: "cluster name to register; required in a pod (outside one: the kubeconfig's current cluster)" },
  '--ca-file': { key: 'caFile', env: 'GATEWAY_CA_FILE', kind: 'string', help: 'extra CA bundle (PEM) trusted for a wss:// control plane, besides the system CAs' },
  '--client-cert-file': { key: 'clientCertFile', env: 'GATEWAY_CLIENT_CERT_FILE', kind: 'string', help: 'client certificate (PEM) for a wss:// control plane that asks for one' },
  '--client-key-file': { key: 'clientKeyFile', env: 'GATEWAY_CLIENT_KEY_FILE', kind: 'string', help: 'key (PEM) of --client-cert-file' },
  '--proxy-url': { key: 'proxyUrl', env: 'GATEWAY_PROXY_URL', kind: 'string', help: 'HTTP(S) proxy for the control-plane connection only (http://[user:pass@]host:port)' },
  '--namespace': { key: 'namespace', env: 'POD_NAMESPACE', kind: 'string', help: 'namespace of the Lease, the state ConfigMap and operator Events (default gateway-system)' },
  '--health-port': { key: 'healthPort', env: 'GATEWAY_HEALTH_PORT', kind: 'int', min: 0, max: 65535, help: 'port of /healthz, /readyz and /metrics (default 8080; 0 picks a free one)' },
  '--leader-elect': { key: 'leaderElect', env: 'GATEWAY_LEADER_ELECT', kind: 'bool', help: 'elect one active replica through a Lease (default true in a pod)' },
  '--lease-name': { key: 'leaseName', env: 'GATEWAY_LEASE_NAME', kind: 'string', help: 'name of the leader-election Lease (default gateway-operator)' },
  '--leader-elect-lease-duration': {
    key: 'leaseDurationMs',
    env: 'GATEWAY_LEADER_ELECT_LEASE_DURATION',
    kind: 'duration',
    min: 1_000,
    max: 3_600_000,
    help: 'a standby takes over a Lease its holder has not renewed for this long (default 15s)',
  },
  '--leader-elect-renew-deadline': {
    key: 'renewDeadlineMs',
    env: 'GATEWAY_LEADER_ELECT_RENEW_DEADLINE',
    kind: 'duration',
    min: 1_000,
    max: 3_600_000,
    help: 'the leader stops working when it could not renew the Lease for this long; shorter than the lease duration (default 10s)',
  },
  '--leader-elect-retry-period': {
    key: 'retryPeriodMs',
    env: 'GATEWAY_LEADER_ELECT_RETRY_PERIOD',
    kind: 'duration',
    min: 100,
    max: 3_600_000,
    help: 'how often the leader renews and a standby tries to acquire; shorter than the renew deadline (default 2s)',
  },
  '--ingress-class': { key: 'ingressClasses', env: 'GATEWAY_INGRESS_CLASSES', kind: 'list', help: 'only Ingresses of this class (repeatable; env: comma-separated)' },
  '--watch-namespaces': { key: 'watchNamespaces', env: 'GATEWAY_WATCH_NAMESPACES', kind: 'list', help: "only these namespaces' Ingresses, HTTPRoutes, the Services they route to and GatewayRoutes (comma-separated; default all); Gateways, GatewayClasses, ReferenceGrants, Namespaces, IngressClasses and connectivity detection stay cluster-wide" },
  '--ingress-selector': { key: 'ingressSelector', env: 'GATEWAY_INGRESS_SELECTOR', kind: 'string', help: 'only Ingresses matching this label selector' },
  '--prometheus-namespaces': { key: 'prometheusNamespaces', env: 'GATEWAY_PROMETHEUS_NAMESPACES', kind: 'list', help: 'namespaces to look for Prometheus in (comma-separated; default all)' },
  '--cluster-domain': { key: 'clusterDomain', env: 'GATEWAY_CLUSTER_DOMAIN', kind: 'string', help: 'cluster DNS domain for tunnel targets (default cluster.local)' },
  '--service-address': { key: 'serviceAddresses', env: 'GATEWAY_SERVICE_ADDRESSES', kind: 'list', help: 'namespace/service=host:port to reach a Service without cluster DNS (repeatable; local runs)' },
  '--tunnel-timeout-ms': { key: 'tunnelTimeoutMs', env: 'GATEWAY_TUNNEL_TIMEOUT_MS', kind: 'int', min: 100, max: 3_600_000, help: 'default timeout of a tunnelled request (default 120000)' },
  '--drain-timeout-ms': { key: 'drainTimeoutMs', env: 'GATEWAY_DRAIN_TIMEOUT_MS', kind: 'int', min: 0, max: 3_600_000, help: 'on SIGTERM, how long tunnelled requests in flight may take to finish; keep it below the pod\'s terminationGracePeriodSeconds minus 10 s (default 15000)' },
  '--allow-catch-all': { key: 'allowCatchAll', env: 'GATEWAY_ALLOW_CATCH_ALL', kind: 'bool', help: 'route rules without a host and defaultBackends as catch-all routes' },
  '--gateway-controller-name': {
    key: 'gatewayControllerName',
    env: 'GATEWAY_CONTROLLER_NAME',
    kind: 'string',
    help: 'serve HTTPRoutes of Gateways whose GatewayClass, and Ingresses whose IngressClass, has this controller name (default gateway.pipeops.io/tunnel)',
  },
  '--ingress-status-address': {
    key: 'ingressStatusAddress',
    env: 'GATEWAY_INGRESS_STATUS_ADDRESS',
    kind: 'address',
    help: "hostname or IP that Ingresses of our IngressClass show as their address (default: the control plane's, told at registration)",
  },
  '--log-level': { key: 'logLevel', env: 'LOG_LEVEL', kind: 'string', help: `log level: ${LOG_LEVELS.join(', ')} (default info)` },
  '--concurrency': { key: 'concurrency', env: 'GATEWAY_CONCURRENCY', kind: 'int', min: 1, max: 64, help: 'reconciles in flight per controller (default 4)' },
  '--max-frame-bytes': { key: 'maxFrameBytes', env: 'GATEWAY_MAX_FRAME_BYTES', kind: 'int', min: 1024, max: 1 << 30, help: 'largest WebSocket frame accepted (default 16 MiB)' },
  '--reconnect-max-ms': { key: 'reconnectMaxMs', env: 'GATEWAY_RECONNECT_MAX_MS', kind: 'int', min: 100, max: 600_000, help: 'cap of the reconnect backoff (default 15000)' },
  '--ack-timeout-ms': { key: 'ackTimeoutMs', env: 'GATEWAY_ACK_TIMEOUT_MS', kind: 'int', min: 500, max: 600_000, help: 'a route message unanswered this long is reported (warning, Synced message); it is not resent: the socket keeps order (default 30000)' },
  '--frame-budget-bytes': { key: 'frameBudgetBytes', env: 'GATEWAY_FRAME_BUDGET_BYTES', kind: 'int', min: 64 * 1024, max: 64 * 1024 * 1024, help: 'route snapshots are cut into frames of at most this size (default 1048576)' },
  '--heartbeat-interval-ms': { key: 'heartbeatIntervalMs', env: 'GATEWAY_HEARTBEAT_INTERVAL_MS', kind: 'int', min: 100, max: 600_000, help: 'heartbeat period (default 30000)' },
  '--stop-deployment': { key: 'stopDeployment', env: 'GATEWAY_STOP_DEPLOYMENT', kind: 'string', help: 'deregister: first scale this Deployment in --namespace to 0 (the Helm uninstall hook)' },
  '--deregister-timeout-ms': { key: 'deregisterTimeoutMs', env: 'GATEWAY_DEREGISTER_TIMEOUT_MS', kind: 'int', min: 1_000, max: 3_600_000, help: 'deregister: give up after this long (default 120000)' },
  '--output': { key: 'output', kind: 'string', help: `preview: ${PREVIEW_OUTPUTS.join(', ')} (default table; also -o)` },
  '--help': { key: 'help', kind: 'bool', help: 'print this help' },
  '--version': { key: 'version', kind: 'bool', help: 'print the version' },
};

/** Short forms, as kubectl users type them. */
const ALIASES = new Map([['-o', '--output']]);

export function usage(): string {
  const lines = Object.entries(FLAGS).map(([flag, spec]) => {
    const env = spec.env ? ` [$${spec.env}]` : '';
    return `  ${flag.padEnd(24)} ${spec.help}${env}`;
  });
  return [
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
    ...lines,
  ].join('\n');
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A Go duration as Kubernetes components take them ("15s", "1m30s", "1.5s", "500ms") in milliseconds; else undefined. */
export function parseDuration(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(amount) * (DURATION_UNITS_MS[unit as string] as number);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Milliseconds as the shortest of "15s" or "1500ms", for messages. */
export function formatDuration(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

function convert(flag: string, spec: FlagSpec, raw: string): unknown {
  switch (spec.kind) {
    case 'string':
      if (raw === '') throw new ConfigError(flag, 'must not be empty');
      return raw;
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'bool':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      throw new ConfigError(flag, `must be true or false, got "${raw}"`);
    case 'int': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < (spec.min ?? 0) || n > (spec.max ?? Number.MAX_SAFE_INTEGER)) {
        throw new ConfigError(flag, `must be a whole number from ${spec.min} to ${spec.max}, got "${raw}"`);
      }
      return n;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      const [min, max] = [spec.min ?? 0, spec.max ?? Number.MAX_SAFE_INTEGER];
      if (ms === undefined || ms < min || ms > max) {
        throw new ConfigError(flag, `must be a duration such as 15s or 1m30s, from ${formatDuration(min)} to ${formatDuration(max)}, got "${raw}"`);
      }
      return ms;
    }
    case 'address': {
      const parsed = parseGatewayAddress(raw);
      if (!parsed.ok) throw new ConfigError(flag, parsed.error);
      return parsed.address;
    }
  }
}

export interface Environment {
  [name: string]: string | undefined;
}

export function parseConfig(argv: readonly string[], env: Environment, inPod = !!env.KUBERNETES_SERVICE_HOST): Config {
  const config: Config = {
    command: 'run',
    deregisterTimeoutMs: 120_000,
    namespace: 'gateway-system',
    healthPort: 8080,
    leaderElect: inPod,
    leaseName: 'gateway-operator',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    ingressClasses: [],
    watchNamespaces: [],
    prometheusNamespaces: [],
    clusterDomain: 'cluster.local',
    serviceAddresses: [],
    tunnelTimeoutMs: 120_000,
    drainTimeoutMs: 15_000,
    allowCatchAll: false,
    gatewayControllerName: DEFAULT_GATEWAY_CONTROLLER_NAME,
    logLevel: 'info',
    concurrency: 4,
    maxFrameBytes: 16 * 1024 * 1024,
    reconnectMaxMs: 15_000,
    heartbeatIntervalMs: 30_000,
    ackTimeoutMs: 30_000,
    frameBudgetBytes: 1024 * 1024,
    inputs: [],
    output: 'table',
    help: false,
    version: false,
  };
  const set = (flag: string, spec: FlagSpec, raw: string, append: boolean): void => {
    const value = convert(flag, spec, raw);
    const target = config as unknown as Record<string, unknown>;
    target[spec.key] = append && spec.kind === 'list' ? [...(target[spec.key] as string[]), ...(value as string[])] : value;
  };

  for (const [flag, spec] of Object.entries(FLAGS)) {
    const raw = spec.env ? env[spec.env] : undefined;
    if (raw !== undefined && raw !== '') set(`$${spec.env}`, spec, raw, false);
  }
  const fromFlags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (i === 0 && (COMMANDS as readonly string[]).includes(arg)) {
      config.command = arg as Command;
      continue;
    }
    // preview's inputs: anything that is not a flag, and "-" (stdin).
    if (config.command === 'preview' && (arg === '-' || !arg.startsWith('-'))) {
      config.inputs.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const written = eq === -1 ? arg : arg.slice(0, eq);
    const flag = ALIASES.get(written) ?? written;
    const spec = FLAGS[flag];
    if (!spec) throw new ConfigError(flag, arg.startsWith('-') ? 'unknown flag (see --help)' : 'unexpected argument (see --help)');
    let raw: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (raw === undefined) {
      if (spec.kind === 'bool') raw = 'true';
      else if (i + 1 < argv.length) raw = argv[++i] as string;
      else throw new ConfigError(flag, 'needs a value');
    }
    // A repeated list flag appends; the first use replaces what the environment said.
    set(flag, spec, raw, fromFlags.has(flag));
    fromFlags.add(flag);
  }

  if (!LOG_LEVELS.includes(config.logLevel)) {
    throw new ConfigError('--log-level', `must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  }
  if (config.controlPlaneUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(config.controlPlaneUrl);
    } catch {
      throw new ConfigError('--control-plane-url', `must be an absolute URL, got "${config.controlPlaneUrl}"`);
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
      throw new ConfigError('--control-plane-url', `must use http, https, ws or wss, got "${url.protocol}"`);
    }
  }
  if (config.proxyUrl !== undefined) {
    let proxy: URL | undefined;
    try {
      proxy = new URL(config.proxyUrl);
    } catch {
      // reported below
    }
    if (!proxy || !['http:', 'https:'].includes(proxy.protocol)) {
      throw new ConfigError('--proxy-url', `must be an http:// or https:// URL, got "${redactUserinfo(config.proxyUrl)}"`);
    }
  }
  if ((config.clientCertFile === undefined) !== (config.clientKeyFile === undefined)) {
    throw new ConfigError(config.clientCertFile ? '--client-key-file' : '--client-cert-file', 'give --client-cert-file and --client-key-file together');
  }
  if (!PREVIEW_OUTPUTS.includes(config.output)) {
    throw new ConfigError('--output', `must be one of ${PREVIEW_OUTPUTS.join(', ')}, got "${config.output}"`);
  }
  if (config.command === 'preview' && config.inputs.length === 0 && !config.help) {
    throw new ConfigError('preview', 'give the manifests to read: files, directories, or - for stdin');
  }
  // In a pod the kubeconfig's cluster is client-node's "inCluster" everywhere: two clusters installed with
  // defaults would register as the same one, so the name must be given. preview registers nothing (a CI
  // job may run in a pod).
  if (inPod && config.clusterName === undefined && config.command !== 'preview') {
    throw new ConfigError('--cluster-name', 'is required in a pod: set --cluster-name or GATEWAY_CLUSTER_NAME to a name unique among your clusters');
  }
  if (config.command === 'deregister' && config.controlPlaneUrl === undefined) {
    throw new ConfigError('--control-plane-url', 'deregister needs the control plane URL (or GATEWAY_CONTROL_PLANE_URL)');
  }
  if (config.token !== undefined && config.tokenFile !== undefined) {
    throw new ConfigError('--token-file', 'give --token or --token-file, not both');
  }
  for (const ns of config.watchNamespaces) {
    if (!DNS_LABEL.test(ns)) throw new ConfigError('--watch-namespaces', `"${ns}" is not a valid namespace name`);
  }
  for (const entry of config.serviceAddresses) {
    const port = Number(/:(\d{1,5})$/.exec(entry)?.[1] ?? 0);
    if (!/^[a-z0-9-]+\/[a-z0-9-]+=[^=:\s]+:\d{1,5}$/.test(entry) || port < 1 || port > 65535) {
      throw new ConfigError('--service-address', `"${entry}" is not namespace/service=host:port (port 1-65535)`);
    }
  }
  // The Gateway API's ControllerName: a domain-prefixed path.
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(config.gatewayControllerName)) {
    throw new ConfigError('--gateway-controller-name', `"${config.gatewayControllerName}" is not a domain-prefixed path such as example.com/gateway`);
  }
  // client-go's rules: the leader gives up before a standby may take over, and renews more than once in that time.
  if (config.renewDeadlineMs >= config.leaseDurationMs) {
    throw new ConfigError(
      '--leader-elect-renew-deadline',
      `must be shorter than --leader-elect-lease-duration, got ${formatDuration(config.renewDeadlineMs)} and ${formatDuration(config.leaseDurationMs)}`,
    );
  }
  if (config.retryPeriodMs >= config.renewDeadlineMs) {
    throw new ConfigError(
      '--leader-elect-retry-period',
      `must be shorter than --leader-elect-renew-deadline, got ${formatDuration(config.retryPeriodMs)} and ${formatDuration(config.renewDeadlineMs)}`,
    );
  }
  if (!DNS_LABEL.test(config.namespace)) throw new ConfigError('--namespace', `"${config.namespace}" is not a valid namespace name`);
  return config;
}

/**
 * A URL as it may be shown in an error or a log: everything between the scheme's "://" and the last "@"
 * replaced, even where the URL does not parse. A password may hold an unescaped "/", "#", "?" or "@" (then
 * the URL does not parse, which is when it is shown), so no character before the last "@" can be taken as
 * the end of the userinfo; an "@" in a path hides that path too, which is the safe way to be wrong.
 */
export function redactUserinfo(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  // Backslashes too: URL parsers read http:\\host as http://host.
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]+/.exec(url)?.[0] ?? '';
  return `${scheme}***${url.slice(at)}`;
}
