import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve('.');
let consumer: string;

const run = (file: string, args: string[]) => execFileSync(file, args, { cwd: consumer, encoding: 'utf8' });

// Builds the package as published and uses it from a consumer project, the way users do.
beforeAll(() => {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'pipe' });
  consumer = mkdtempSync(join(tmpdir(), 'slotwise-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(root, join(consumer, 'node_modules', 'slotwise'), 'dir');
  // The Temporal SDK is a peer dependency: the consumer has its own copy.
  symlinkSync(
    join(root, 'node_modules', '@temporalio'),
    join(consumer, 'node_modules', '@temporalio'),
    'dir',
  );
}, 120_000);

afterAll(() => rmSync(consumer, { recursive: true, force: true }));

describe('the published package', () => {
  it('require() loads slotwise and its subpaths from CommonJS', () => {
    const out = run(process.execPath, [
      '-e',
      `const s = require('slotwise'); const w = require('slotwise/workflows'); const a = require('slotwise/activities');
       const supplier = new s.FixedSlotSupplier({ slots: 2 });
       console.log(JSON.stringify([supplier.type, supplier.snapshot().capacity, typeof w.fanOutWorkflow, typeof a.simulatedWork]));`,
    ]);
    expect(JSON.parse(out)).toEqual(['custom', 2, 'function', 'function']);
  });

  it('import loads slotwise and its subpaths from ESM', () => {
    const out = run(process.execPath, [
      '--input-type=module',
      '-e',
      `import { FixedSlotSupplier, SlotwiseOptionsError } from 'slotwise'; import { fanOutWorkflow } from 'slotwise/workflows';
       let message = ''; try { new FixedSlotSupplier({ slots: 0 }); } catch (e) { message = e instanceof SlotwiseOptionsError ? e.name : 'other'; }
       console.log(JSON.stringify([new FixedSlotSupplier({ slots: 1 }).type, typeof fanOutWorkflow, message]));`,
    ]);
    expect(JSON.parse(out)).toEqual(['custom', 'function', 'SlotwiseOptionsError']);
  });

  it('ships types that check in CommonJS and ESM consumers', () => {
    const source = `import { FixedSlotSupplier, type SupplierSnapshot } from 'slotwise';
import type { WorkerTuner } from '@temporalio/worker';
const supplier = new FixedSlotSupplier({ slots: 3 });
const snapshot: SupplierSnapshot = supplier.snapshot();
export const tuner: WorkerTuner = {
  activityTaskSlotSupplier: supplier,
  workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 5 },
  localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 5 },
  nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 5 },
};
export const capacity: number | null = snapshot.capacity;
// @ts-expect-error slots must be a number
new FixedSlotSupplier({ slots: '3' });
`;
    writeFileSync(join(consumer, 'consumer.cts'), source);
    writeFileSync(join(consumer, 'consumer.mts'), source);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.cts', 'consumer.mts'],
      }),
    );
    expect(() =>
      run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']),
    ).not.toThrow();
  });

  it('slotwise/workflows bundles for the workflow sandbox (no Node modules)', async () => {
    writeFileSync(join(consumer, 'workflows.mjs'), "export { fanOutWorkflow } from 'slotwise/workflows';\n");
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(consumer, 'workflows.mjs'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    expect(code).toContain('fanOutWorkflow');
  });

  it('bin `slotwise --help` runs from the built CLI', () => {
    const out = run(process.execPath, [join(root, 'dist/cli/bin.js'), '--help']);
    expect(out).toContain('Usage: slotwise <command>');
  });
});
