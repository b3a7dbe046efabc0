import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installedPackage } from './installed-package.js';

const tsc = resolve('node_modules/typescript/bin/tsc');

describe('the installed package', () => {
  it('require() loads slotwise and its subpaths from CommonJS', async () => {
    const result = await installedPackage().exec(process.execPath, [
      '-e',
      `const s = require('slotwise'); const w = require('slotwise/workflows'); const a = require('slotwise/activities'); const c = require('slotwise/client');
       const ew = require('slotwise/examples/workflows'); const ea = require('slotwise/examples/activities');
       const supplier = new s.FixedSlotSupplier({ slots: 2 });
       console.log(JSON.stringify([supplier.type, supplier.snapshot().capacity, typeof w.withConcurrency, typeof a.currentSlot, typeof c.cancelWorkflows,
         typeof ew.fanOutWorkflow, typeof ea.simulatedWork, typeof w.fanOutWorkflow, typeof a.simulatedWork]));`,
    ]);
    expect(result.stderr).toBe('');
    // The examples live in their own entry points only.
    expect(JSON.parse(result.stdout)).toEqual([
      'custom',
      2,
      'function',
      'function',
      'function',
      'function',
      'function',
      'undefined',
      'undefined',
    ]);
  });

  it('import loads slotwise and its subpaths from ESM', async () => {
    const result = await installedPackage().exec(process.execPath, [
      '--input-type=module',
      '-e',
      `import { FixedSlotSupplier, SlotwiseOptionsError } from 'slotwise'; import { fanOutWorkflow } from 'slotwise/examples/workflows';
       import { cancelWorkflows } from 'slotwise/client'; import { simulatedWork } from 'slotwise/examples/activities';
       let message = ''; try { new FixedSlotSupplier({ slots: 0 }); } catch (e) { message = e instanceof SlotwiseOptionsError ? e.name : 'other'; }
       console.log(JSON.stringify([new FixedSlotSupplier({ slots: 1 }).type, typeof fanOutWorkflow, typeof cancelWorkflows, typeof simulatedWork, message]));`,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      'custom',
      'function',
      'function',
      'function',
      'SlotwiseOptionsError',
    ]);
  });

  it('one process loading both builds shares one state and one class identity', async () => {
    const result = await installedPackage().exec(process.execPath, [
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       import * as esm from 'slotwise';
       const cjs = createRequire(process.cwd() + '/x.js')('slotwise');
       const fromCjs = new cjs.FixedSlotSupplier({ slots: 1 });
       const fromEsm = new esm.FixedSlotSupplier({ slots: 1 });
       const composite = new esm.CompositeSlotSupplier([fromCjs]);
       let error; try { new cjs.FixedSlotSupplier({ slots: 0 }); } catch (e) { error = e; }
       console.log(JSON.stringify([
         esm.FixedSlotSupplier === cjs.FixedSlotSupplier,
         fromCjs instanceof esm.FixedSlotSupplier,
         fromEsm instanceof cjs.LedgerSlotSupplier,
         error instanceof esm.SlotwiseOptionsError,
         Number(fromEsm.name.split('-')[1]) - Number(fromCjs.name.split('-')[1]),
         composite.snapshot().parts.length,
       ]));`,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([false, true, true, true, 1, 1]);
  });

  it('slotwise/workflows bundles for the workflow sandbox (no Node modules) in the consumer', () => {
    const code = readFileSync(installedPackage().workflowBundlePath, 'utf8');
    expect(code).toContain('fanOutWorkflow');
    expect(code).toContain('concurrencyControllerWorkflow');
  });

  it('`slotwise --help` runs from the installed bin', async () => {
    const result = await installedPackage().slotwiseBin(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: slotwise <command>');
  });
});

/** A consumer source that uses every entry point's types. */
const typedConsumer = `import { FixedSlotSupplier, type SupplierSnapshot, slotwiseWorkerOptions } from 'slotwise';
import { currentSlot, type CurrentSlot } from 'slotwise/activities';
import { withConcurrency } from 'slotwise/workflows';
import { cancelWorkflows } from 'slotwise/client';
import { exampleActivities, type SimulatedWorkInput } from 'slotwise/examples/activities';
import { fanOutWorkflow, type FanOutInput } from 'slotwise/examples/workflows';
import type { WorkerTuner } from '@temporalio/worker';
const supplier = new FixedSlotSupplier({ slots: 3 });
const snapshot: SupplierSnapshot = supplier.snapshot();
export const tuner: WorkerTuner = {
  activityTaskSlotSupplier: supplier,
  workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 5 },
  localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 5 },
  nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 5 },
};
export const options = slotwiseWorkerOptions({ taskQueue: 'q', tuner });
export const capacity: number | null = snapshot.capacity;
export const slot: () => CurrentSlot | undefined = currentSlot;
export const helpers = [withConcurrency, cancelWorkflows];
export const work: SimulatedWorkInput = { ms: 1 };
export const burst: (input: FanOutInput) => Promise<number> = fanOutWorkflow;
export const activities = exampleActivities;
// @ts-expect-error slots must be a number
new FixedSlotSupplier({ slots: '3' });
`;

const RESOLUTIONS = [
  { moduleResolution: 'node16', module: 'node16', files: ['consumer.cts', 'consumer.mts'] },
  { moduleResolution: 'bundler', module: 'esnext', files: ['consumer.ts'] },
  // The older resolution ignores "exports": typesVersions maps the subpaths.
  { moduleResolution: 'node', module: 'commonjs', files: ['consumer.ts'] },
];

describe('the installed types', () => {
  it('every entry point resolves and type-checks under moduleResolution node16, bundler and node', async () => {
    const pkg = installedPackage();
    // One tsc per resolution, in parallel: each loads the Temporal SDK's types, which takes a while.
    const results = await Promise.all(
      RESOLUTIONS.map(async ({ moduleResolution, module, files }) => {
        const dir = `types-${moduleResolution}`;
        for (const file of files) pkg.writeFile(join(dir, file), typedConsumer);
        pkg.writeFile(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              module,
              moduleResolution,
              target: 'es2022',
              strict: true,
              noEmit: true,
              skipLibCheck: true,
              types: [],
              ignoreDeprecations: '5.0',
            },
            files,
          }),
        );
        const result = await pkg.exec(process.execPath, [tsc, '-p', join(pkg.consumerDir, dir)]);
        return { moduleResolution, code: result.code, errors: result.stdout };
      }),
    );
    expect(results).toEqual(
      RESOLUTIONS.map(({ moduleResolution }) => ({ moduleResolution, code: 0, errors: '' })),
    );
  });
});
