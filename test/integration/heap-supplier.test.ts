import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { testClient, uniqueQueue } from './helpers.js';

const WORKER = fileURLToPath(new URL('./fixtures/heap-worker.ts', import.meta.url));
const HEAP_MIB = 160;
const RETAIN_MIB = 16;
const TASKS = 24;

interface Run {
  child: ChildProcess;
  ready: Promise<{ limit: number; used: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  stdout: () => string;
}

/** Starts the Worker of fixtures/heap-worker.ts with a small heap, gated or not. */
function startWorker(gate: 'heap' | 'none', taskQueue: string): Run {
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, '--import', 'tsx', WORKER], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      TASK_QUEUE: taskQueue,
      HEAP_GATE: gate,
      HEAP_RETAIN_MIB: String(RETAIN_MIB),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let out = '';
  const ready = new Promise<{ limit: number; used: number }>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^ready (\d+) (\d+)$/m.exec(out);
      if (match) resolve({ limit: Number(match[1]), used: Number(match[2]) });
    });
    child.once('exit', () => reject(new Error(`the heap worker exited before it was ready: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, ready, exited, stderr: () => stderr, stdout: () => out };
}

describe('HeapSlotSupplier in a Worker with a small V8 heap', () => {
  it(`a burst of ${TASKS} activities each keeping ${RETAIN_MIB} MiB of heap: without the gate the Worker dies of heap exhaustion, with it every activity completes`, async () => {
    const client = await testClient();

    // Both Workers at once (separate processes, the same heap limit), to keep the test short.
    // Without the gate: 40 slots let the whole burst in, 24 x 16 MiB on a 160 MiB old space.
    const bareQueue = uniqueQueue('heap-none');
    const gatedQueue = uniqueQueue('heap-gated');
    const t0 = performance.now();
    const bare = startWorker('none', bareQueue);
    const gated = startWorker('heap', gatedQueue);
    try {
      const [, { limit, used }] = await Promise.all([bare.ready, gated.ready]);
      console.log(
        `heap: limit ${(limit / 2 ** 20).toFixed(0)} MiB, ${(used / 2 ** 20).toFixed(0)} MiB used when ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      const start = (taskQueue: string) =>
        client.workflow.start('fanOutWorkflow', {
          taskQueue,
          workflowId: taskQueue,
          args: [{ tasks: TASKS, workMs: 1500 }],
        });
      const [doomed, gatedRun] = await Promise.all([start(bareQueue), start(gatedQueue)]);
      const [death, completed] = await Promise.all([
        Promise.race([bare.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 90_000))]),
        Promise.race([
          gatedRun.result(),
          gated.exited.then(({ code, signal }) => {
            throw new Error(`the gated Worker died (${code ?? signal}): ${gated.stderr().slice(-2000)}`);
          }),
        ]),
      ]);
      console.log(`heap: both outcomes after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const last = [...gated.stdout().matchAll(/peak (\d+) peakUsed (\d+)/g)].at(-1);
      const [peak, peakUsed] = [Number(last?.[1]), Number(last?.[2])];
      console.log(
        `heap: the gated Worker ran at most ${peak} at once, heap used at most ${(peakUsed / 2 ** 20).toFixed(0)} MiB of a ${HEAP_MIB} MiB old space`,
      );
      await doomed.terminate('the Worker died, as expected').catch(() => {});
      expect(death).not.toBeNull();
      expect(bare.stderr()).toContain('JavaScript heap out of memory');
      expect(completed).toBe(TASKS);
      expect(gated.stderr()).not.toContain('heap out of memory');
      // The gate admits floor((0.7 x 160 MiB - used when idle) / 16 MiB): at least one, never the
      // whole old space's worth (a 0.7 share of heap_size_limit, 208 MiB, let 6 in beside 45 MiB).
      expect(peak).toBeGreaterThanOrEqual(1);
      expect(peak).toBeLessThanOrEqual(Math.floor((0.7 * HEAP_MIB) / RETAIN_MIB));
    } finally {
      for (const run of [bare, gated]) {
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
        await run.exited;
      }
    }
  });
});
