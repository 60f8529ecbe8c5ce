// Mutation testing of the pure core (`make mutation`): StrykerJS mutates these files and runs the unit
// project against each mutant. Not part of `make test` (minutes, not seconds).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: { projectType: 'custom', configFile: 'jest.unit.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  // Module-level tables (the flag table's help texts, candidate lists) are "static": each of their mutants
  // reloads every test file, 15 % of the mutants took 80 % of the time. Their behaviour is covered by the
  // table-driven tests of the functions that read them.
  ignoreStatic: true,
  mutate: [
    'src/ingress/translate.ts',
    'src/routing/match.ts',
    'src/sync/outbox.ts',
    'src/sync/wire.ts',
    'src/api/v1alpha1/conditions.ts',
    'src/controlplane/protocol.ts',
    'src/config.ts',
  ],
  reporters: ['clear-text', 'html', 'json', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  concurrency: 2,
  // jest's ESM module registry grows with every mutant run in one process (1.6 GB after a few hundred):
  // a fresh runner every 50 mutants keeps it small and fast.
  maxTestRunnerReuse: 50,
};

// Surviving mutants that behave exactly like the original code: no test can tell them apart, so
// hack/mutation-scores.mjs leaves them out of a file's score. Each says why.
export const equivalentMutants = [];
