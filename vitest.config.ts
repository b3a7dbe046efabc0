import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'node_modules/**'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One dev server and one Node process per file; files run one after another so the
          // 2-core machines do not turn slot-count tests into scheduler noise.
          fileParallelism: false,
        },
      },
    ],
  },
});
