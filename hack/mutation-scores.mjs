// Prints the mutation score of every mutated file from Stryker's JSON report and exits 1 when any file
// is below the agreed threshold (stryker.config.mjs: thresholds.low). Mutants listed there as
// equivalent (same behaviour as the original, so no test can kill them) are left out of the score.
import { readFileSync } from 'node:fs';
import config, { equivalentMutants } from '../stryker.config.mjs';

const reportFile = process.argv[2] ?? config.jsonReporter.fileName;
const threshold = config.thresholds.low;
const report = JSON.parse(readFileSync(reportFile, 'utf8'));

const isListedEquivalent = (file, mutant) =>
  equivalentMutants.some((e) => e.file === file && e.line === mutant.location.start.line && e.mutator === mutant.mutatorName && e.replacement === mutant.replacement);

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const rows = [];
const unexplained = [];
for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  let detected = 0;
  let undetected = 0;
  let equivalent = 0;
  for (const mutant of mutants) {
    if (DETECTED.has(mutant.status)) detected++;
    else if (UNDETECTED.has(mutant.status)) {
      if (isListedEquivalent(file, mutant)) equivalent++;
      else {
        undetected++;
        unexplained.push(`${file}:${mutant.location.start.line}:${mutant.location.start.column} ${mutant.status} ${mutant.mutatorName}: ${JSON.stringify(mutant.replacement ?? '')}`);
      }
    }
  }
  const total = detected + undetected;
  const score = total === 0 ? 100 : (100 * detected) / total;
  rows.push({ file, score, detected, undetected, equivalent });
}

const width = Math.max(...rows.map((r) => r.file.length));
console.log(`${'file'.padEnd(width)}  score  killed  survived  equivalent`);
for (const r of rows) {
  const verdict = r.score >= threshold ? 'PASS' : 'FAIL';
  console.log(`${r.file.padEnd(width)}  ${r.score.toFixed(1).padStart(5)}  ${String(r.detected).padStart(6)}  ${String(r.undetected).padStart(8)}  ${String(r.equivalent).padStart(10)}  ${verdict}`);
}
if (process.env.MUTATION_LIST_SURVIVORS) for (const line of unexplained) console.log(`  survived: ${line}`);
const failing = rows.filter((r) => r.score < threshold);
if (failing.length > 0) {
  console.error(`mutation score below ${threshold}% in ${failing.map((r) => r.file).join(', ')} (report: ${config.htmlReporter.fileName})`);
  process.exit(1);
}
console.log(`every file at or above ${threshold}% (report: ${config.htmlReporter.fileName})`);
