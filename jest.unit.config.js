// The unit project alone, for tools that take one project (mutation testing: stryker.config.mjs).
export { unitProject as default } from './jest.config.js';
