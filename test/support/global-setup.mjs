// Jest loads global setup with Node's own resolver, which cannot follow the TypeScript sources'
// `.js` import specifiers; tsx's loader can, so the TypeScript suite is imported through it.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const suite = await tsImport('./suite.ts', import.meta.url);
  globalThis.__gatewaySuite = suite;
  await suite.setupSuite();
}
