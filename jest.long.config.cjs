/**
 * `npm run reliability` (not CI): the reliability suite's long forms. Every test/reliability/ file `npm test` runs
 * (`*.test.ts`, which read VIPSWITCH_RELIABILITY=long for their long figures: R1 races, R2 faults, R3 hostile input,
 * R4 hook faults) plus the long-only files (`*.long.ts`: R5 repeatability), which jest.config.cjs never matches, so CI
 * has no skipped test.
 */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/reliability'],
  testMatch: ['**/*.test.ts', '**/*.long.ts'],
};
