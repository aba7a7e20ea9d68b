import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/temp-cleanup.ts', 'test/support/property-seed.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Crash and interop tests spawn real processes; two cores, so keep workers modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
