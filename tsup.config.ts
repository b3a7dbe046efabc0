import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: ESM and CommonJS, each with its own type declarations.
    entry: {
      index: 'src/index.ts',
      'workflows/index': 'src/workflows/index.ts',
      'activities/index': 'src/activities/index.ts',
      'client/index': 'src/client/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    shims: true,
    target: 'node20',
    splitting: false,
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
