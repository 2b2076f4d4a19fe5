/**
 * The cluster test (test/cluster/): `scripts/up.sh --cluster` on a fresh set of databases, run on
 * its own after the main suite (`scripts/test.sh`, `npm run test:cluster`): it brings up the
 * Temporal server's five services, two workers and two APIs, which would starve suites running
 * beside it on a two-core machine.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 600_000,
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
