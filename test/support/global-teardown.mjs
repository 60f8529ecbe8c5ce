export default async function globalTeardown() {
  await globalThis.__gatewaySuite?.teardownSuite();
}
