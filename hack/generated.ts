// How every generator of checked-in files ends (gen-api-types.ts, chart-docs.ts, chart-crds.ts): write the files,
// or with `--check` (part of `npm run lint`) fail when one differs from what would be written, naming the first
// differing line and the command that regenerates it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface GeneratedFiles {
  /** Absolute path → the text the generator makes for it. */
  files: ReadonlyMap<string, string>;
  /** The repository root, for the paths shown. */
  root: string;
  /** What the files are made from, for the message ("crds/", "values.yaml"). */
  from: string;
  /** The command that regenerates them. */
  command: string;
  /** A directory the generator owns whole: a file in it that it no longer makes is left over. */
  ownedDir?: string;
}

/** The 1-based line where `generated` first differs from `current`. */
export function firstDifferentLine(current: string, generated: string): number {
  const [have, want] = [current.split('\n'), generated.split('\n')];
  return want.findIndex((text, index) => have[index] !== text) + 1 || want.length + 1;
}

/** What `--check` reports: one sentence per file that is missing, differs or is left over (empty: all current). */
export function staleFiles({ files, root, from, ownedDir }: GeneratedFiles): string[] {
  const problems: string[] = [];
  for (const [path, text] of files) {
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === undefined) problems.push(`${relative(root, path)} is missing`);
    else if (current !== text) problems.push(`${relative(root, path)} is out of date with ${from} (first difference at line ${firstDifferentLine(current, text)})`);
  }
  for (const path of leftOver(files, ownedDir)) problems.push(`${relative(root, path)} is left over (no longer made from ${from})`);
  return problems;
}

function leftOver(files: ReadonlyMap<string, string>, ownedDir: string | undefined): string[] {
  if (!ownedDir || !existsSync(ownedDir)) return [];
  return readdirSync(ownedDir)
    .map((file) => join(ownedDir, file))
    .filter((path) => !files.has(path));
}

/** Writes `generated.files` (and removes what is left over), or with `--check` exits 1 on any stale file. */
export function writeOrCheck(generated: GeneratedFiles): void {
  if (process.argv.includes('--check')) {
    const problems = staleFiles(generated);
    if (problems.length) {
      console.error(`${problems.join('; ')}; regenerate: ${generated.command}`);
      process.exit(1);
    }
    return;
  }
  for (const path of leftOver(generated.files, generated.ownedDir)) rmSync(path);
  for (const [path, text] of generated.files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  console.log(`wrote ${[...generated.files.keys()].map((path) => relative(generated.root, path)).join(', ')}`);
}
