import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    // Two cores: more workers only make the subprocess-heavy tests fight for CPU.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
