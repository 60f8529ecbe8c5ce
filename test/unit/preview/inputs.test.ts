// Reading preview's inputs: files, directories, stdin; multi-document YAML and Lists; and untrusted input
// bounded (bytes, values with aliases expanded, nesting), each failure naming the input.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_LIMITS, parseManifests, readManifests } from '../../../src/preview/inputs.js';
import { InputError } from '../../../src/preview/preview.js';

const service = (name: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\n`;
const names = (manifests: Array<{ object: Record<string, unknown> }>) => manifests.map((m) => (m.object.metadata as { name: string }).name);

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('parseManifests', () => {
  it('reads every document, skips empty ones, flattens Lists, and says where each came from', () => {
    const text = `---\n${service('a')}---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- ${service('b').trimEnd().replace(/\n/g, '\n  ')}\n- ${service('c').trimEnd().replace(/\n/g, '\n  ')}\n---\n`;
    const manifests = parseManifests(text, 'all.yaml');
    expect(names(manifests)).toEqual(['a', 'b', 'c']);
    expect(manifests.map((m) => m.origin)).toEqual(['all.yaml: document 1', 'all.yaml: document 3, items[0]', 'all.yaml: document 3, items[1]']);
  });

  it('reads JSON, and typed lists such as ServiceList', () => {
    expect(names(parseManifests(JSON.stringify({ apiVersion: 'v1', kind: 'ServiceList', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'j' } }] }), 'l.json'))).toEqual(['j']);
  });

  it('keeps what looks like a timestamp or a YAML 1.1 boolean a string, as kubectl sends it', () => {
    const [manifest] = parseManifests('apiVersion: v1\nkind: Service\nmetadata: {name: a, creationTimestamp: 2026-01-01T00:00:00Z, annotations: {on: yes}}\n', 'a.yaml');
    expect(manifest?.object.metadata).toEqual({ name: 'a', creationTimestamp: '2026-01-01T00:00:00Z', annotations: { on: 'yes' } });
  });

  it('applies merge keys, the map\'s own keys winning', () => {
    const text = 'base: &base {name: from-base, namespace: shop}\napiVersion: v1\nkind: Service\nmetadata:\n  <<: *base\n  name: own\n';
    expect(parseManifests(text, 'm.yaml')[0]?.object.metadata).toEqual({ name: 'own', namespace: 'shop' });
  });

  it('keeps "__proto__" a plain key: nothing is polluted', () => {
    const [manifest] = parseManifests('apiVersion: v1\nkind: Service\nmetadata: {name: a}\n__proto__: {polluted: true}\n', 'p.yaml');
    expect(Object.keys(manifest?.object ?? {})).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((manifest?.object as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each<[string, string, RegExp]>([
    ['invalid YAML, with its line', 'apiVersion: v1\nkind: [Service\n', /^bad\.yaml: not valid YAML: .*\(3:1\)/s],
    ['a duplicated key', 'a: 1\na: 2\n', /^bad\.yaml: not valid YAML: duplicated mapping key .*\(2:1\)/s],
    ['a document that is not an object', service('a') + '---\njust text\n', /^bad\.yaml: document 2: is not a Kubernetes object \(it is a string\)$/],
    ['a list at the top', '- a\n- b\n', /^bad\.yaml: document 1: is not a Kubernetes object \(it is a list\)$/],
    ['no kind', 'apiVersion: v1\nmetadata: {name: a}\n', /^bad\.yaml: document 1: has no kind$/],
    ['no apiVersion', 'kind: Service\nmetadata: {name: a}\n', /^bad\.yaml: document 1: has no apiVersion$/],
    ['a null List item', 'apiVersion: v1\nkind: List\nitems: [~]\n', /^bad\.yaml: document 1, items\[0\]: is not a Kubernetes object \(it is null\)$/],
    ['a bad merge key', 'apiVersion: v1\nkind: Service\nmetadata: {<<: 5, name: a}\n', /^bad\.yaml: document 1: a merge key \(<<\) must name a map or a list of maps$/],
    ['nesting deeper than the parser allows', `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /^bad\.yaml: not valid YAML: nesting exceeded maxDepth/],
    ['binary', Buffer.from([0, 1, 2, 255, 254]).toString('latin1'), /^bad\.yaml: not valid YAML: /],
  ])('refuses %s', (_name, text, message) => {
    expect(error(() => parseManifests(text, 'bad.yaml'))).toMatch(message);
  });

  it('refuses a document that expands past the values budget through aliases ("billion laughs"), quickly', () => {
    const levels = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const text = `apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ${levels.join('\n  ')}\n`;
    const started = Date.now();
    expect(error(() => parseManifests(text, 'laughs.yaml'))).toBe('laughs.yaml: document 1: too large: more values than preview reads (aliases count each time they are used)');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses nesting past its own depth limit', () => {
    const nested = `${'{a: '.repeat(20)}1${'}'.repeat(20)}`;
    expect(error(() => parseManifests(`apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: ${nested}\n`, 'n.yaml', { maxDepth: 10, budget: { values: 1000 } }))).toBe('n.yaml: document 1: nested more than 10 levels deep');
  });
});

describe('readManifests', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'preview-inputs-'));
    mkdirSync(join(dir, 'app', 'nested'), { recursive: true });
    mkdirSync(join(dir, 'app', '.git'));
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'app', 'b.yaml'), service('b'));
    writeFileSync(join(dir, 'app', 'a.yml'), service('a'));
    writeFileSync(join(dir, 'app', 'nested', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' } }));
    writeFileSync(join(dir, 'app', 'README.md'), 'not a manifest');
    writeFileSync(join(dir, 'app', '.git', 'x.yaml'), service('hidden'));
    writeFileSync(join(dir, 'one.yaml'), service('one'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const noStdin = Readable.from([]);

  it('reads files and directories (recursively, sorted, hidden ones skipped), in the order given', async () => {
    const manifests = await readManifests([join(dir, 'one.yaml'), join(dir, 'app')], { stdin: noStdin });
    expect(names(manifests)).toEqual(['one', 'a', 'b', 'c']);
    expect(manifests[1]?.origin).toBe(`${join(dir, 'app', 'a.yml')}: document 1`);
  });

  it('reads stdin for "-"', async () => {
    const manifests = await readManifests(['-'], { stdin: Readable.from([Buffer.from(service('piped'))]) });
    expect(manifests).toEqual([{ object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'piped' } }, origin: '(stdin): document 1' }]);
  });

  it.each<[string, (dir: string) => string[], string]>([
    ['a missing file', (d) => [join(d, 'missing.yaml')], 'missing.yaml: no such file or directory'],
    ['a directory without manifests', (d) => [join(d, 'empty')], 'empty: the directory holds no .yaml, .yml or .json file'],
    ['stdin twice', () => ['-', '-'], '(stdin): given more than once'],
    ['no objects at all', () => ['-'], '-: no Kubernetes objects in the input'],
  ])('refuses %s', async (_name, paths, message) => {
    await expect(readManifests(paths(dir), { stdin: Readable.from([]) })).rejects.toThrow(message);
  });

  it('stops reading past the byte limit over all inputs', async () => {
    const limits = { ...DEFAULT_LIMITS, maxBytes: 100 };
    await expect(readManifests([join(dir, 'one.yaml'), '-'], { stdin: Readable.from([Buffer.alloc(80, 'a')]), limits })).rejects.toThrow(
      '(stdin): the inputs are larger than preview reads (100 bytes in all)',
    );
  });
});
