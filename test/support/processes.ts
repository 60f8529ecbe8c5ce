// Child processes of the test control plane: started with their output in a log file, stopped with
// SIGTERM then SIGKILL, and killed synchronously if this process exits without stopping them. Also the
// one way tests run a command to its end and read what it printed (runCommandSync, runCommand).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) when the process ends for any reason. */
  readonly exited: Promise<string>;
  stop(graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

export function startProcess(name: string, binary: string, args: string[], logFile: string): ManagedProcess {
  installExitHook();
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${binary}`);
  running.add(child);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ? `signal ${signal}` : `exit code ${code}`);
    });
    child.once('error', (err) => {
      running.delete(child);
      resolve(`spawn error: ${err.message}`);
    });
  });
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  return {
    name,
    pid: child.pid,
    logFile,
    exited,
    logTail,
    async stop(graceMs = 10_000) {
      if (!running.has(child)) return;
      child.kill('SIGTERM');
      const outcome = await Promise.race([exited, delay(graceMs, 'timeout')]);
      if (outcome === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Polls `check` until it returns true, failing with `what` (and the last error) after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 60_000, intervalMs = 250, abortOn }: { timeoutMs?: number; intervalMs?: number; abortOn?: Promise<string> } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let aborted: string | undefined;
  void abortOn?.then((reason) => (aborted = reason));
  let lastError = '';
  for (;;) {
    if (aborted !== undefined) throw new Error(`${what}: process ended (${aborted})`);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
    }
    await delay(intervalMs);
  }
}

/** How a command ended: its exit status (-1 when it was killed, timed out or could not start) and output. */
export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Written to its stdin (none: stdin is closed). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Its working directory (default: ours). */
  cwd?: string;
  /** Killed after this long; 0: never (a build). Default 60 s. */
  timeoutMs?: number;
  /** Its stderr goes to ours instead of being captured (progress of a long build). */
  showStderr?: boolean;
}

/** Runs a command to its end, blocking this process: for tools that do not talk to the test process. */
export function runCommandSync(command: string, args: readonly string[], options: CommandOptions = {}): CommandResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    input: options.input,
    cwd: options.cwd,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 60_000,
    stdio: ['pipe', 'pipe', options.showStderr ? 'inherit' : 'pipe'],
  });
  return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: (result.stderr ?? '') + (result.error ? result.error.message : '') };
}

/**
 * Runs a command to its end without blocking this process (a control plane in the test process must keep
 * answering it), and returns its exit status and output.
 */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', options.showStderr ? 'inherit' : 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin?.end(options.input);
    let failed = false;
    child.once('error', (err) => {
      failed = true;
      stderr += err.message;
    });
    child.once('close', (status) => resolve({ status: failed || status === null ? -1 : status, stdout, stderr }));
  });
}
