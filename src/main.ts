// Entry point: config (exit 2 on bad flags, before touching the cluster) → operator → signals, or the
// one-shot `deregister` command (exit 0 done, 1 failed), or `preview` (no cluster: exit 0, 1 or 2).
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseConfig, usage, type Config } from './config.js';
import { AGENT_VERSION, controlPlaneConnection, GatewayOperator, loadKubeConfig } from './app.js';
import { deregister } from './controlplane/deregister.js';
import { ConfigMapIdentityStore } from './controlplane/identity.js';
import { createLogger } from './log.js';
import { appsClient, coordinationClient, coreClient } from './operator/clients.js';
import { runPreview } from './preview/cli.js';
import { existsSync } from 'node:fs';

let config;
try {
  config = parseConfig(process.argv.slice(2), process.env);
  // preview reads no kubeconfig or credentials: a stale $KUBECONFIG in a CI job is not its concern.
  const files = config.command === 'preview' ? {} : { '--token-file': config.tokenFile, '--kubeconfig': config.kubeconfig, '--ca-file': config.caFile, '--client-cert-file': config.clientCertFile, '--client-key-file': config.clientKeyFile };
  for (const [flag, path] of Object.entries(files)) if (path && !existsSync(path)) throw new ConfigError(flag, `${path} does not exist`);
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
// Before the kubeconfig is loaded: preview needs no cluster (a CI job has none).
if (config.command === 'preview') process.exit(await runPreview(config, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }));

const rootLogger = createLogger(config.logLevel);
const logger = rootLogger.child({ controller: 'manager' });
let kc;
try {
  kc = loadKubeConfig(config);
} catch (err) {
  process.stderr.write(`gateway-operator: loading the kubeconfig: ${(err as Error).message}\n`);
  process.exit(1);
}

const exitAfterLogs = (code: number): void => {
  rootLogger.on('finish', () => process.exit(code));
  rootLogger.end();
  setTimeout(() => process.exit(code), 1_000).unref();
};

if (config.command === 'deregister') await runDeregister(config, kc);
else await runOperator(config, kc);

async function runDeregister(config: Config, kc: KubeConfig): Promise<void> {
  const namespace = config.namespace;
  try {
    const result = await deregister({
      apps: appsClient(kc),
      coordination: coordinationClient(kc),
      identity: new ConfigMapIdentityStore(coreClient(kc), namespace),
      connection: controlPlaneConnection(config, kc),
      namespace,
      leaseName: config.leaseName,
      stopDeployment: config.stopDeployment,
      timeoutMs: config.deregisterTimeoutMs,
      logger: rootLogger,
    });
    logger.info('deregister finished', { controller: 'deregister', outcome: result.outcome });
    exitAfterLogs(0);
  } catch (err) {
    logger.error('deregister failed', { controller: 'deregister', err });
    exitAfterLogs(1);
  }
}

async function runOperator(config: Config, kc: KubeConfig): Promise<void> {
  const operator = new GatewayOperator(config, kc, rootLogger, (reason) => {
    logger.error(`stopping: ${reason}`);
    void operator.stop().finally(() => exitAfterLogs(1));
  });

  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    logger.info('signal received, stopping', { signal });
    // The drain, then up to ~6 s of stopping (controllers, Lease, socket, informers).
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, config.drainTimeoutMs + 9_000);
    deadline.unref();
    void operator.stop().then(
      () => exitAfterLogs(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        exitAfterLogs(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));

  try {
    await operator.start();
  } catch (err) {
    logger.error('start failed', { err });
    await operator.stop().catch(() => undefined);
    exitAfterLogs(1);
  }
}
