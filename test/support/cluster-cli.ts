// `make cluster-up` / `make cluster-down`: the test control plane in the background for manual use.
//   up     start it detached, wait until ready, print the export KUBECONFIG line
//   serve  (internal) run it in the foreground until SIGTERM/SIGINT
//   down   stop the background one
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, TestCluster } from './test-cluster.js';
import { waitFor } from './processes.js';

const localDir = join(REPO_ROOT, '.local');
const files = {
  pid: join(localDir, 'cluster.pid'),
  info: join(localDir, 'cluster.json'),
  kubeconfig: join(localDir, 'kubeconfig'),
  log: join(localDir, 'cluster.log'),
};

function runningPid(): number | undefined {
  if (!existsSync(files.pid)) return undefined;
  const pid = Number(readFileSync(files.pid, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function printExport(): void {
  const info = JSON.parse(readFileSync(files.info, 'utf8')) as { server: string };
  console.log(`control plane running at ${info.server} (log: .local/cluster.log)`);
  console.log(`export KUBECONFIG=${files.kubeconfig}`);
}

async function up(): Promise<void> {
  mkdirSync(localDir, { recursive: true });
  if (runningPid() !== undefined && existsSync(files.info)) {
    printExport();
    return;
  }
  rmSync(files.info, { force: true });
  const log = openSync(files.log, 'w');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  let exited: string | undefined;
  child.once('exit', (code) => (exited = `exit code ${code}`));
  await waitFor('the control plane to be ready', async () => {
    if (exited) throw new Error(`it stopped (${exited}); see .local/cluster.log:\n${readFileSync(files.log, 'utf8')}`);
    return existsSync(files.info);
  }, { timeoutMs: 40 * 60_000, intervalMs: 500 }).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
  child.unref();
  printExport();
}

async function serve(): Promise<void> {
  const cluster = new TestCluster({ kubeconfigCopy: files.kubeconfig });
  writeFileSync(files.pid, String(process.pid));
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await cluster.stop();
    for (const file of [files.pid, files.info, files.kubeconfig]) rmSync(file, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const info = await cluster.start();
  writeFileSync(files.info, JSON.stringify({ server: info.server, stateDir: info.stateDir }));
}

async function down(): Promise<void> {
  const pid = runningPid();
  if (pid === undefined) {
    console.log('no local control plane is running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  await waitFor('the control plane to stop', async () => runningPid() === undefined, { timeoutMs: 60_000 });
  console.log('local control plane stopped');
}

const commands: Record<string, () => Promise<void>> = { up, serve, down };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  console.error('usage: cluster-cli.ts up|down');
  process.exit(2);
}
await command().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
