// One results file for every bench script: each merges its figures and verdicts into it and prints its table.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/support/test-cluster.js';

/** BENCH_N Ingresses for the scale round (default 10000). */
export const BENCH_N = Number(process.env.BENCH_N ?? 10_000);
/** The committed figures are the 10,000 run's; quick runs (BENCH_N=500 in CI) write beside them. */
export const RESULTS_FILE = join(REPO_ROOT, BENCH_N === 10_000 ? 'bench/results.json' : `bench/results-n${BENCH_N}.json`);

/** The p-th percentile of `values`. */
export const pct = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;
export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export type Target = [key: string, op: '>=' | '<=' | '=', value: number];
export type Results = Record<string, number | string>;

/** PASS/MISS per target; a figure that is not a number (not measured) is MISS with the reason it carries. */
export function verdicts(results: Results, targets: readonly Target[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, op, target] of targets) {
    const value = results[key];
    const pass = typeof value === 'number' && (op === '>=' ? value >= target : op === '<=' ? value <= target : value === target);
    out[key] = `${pass ? 'PASS' : 'MISS'} (${op} ${target})`;
  }
  return out;
}

/** Merges `results` and their verdicts into `file` (keeping other scripts' figures) and prints a table. */
export function recordResults(file: string, title: string, results: Results, targets: readonly Target[]): void {
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results & { targets?: Record<string, string> }) : {};
  const judged = verdicts(results, targets);
  const { targets: previousTargets = {}, ...previousResults } = previous;
  writeFileSync(file, `${JSON.stringify({ ...previousResults, ...results, targets: { ...previousTargets, ...judged } }, null, 2)}\n`);
  console.log(`| figure | ${title} | target |\n|---|---|---|`);
  for (const [key, value] of Object.entries(results)) console.log(`| ${key} | ${value} | ${judged[key] ?? ''} |`);
}
