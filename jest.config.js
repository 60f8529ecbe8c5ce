// Two projects: unit (pure, no processes) and integration (a real kube-apiserver + etcd started once by
// the global setup; e2e tests share it). ts-jest in ESM mode; NODE_OPTIONS=--experimental-vm-modules.
import { createDefaultEsmPreset } from 'ts-jest';

const esm = createDefaultEsmPreset({ tsconfig: 'tsconfig.json' });
const shared = {
  ...esm,
  testEnvironment: 'node',
  // Sources import with .js suffixes (NodeNext); map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

// The pure tests, also what mutation testing runs (stryker.config.mjs).
export const unitProject = {
  ...shared,
  displayName: 'unit',
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
};

export default {
  // Real processes on a shared 2-core machine: a hook or test that waits on the apiserver may take longer
  // than jest's 5 s default (a global option: projects ignore it); each wait inside has its own timeout.
  testTimeout: 30_000,
  projects: [
    unitProject,
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
      slowTestThreshold: 30,
    },
  ],
};
