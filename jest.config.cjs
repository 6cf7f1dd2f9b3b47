// One jest run covers the whole repo: pure unit tests, integration tests against a real
// redis-server, and end-to-end tests of the apps over real HTTP. `npm test` runs all three;
// `nx test <project>` runs the same projects limited to that project's folder.
const preset = require('./jest.preset.cjs');

module.exports = {
  globalSetup: '<rootDir>/tools/test/jest-global-setup.cjs',
  globalTeardown: '<rootDir>/tools/test/jest-global-teardown.cjs',
  projects: [
    { ...preset, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'] },
    { ...preset, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.int-spec.ts'] },
    { ...preset, displayName: 'e2e', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.e2e-spec.ts'] },
  ],
};
