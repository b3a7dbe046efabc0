import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { runInWorkerThread } from '../../src/activities/worker-thread.js';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { testActivity } from './activity-env.js';

const work = new URL('./fixtures/cpu-work.mjs', import.meta.url);
const task = (exportName: string) => ({ module: work, exportName });

/** A counter a thread increments and the test reads. */
function sharedCounter(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** Waits until the thread has counted at least once (it is running its loop). */
async function untilCounting(counter: Int32Array): Promise<void> {
  for (let i = 0; i < 500 && Atomics.load(counter, 0) === 0; i++) await sleep(10);
  expect(Atomics.load(counter, 0)).toBeGreaterThan(0);
}

/** The counter's value, read twice 100 ms apart: equal values mean no thread writes to it any more. */
async function twoReads(counter: Int32Array): Promise<[number, number]> {
  const first = Atomics.load(counter, 0);
  await sleep(100);
  return [first, Atomics.load(counter, 0)];
}

describe('runInWorkerThread', () => {
  it('runInWorkerThread() runs a module export and resolves with its result', async () => {
    await expect(runInWorkerThread(task('sumTo'), [1000])).resolves.toBe(499_500);
  });

  it('runInWorkerThread() accepts an absolute path and a file: URL string', async () => {
    await expect(runInWorkerThread({ module: fileURLToPath(work), exportName: 'sumTo' }, [10])).resolves.toBe(
      45,
    );
    await expect(runInWorkerThread({ module: work.href, exportName: 'sumTo' }, [4])).resolves.toBe(6);
  });

  it('runInWorkerThread() runs a self-contained function re-created from its source', async () => {
    const result = await runInWorkerThread(
      (n: number, label: string) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += i;
        return `${label}=${sum}`;
      },
      [100, 'sum'],
    );
    expect(result).toBe('sum=4950');
  });

  it('runInWorkerThread() explains a function that uses its enclosing scope', async () => {
    const outside = 7;
    const error = await runInWorkerThread(() => outside * 2, []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReferenceError);
    expect((error as Error).message).toBe(
      'outside is not defined (runInWorkerThread re-creates a function from its source in the thread, so it ' +
        'cannot use variables or imports of its enclosing scope; pass { module, exportName } instead)',
    );
  });

  it('runInWorkerThread() rejects methods and bound functions, which cannot be re-created', async () => {
    const holder = {
      method() {
        return 1;
      },
    };
    await expect(runInWorkerThread(holder.method, [])).rejects.toThrow(SlotwiseOptionsError);
    await expect(runInWorkerThread(((n: number) => n).bind(null), [1])).rejects.toThrow(
      'runInWorkerThread: cannot re-create this function from its source',
    );
  });

  it('runInWorkerThread() passes on an error thrown in the thread with its name, message, code and stack', async () => {
    const error = (await runInWorkerThread(task('failWith'), ['bad input']).catch(
      (e: unknown) => e,
    )) as Error & {
      code?: string;
    };
    expect(error).toBeInstanceOf(RangeError);
    expect(error.name).toBe('RangeError');
    expect(error.message).toBe('bad input');
    expect(error.code).toBe('E_TEST');
    expect(error.stack).toContain('at failWith (');
    expect(error.stack).toContain('cpu-work.mjs');
  });

  it('runInWorkerThread() terminates the thread mid-loop when the signal aborts, rejecting with its reason', async () => {
    const counter = sharedCounter();
    const controller = new AbortController();
    const running = runInWorkerThread(task('spinForever'), [counter], { signal: controller.signal });
    await untilCounting(counter);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    const [before, after] = await twoReads(counter);
    expect(after).toBe(before);
  });

  it('runInWorkerThread() starts no thread for an already aborted signal', async () => {
    const counter = sharedCounter();
    const reason = new Error('too late');
    await expect(
      runInWorkerThread(task('spinForever'), [counter], { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    await sleep(100);
    expect(Atomics.load(counter, 0)).toBe(0);
  });

  it("runInWorkerThread() uses the activity's cancellation signal by default", async () => {
    const activity = testActivity();
    const counter = sharedCounter();
    const running = activity.run(() => runInWorkerThread(task('spinForever'), [counter]));
    await untilCounting(counter);
    const reason = activity.cancel();
    const error = await running.catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(error).toBeInstanceOf(CancelledFailure);
    const [before, after] = await twoReads(counter);
    expect(after).toBe(before);
  });

  it('runInWorkerThread() terminates a thread that left timers running after it returned', async () => {
    const counter = sharedCounter();
    const result = await runInWorkerThread(
      (shared: Int32Array) => {
        setInterval(() => Atomics.add(shared, 0, 1), 1);
        return 'returned';
      },
      [counter],
    );
    expect(result).toBe('returned');
    const [before, after] = await twoReads(counter);
    expect(after).toBe(before);
  });

  it('runInWorkerThread() rejects when the thread exits without a result', async () => {
    await expect(runInWorkerThread(() => process.exit(3), [])).rejects.toThrow(
      'runInWorkerThread: the thread exited with code 3 before returning a result.',
    );
  });

  it('runInWorkerThread() rejects with ERR_WORKER_OUT_OF_MEMORY past its resourceLimits', async () => {
    const error = await runInWorkerThread(
      () => {
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array(100_000).fill(1));
      },
      [],
      { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } },
    ).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ERR_WORKER_OUT_OF_MEMORY');
  });

  it('runInWorkerThread() names a missing or non-function export', async () => {
    await expect(runInWorkerThread(task('nope'), [])).rejects.toThrow(
      `runInWorkerThread: ${work.href} has no exported function "nope" ` +
        '(exported functions: failWith, leaveTimerOpen, spinForever, sumTo)',
    );
    await expect(runInWorkerThread(task('notAFunction'), [])).rejects.toThrow(TypeError);
  });

  it('runInWorkerThread() rejects invalid input with precise messages', async () => {
    await expect(runInWorkerThread({ module: './work.js' }, [])).rejects.toThrow(
      'runInWorkerThread: expected `module` to be an absolute path or a file: URL, got `"./work.js"` (string).',
    );
    await expect(runInWorkerThread({ module: new URL('https://example.com/w.js') }, [])).rejects.toThrow(
      'runInWorkerThread: expected `module` to be a file: URL, got https://example.com/w.js.',
    );
    await expect(runInWorkerThread(task('sumTo'), [1], { signl: undefined } as never)).rejects.toThrow(
      'runInWorkerThread: unknown option `signl`. Did you mean `signal`?',
    );
    await expect(runInWorkerThread(task('sumTo'), 5 as never)).rejects.toThrow(
      'runInWorkerThread: expected `args` to be an array, got `5` (number).',
    );
  });
});
