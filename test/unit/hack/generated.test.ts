import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstDifferentLine, staleFiles } from '../../../hack/generated.js';

const root = mkdtempSync(join(tmpdir(), 'gateway-generated-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('firstDifferentLine', () => {
  it.each([
    ['a\nb\nc', 'a\nB\nc', 2],
    ['a\nb', 'a\nb\nc', 3],
    ['', 'a', 1],
    ['a\nb\nc', 'a\nb', 3], // the generated text ends where the file goes on
  ])('%j against %j: line %i', (current, generated, line) => {
    expect(firstDifferentLine(current, generated)).toBe(line);
  });
});

describe('staleFiles', () => {
  it('names a missing, a differing and a left-over file, and nothing when all are current', () => {
    const dir = join(root, 'templates');
    mkdirSync(dir);
    writeFileSync(join(dir, 'current.yaml'), 'same\n');
    writeFileSync(join(dir, 'changed.yaml'), 'one\ntwo\n');
    writeFileSync(join(dir, 'old.yaml'), 'gone\n');
    const files = new Map([
      [join(dir, 'current.yaml'), 'same\n'],
      [join(dir, 'changed.yaml'), 'one\n2\n'],
      [join(dir, 'new.yaml'), 'new\n'],
    ]);
    expect(staleFiles({ files, root, from: 'crds/', command: 'make generate', ownedDir: dir }).sort()).toEqual([
      'templates/changed.yaml is out of date with crds/ (first difference at line 2)',
      'templates/new.yaml is missing',
      'templates/old.yaml is left over (no longer made from crds/)',
    ]);
    // Without ownedDir a file the generator does not make is none of its business.
    const current = new Map([[join(dir, 'current.yaml'), 'same\n']]);
    expect(staleFiles({ files: current, root, from: 'crds/', command: 'make generate' })).toEqual([]);
  });
});
