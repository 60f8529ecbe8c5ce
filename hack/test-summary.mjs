// Prints the plain "N passed, N failed" line from jest's --json results (the last line CI reads).
// A run that produced no results file counts as one failure: something broke before the tests ran.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/jest.json';
let passed = 0;
let failed = 1;
try {
  const results = JSON.parse(readFileSync(file, 'utf8'));
  passed = results.numPassedTests;
  // A suite that failed to load or run has no failed tests of its own; count it.
  failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
  if (results.numTotalTests === 0) failed = Math.max(failed, 1);
} catch (err) {
  console.error(`no test results in ${file}: ${err.message}`);
}
console.log(`${passed} passed, ${failed} failed`);
