import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: ESM and CommonJS, each with its own type declarations. Code shared by several
    // entry points goes into shared chunks (one copy per module format); process-wide state lives
    // on globalThis (src/process-state.ts), so a program loading both formats still has one.
    entry: {
      index: 'src/index.ts',
      'workflows/index': 'src/workflows/index.ts',
      'activities/index': 'src/activities/index.ts',
      'client/index': 'src/client/index.ts',
      // The examples the CLI and the tests run, kept out of the entry points above.
      'examples/activities': 'src/examples/activities.ts',
      'examples/workflows': 'src/examples/workflows.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    shims: true,
    target: 'node20',
    splitting: true,
  },
  {
    // The `slotwise` command.
    entry: { 'cli/bin': 'src/cli/bin.ts' },
    format: ['esm'],
    sourcemap: true,
    shims: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
