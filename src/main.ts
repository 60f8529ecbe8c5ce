// Entry point: config (exit 2 on bad flags, before touching the cluster) → operator → signals.
import { ConfigError, parseConfig, usage } from './config.js';
import { AGENT_VERSION, GatewayOperator, loadKubeConfig } from './app.js';
import { createLogger } from './log.js';
import { existsSync } from 'node:fs';

let config;
try {
  config = parseConfig(process.argv.slice(2), process.env);
  if (config.tokenFile && !existsSync(config.tokenFile)) throw new ConfigError('--token-file', `${config.tokenFile} does not exist`);
  if (config.kubeconfig && !existsSync(config.kubeconfig)) throw new ConfigError('--kubeconfig', `${config.kubeconfig} does not exist`);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`gateway-operator: ${err.message}\n`);
  process.exit(2);
}
if (config.help) {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}
if (config.version) {
  process.stdout.write(`${AGENT_VERSION}\n`);
  process.exit(0);
}

const logger = createLogger(config.logLevel);
let kc;
try {
  kc = loadKubeConfig(config);
} catch (err) {
  process.stderr.write(`gateway-operator: loading the kubeconfig: ${(err as Error).message}\n`);
  process.exit(1);
}

const exitAfterLogs = (code: number): void => {
  logger.on('finish', () => process.exit(code));
  logger.end();
  setTimeout(() => process.exit(code), 1_000).unref();
};

const operator = new GatewayOperator(config, kc, logger, (reason) => {
  logger.error(`stopping: ${reason}`, { controller: 'manager' });
  void operator.stop().finally(() => exitAfterLogs(1));
});

let signalled = false;
const shutdown = (signal: string): void => {
  if (signalled) return;
  signalled = true;
  logger.info('signal received, stopping', { controller: 'manager', signal });
  const deadline = setTimeout(() => {
    logger.error('shutdown took too long, exiting', { controller: 'manager' });
    process.exit(1);
  }, 9_000);
  deadline.unref();
  void operator.stop().then(
    () => exitAfterLogs(0),
    (err: unknown) => {
      logger.error('shutdown failed', { controller: 'manager', err });
      exitAfterLogs(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { controller: 'manager', err }));

try {
  await operator.start();
} catch (err) {
  logger.error('start failed', { controller: 'manager', err });
  await operator.stop().catch(() => undefined);
  exitAfterLogs(1);
}
