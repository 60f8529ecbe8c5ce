// The operator's build and image leave the reference control plane out (tsconfig.build.json, .dockerignore):
// it is a peer for tests, the demo and the bench. That holds only while no operator source imports it.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
/** The module of every `import … from`, `export … from`, `import '…'` and `import('…')`. */
const MODULE = /(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g;

function importedModules(source: string): string[] {
  return [...source.matchAll(MODULE)].map((match) => match[1] as string);
}

describe('the operator build', () => {
  it.each([
    [`import { a } from '../x.js';\nexport { b } from "./y.js";\nimport './z.js';\nconst c = await import('../w.js');`, ['../x.js', './y.js', './z.js', '../w.js']],
    [`import type {\n  A,\n} from '../reference-control-plane/server.js';`, ['../reference-control-plane/server.js']],
  ])('finds the imported modules of %j', (source, modules) => {
    expect(importedModules(source)).toEqual(modules);
  });

  it('imports nothing from the reference control plane', () => {
    const operatorFiles = (readdirSync(SRC, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts') && !file.startsWith('reference-control-plane'));
    expect(operatorFiles).toContain('main.ts');
    const offenders = operatorFiles.filter((file) => importedModules(readFileSync(SRC + file, 'utf8')).some((module) => module.includes('reference-control-plane')));
    expect(offenders).toEqual([]);
  });
});
