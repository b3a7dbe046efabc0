import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'test/package/**', 'node_modules/**'],
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
      {
        test: {
          // What users install: built, packed and installed into a consumer project outside the
          // repository, run with real Workers (see test/package/installed-package.ts).
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          globalSetup: ['test/package/setup/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
