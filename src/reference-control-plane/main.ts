// `npm run control-plane -- --port 8090 --gateway-port 8091 --token T`
// `npm run --silent control-plane -- agent-token --token T --cluster-name NAME` prints an agent's token.
import { readFileSync } from 'node:fs';
import { parseGatewayAddress, type GatewayAddress } from '../controlplane/protocol.js';
import { createLogger } from '../log.js';
import { agentToken } from './credentials.js';
import { Gateway } from './gateway.js';
import { ReferenceControlPlane } from './server.js';

const USAGE = `Usage: control-plane [--port 8090] [--gateway-port 8091] [--token T] [--allow-catch-all] [--disconnected-grace-seconds 300]
                     [--gateway-address HOST|IP] [--agent-ping-interval-ms 2000] [--agent-dead-after-ms 6000]
                     [--gateway-tls-port 8443 --gateway-tls-cert FILE --gateway-tls-key FILE]
       control-plane agent-token --token T --cluster-name NAME

  --token T            the admin secret (or CONTROL_PLANE_TOKEN): the admin API takes only it as its bearer
                       token. Agents never get it: each dials with the token of its cluster name (below), and
                       may register only under that name. Without it nothing is authenticated (local runs).
  --port, --gateway-port  the control plane's port (agents, admin API) and the gateway's (user traffic:
                       HTTP/1.1, and HTTP/2 with prior knowledge, h2c)
  --gateway-tls-port P, --gateway-tls-cert FILE, --gateway-tls-key FILE  a TLS listener for user traffic as
                       well, with this PEM certificate and key, offering ALPN h2 and http/1.1 (gRPC over TLS)
  --allow-catch-all    accept routes without a host
  --disconnected-grace-seconds S  how long a disconnected cluster keeps its routes (default 300): its hosts
                       answer 503 meanwhile, unless a connected cluster serves them; then 404. A cluster
                       that reconnects within it loses nothing; one that comes back later resends them.
  --gateway-address HOST|IP  where users reach the gateway, told to agents at registration: Ingresses of the
                       operator's IngressClass show it as their ADDRESS (default: not told)
  --agent-ping-interval-ms MS  how often each agent socket is pinged (default 2000)
  --agent-dead-after-ms MS  an agent socket with no frame and no pong for this long is terminated (default
                       6000): a replica lost without a TCP close is noticed, and its requests retried, in seconds
  agent-token          print the agent token of cluster NAME for secret T (the operator's --token) and exit`;

interface Flags {
  port: number;
  gatewayPort?: number;
  token?: string;
  allowCatchAll: boolean;
  clusterName?: string;
  disconnectedGraceMs?: number;
  gatewayAddress?: GatewayAddress;
  agentPingIntervalMs?: number;
  agentDeadAfterMs?: number;
  gatewayTlsPort?: number;
  gatewayTlsCert?: string;
  gatewayTlsKey?: string;
}

function parseFlags(argv: string[], env: NodeJS.ProcessEnv, allowed: ReadonlySet<string>): Flags {
  const flags: Flags = { port: Number(env.CONTROL_PLANE_PORT ?? 8090), token: env.CONTROL_PLANE_TOKEN, allowCatchAll: false };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = (argv[i] as string).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') fail(`${name}: needs a value`);
      return v as string;
    };
    const port = (): number => {
      const raw = value();
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n > 65535) fail(`${name}: must be a port number 0-65535, got "${raw}"`);
      return n;
    };
    const seconds = (): number => {
      const raw = value();
      // Timers overflow past 2^31-1 ms (and would then fire at once).
      if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) * 1000 > 2 ** 31 - 1) fail(`${name}: must be 0-2147483 seconds, got "${raw}"`);
      return Number(raw);
    };
    const millis = (): number => {
      const raw = value();
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 2 ** 31 - 1) fail(`${name}: must be 1-2147483647 milliseconds, got "${raw}"`);
      return Number(raw);
    };
    if (name === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    if (!allowed.has(name)) fail(`${name}: unknown flag (see --help)`);
    switch (name) {
      case '--port': flags.port = port(); break;
      case '--gateway-port': flags.gatewayPort = port(); break;
      case '--token': flags.token = value(); break;
      case '--allow-catch-all': flags.allowCatchAll = true; break;
      case '--cluster-name': flags.clusterName = value(); break;
      case '--disconnected-grace-seconds': flags.disconnectedGraceMs = seconds() * 1000; break;
      case '--agent-ping-interval-ms': flags.agentPingIntervalMs = millis(); break;
      case '--agent-dead-after-ms': flags.agentDeadAfterMs = millis(); break;
      case '--gateway-tls-port': flags.gatewayTlsPort = port(); break;
      case '--gateway-tls-cert': flags.gatewayTlsCert = value(); break;
      case '--gateway-tls-key': flags.gatewayTlsKey = value(); break;
      case '--gateway-address': {
        const parsed = parseGatewayAddress(value());
        if (!parsed.ok) fail(`${name}: ${parsed.error}`);
        else flags.gatewayAddress = parsed.address;
        break;
      }
    }
  }
  return flags;
}

function fail(message: string): never {
  process.stderr.write(`control-plane: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv[0] === 'agent-token') {
  const flags = parseFlags(argv.slice(1), process.env, new Set(['--token', '--cluster-name']));
  if (!flags.token) fail('agent-token: needs --token (the admin secret the control plane runs with)');
  if (!flags.clusterName) fail('agent-token: needs --cluster-name (the operator\'s --cluster-name)');
  console.log(agentToken(flags.token as string, flags.clusterName as string));
  process.exit(0);
}

const flags = parseFlags(argv, process.env, new Set([
  '--port', '--gateway-port', '--token', '--allow-catch-all', '--disconnected-grace-seconds', '--gateway-address', '--agent-ping-interval-ms', '--agent-dead-after-ms',
  '--gateway-tls-port', '--gateway-tls-cert', '--gateway-tls-key',
]));
if ((flags.gatewayTlsCert === undefined) !== (flags.gatewayTlsKey === undefined)) fail('--gateway-tls-cert and --gateway-tls-key go together');
const readPem = (what: string, path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return fail(`${what} ${path}: ${(err as Error).message}`);
  }
};
const tls = flags.gatewayTlsCert && flags.gatewayTlsKey
  ? { cert: readPem('--gateway-tls-cert', flags.gatewayTlsCert), key: readPem('--gateway-tls-key', flags.gatewayTlsKey), port: flags.gatewayTlsPort ?? 8443 }
  : undefined;
if (!tls && flags.gatewayTlsPort !== undefined) fail('--gateway-tls-port needs --gateway-tls-cert and --gateway-tls-key');
const logger = createLogger((process.env.LOG_LEVEL as 'info') ?? 'info');
const controlPlane = new ReferenceControlPlane({
  port: flags.port,
  token: flags.token,
  allowCatchAll: flags.allowCatchAll,
  disconnectedGraceMs: flags.disconnectedGraceMs,
  gatewayAddress: flags.gatewayAddress,
  agentPingIntervalMs: flags.agentPingIntervalMs,
  agentDeadAfterMs: flags.agentDeadAfterMs,
  logger,
});
const port = await controlPlane.listen();
logger.info('reference control plane listening', { controller: 'reference-control-plane', port, url: `http://127.0.0.1:${port}` });
const gateway = new Gateway(controlPlane, { tls });
const gatewayPort = await gateway.listen(flags.gatewayPort ?? 8091);
logger.info('gateway listening', { controller: 'reference-control-plane', port: gatewayPort, ...(tls ? { tlsPort: gateway.tlsPort } : {}) });

const shutdown = (): void => {
  void Promise.all([gateway.close(), controlPlane.close()]).finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
