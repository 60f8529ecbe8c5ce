// Runs config/argocd/health.lua the way Argo CD does: the object as the Lua table `obj`, the script's
// returned `hs` read back. Needs a Lua interpreter (hack/lua.sh installs Debian's lua5.4).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommandSync } from './processes.js';
import { REPO_ROOT } from './test-cluster.js';

/** A Lua literal for a JSON value (strings with three-digit decimal byte escapes: valid in Lua 5.1 to 5.4). */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return `"${[...Buffer.from(value, 'utf8')].map((b) => (b >= 32 && b < 127 && b !== 34 && b !== 92 ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)).join('')}"`;
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `[${luaLiteral(k)}] = ${luaLiteral(v)}`).join(', ')}}`;
}

function interpreter(): string {
  for (const candidate of ['lua5.4', 'lua']) if (runCommandSync(candidate, ['-v']).status === 0) return candidate;
  throw new Error('no Lua interpreter: run `make deps` as root, or apt-get install lua5.4');
}

export function argoHealth(obj: unknown): { status: string; message: string } {
  const script = readFileSync(join(REPO_ROOT, 'config/argocd/health.lua'), 'utf8');
  const program = `local function check(obj)\n${script}\nend\nlocal hs = check(${luaLiteral(obj)})\nio.write(hs.status, "\\t", hs.message or "")\n`;
  const run = runCommandSync(interpreter(), ['-'], { input: program });
  if (run.status !== 0) throw new Error(`health.lua failed: ${run.stderr}`);
  const [status = '', message = ''] = run.stdout.split('\t');
  return { status, message };
}
