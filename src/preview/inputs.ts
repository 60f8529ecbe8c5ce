// Reading preview's inputs: files, directories (their .yaml, .yml and .json files, recursively), or "-" for
// stdin; each parsed as multi-document YAML, `kind: List` documents flattened. Inputs are untrusted: the
// bytes read, the values built (aliases expand) and the nesting are bounded, and every failure names the
// input and the document.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import yaml from 'js-yaml';
import { InputError, type Manifest } from './preview.js';

export interface InputLimits {
  /** Bytes read over all inputs. */
  maxBytes: number;
  /** Values (scalars, lists, maps) built over all inputs, aliases counted each time they are used. */
  maxValues: number;
  /** Nesting of lists and maps. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: InputLimits = { maxBytes: 64 * 1024 * 1024, maxValues: 4_000_000, maxDepth: 64 };

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const STDIN = '-';
const STDIN_NAME = '(stdin)';

/** Every manifest in `paths`, in order; "-" reads `stdin` (once). Throws InputError. */
export async function readManifests(paths: readonly string[], options: { stdin: AsyncIterable<Buffer | string>; limits?: InputLimits }): Promise<Manifest[]> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const budget = { bytes: limits.maxBytes, values: limits.maxValues, maxBytes: limits.maxBytes };
  const manifests: Manifest[] = [];
  let stdinRead = false;
  for (const path of paths) {
    if (path === STDIN) {
      if (stdinRead) throw new InputError(STDIN_NAME, 'given more than once');
      stdinRead = true;
      manifests.push(...parseManifests(await readBounded(options.stdin, STDIN_NAME, budget), STDIN_NAME, { ...limits, budget }));
      continue;
    }
    for (const file of await filesOf(path)) {
      const text = await readBounded(createReadStream(file), file, budget);
      manifests.push(...parseManifests(text, file, { ...limits, budget }));
    }
  }
  // Nothing at all is more likely a step before that failed (an empty pipe) than manifests to approve.
  if (manifests.length === 0) throw new InputError(paths.join(' '), 'no Kubernetes objects in the input');
  return manifests;
}

/** The manifest files a path names: itself, or a directory's, sorted, hidden ones (.git) left out. */
async function filesOf(path: string): Promise<string[]> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(path, err.code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${err.message}`);
  });
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch((err: Error) => {
    throw new InputError(path, `cannot list the directory: ${err.message}`);
  });
  // Symbolic links are read (a link to a directory fails as one); directories behind them are not walked.
  const files = entries
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()))
    // parentPath from Node 20.12; path before it.
    .map((entry) => join(entry.parentPath ?? (entry as { path?: string }).path ?? path, entry.name))
    .filter((file) => !relative(path, file).split(sep).some((part) => part.startsWith('.')))
    .sort();
  if (files.length === 0) throw new InputError(path, 'the directory holds no .yaml, .yml or .json file');
  return files;
}

/** The whole stream as UTF-8, or InputError once it passes the byte budget (no more is read). */
async function readBounded(stream: AsyncIterable<Buffer | string>, name: string, budget: { bytes: number; maxBytes: number }): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      budget.bytes -= buffer.length;
      if (budget.bytes < 0) {
        (stream as { destroy?: () => void }).destroy?.();
        throw new InputError(name, `the inputs are larger than preview reads (${budget.maxBytes} bytes in all)`);
      }
      chunks.push(buffer);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(name, code === 'EISDIR' ? 'is a directory' : `cannot read: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface ParseLimits {
  maxDepth: number;
  /** What is left of the values budget; shared by every input of one run. */
  budget: { values: number };
}

/**
 * The manifests of one input's text: each YAML document an object with apiVersion and kind, a List's items
 * each on their own; empty documents skipped. `name` is the input, for messages. Throws InputError.
 */
export function parseManifests(text: string, name: string, limits: ParseLimits = { maxDepth: DEFAULT_LIMITS.maxDepth, budget: { values: DEFAULT_LIMITS.maxValues } }): Manifest[] {
  let documents: unknown[];
  try {
    // The YAML 1.2 core schema: timestamps and the like stay strings, as kubectl sends them.
    documents = yaml.loadAll(text, null, { schema: yaml.CORE_SCHEMA, filename: name });
  } catch (err) {
    // js-yaml's message names the line and column and quotes the lines around it.
    throw new InputError(name, err instanceof yaml.YAMLException ? `not valid YAML: ${err.message}` : `cannot parse: ${(err as Error).message}`);
  }
  const manifests: Manifest[] = [];
  documents.forEach((document, index) => {
    const origin = `${name}: document ${index + 1}`;
    let value: unknown;
    try {
      value = plainJson(document, limits, 0);
    } catch (err) {
      throw new InputError(origin, (err as Error).message);
    }
    if (value === undefined) return; // an empty document ("---" at the end of a file)
    const object = kubeObject(value, origin);
    if (!isList(object)) return void manifests.push({ object, origin });
    (object.items as unknown[]).forEach((item, itemIndex) => manifests.push({ object: kubeObject(item, `${origin}, items[${itemIndex}]`), origin: `${origin}, items[${itemIndex}]` }));
  });
  return manifests;
}

/** `kind: List` (kubectl get -o yaml) or a typed list (ServiceList) with items. */
function isList(object: Record<string, unknown>): boolean {
  return typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items);
}

function kubeObject(value: unknown, origin: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(origin, `is not a Kubernetes object (it is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`})`);
  }
  const object = value as Record<string, unknown>;
  for (const field of ['apiVersion', 'kind']) {
    if (typeof object[field] !== 'string' || object[field] === '') throw new InputError(origin, `has no ${field}`);
  }
  return object;
}

/**
 * A copy as plain JSON values: nulls in maps dropped (the apiserver reads them as absent), merge keys ("<<")
 * applied, keys such as "__proto__" kept as plain data; throws past the depth or the values budget (an
 * alias used many times is copied each time, which is what a budget on the copy bounds).
 */
function plainJson(value: unknown, limits: ParseLimits, depth: number): unknown {
  if (--limits.budget.values < 0) throw new Error('too large: more values than preview reads (aliases count each time they are used)');
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object') return value;
  if (depth >= limits.maxDepth) throw new Error(`nested more than ${limits.maxDepth} levels deep`);
  if (Array.isArray(value)) return value.map((item) => plainJson(item, limits, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  const set = (key: string, item: unknown): void => {
    const copy = plainJson(item, limits, depth + 1);
    if (copy !== undefined) Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
  };
  const source = value as Record<string, unknown>;
  // YAML merge keys: the merged maps first, so the map's own keys win.
  const merged = source['<<'];
  for (const base of Array.isArray(merged) ? merged : merged === undefined ? [] : [merged]) {
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new Error('a merge key (<<) must name a map or a list of maps');
    for (const [key, item] of Object.entries(base as Record<string, unknown>)) set(key, item);
  }
  for (const [key, item] of Object.entries(source)) if (key !== '<<') set(key, item);
  return out;
}
