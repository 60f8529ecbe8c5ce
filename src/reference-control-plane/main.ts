// `npm run control-plane -- --port 8090 --gateway-port 8091 --token T`
import { createLogger } from '../log.js';
import { Gateway } from './gateway.js';
import { ReferenceControlPlane } from './server.js';

interface Flags {
  port: number;
  gatewayPort?: number;
  token?: string;
  allowCatchAll: boolean;
}

function parseFlags(argv: string[], env: NodeJS.ProcessEnv): Flags {
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
    switch (name) {
      case '--port': flags.port = port(); break;
      case '--gateway-port': flags.gatewayPort = port(); break;
      case '--token': flags.token = value(); break;
      case '--allow-catch-all': flags.allowCatchAll = true; break;
      case '--help':
        console.log('Usage: control-plane [--port 8090] [--gateway-port 8091] [--token T] [--allow-catch-all]');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: fail(`${name}: unknown flag (see --help)`);
    }
  }
  return flags;
}

function fail(message: string): never {
  process.stderr.write(`control-plane: ${message}\n`);
  process.exit(2);
}

const flags = parseFlags(process.argv.slice(2), process.env);
const logger = createLogger((process.env.LOG_LEVEL as 'info') ?? 'info');
const controlPlane = new ReferenceControlPlane({ port: flags.port, token: flags.token, allowCatchAll: flags.allowCatchAll, logger });
const port = await controlPlane.listen();
logger.info('reference control plane listening', { controller: 'reference-control-plane', port, url: `http://127.0.0.1:${port}` });
const gateway = new Gateway(controlPlane);
const gatewayPort = await gateway.listen(flags.gatewayPort ?? 8091);
logger.info('gateway listening', { controller: 'reference-control-plane', port: gatewayPort });

const shutdown = (): void => {
  void Promise.all([gateway.close(), controlPlane.close()]).finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
