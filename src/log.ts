// One JSON object per line on stdout: ts, level, msg, then controller/namespace/name/err and the rest.
// Errors anywhere in the metadata are turned into {message, stack} so they never print as {}.
import winston from 'winston';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export function serializeError(err: unknown): { message: string; stack?: string; code?: unknown } | unknown {
  if (!(err instanceof Error)) return err;
  const out: { message: string; stack?: string; code?: unknown } = { message: err.message };
  if (err.stack) out.stack = err.stack;
  const code = (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  if (code !== undefined) out.code = code;
  return out;
}

const FIRST_KEYS = ['ts', 'level', 'msg', 'controller', 'namespace', 'name', 'err'];

const structured = winston.format((info) => {
  const { level, message, timestamp: _timestamp, ...rest } = info as Record<string | symbol, unknown>;
  const line: Record<string, unknown> = { ts: new Date().toISOString(), level, msg: message };
  for (const [key, value] of Object.entries(rest)) {
    line[key] = value instanceof Error ? serializeError(value) : value;
  }
  const ordered: Record<string, unknown> = {};
  for (const key of FIRST_KEYS) if (line[key] !== undefined) ordered[key] = line[key];
  for (const [key, value] of Object.entries(line)) if (!(key in ordered)) ordered[key] = value;
  (info as Record<symbol, unknown>)[Symbol.for('message')] = JSON.stringify(ordered);
  return info;
});

export function createLogger(level: LogLevel = 'info'): Logger {
  return winston.createLogger({
    level,
    format: structured(),
    transports: [new winston.transports.Console()],
  });
}

/** A logger that writes nothing, for unit tests of components that take one. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
