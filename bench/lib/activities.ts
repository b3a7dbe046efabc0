import { Worker } from 'node:worker_threads';
import { Context } from '@temporalio/activity';
import { CpuBurnerPool } from './cpu-burner.js';

/** What an activity reports when it starts and ends (wall-clock milliseconds, `Date.now()`). */
export interface ActivityEvent {
  type: 'start' | 'end' | 'error';
  activity: string;
  index: number;
  t: number;
  /** When the server scheduled this attempt (`currentAttemptScheduledTimestampMs`); on `start`. */
  scheduledMs?: number;
  error?: string;
}

let listener: ((event: ActivityEvent) => void) | null = null;
let burner: CpuBurnerPool | null = null;

/** Where activity events go (one listener per process). */
export function onActivityEvent(fn: ((event: ActivityEvent) => void) | null): void {
  listener = fn;
}

/** Closes the CPU burner threads, if any were started. */
export async function closeActivityResources(): Promise<void> {
  await burner?.close();
  burner = null;
}

function started(activity: string, index: number): void {
  const info = Context.current().info;
  listener?.({
    type: 'start',
    activity,
    index,
    t: Date.now(),
    scheduledMs: info.currentAttemptScheduledTimestampMs,
  });
}

async function reported<T>(activity: string, index: number, body: () => Promise<T>): Promise<T> {
  started(activity, index);
  try {
    const result = await body();
    listener?.({ type: 'end', activity, index, t: Date.now() });
    return result;
  } catch (error) {
    listener?.({ type: 'error', activity, index, t: Date.now(), error: String(error) });
    throw error;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A short activity: waits `workMs` (0: returns at once). */
export async function quick(input: { index: number; workMs: number }): Promise<number> {
  return reported('quick', input.index, async () => {
    if (input.workMs > 0) await sleep(input.workMs);
    return input.index;
  });
}

// CommonJS, evaluated in a worker thread: allocate, touch every page, report, hold, exit. When the
// thread exits its isolate is torn down and the memory is returned at once, so the cgroup's working
// set follows the running activities instead of the main isolate's garbage-collection schedule.
const HOLD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const buffer = Buffer.allocUnsafe(workerData.bytes);
buffer.fill(workerData.fill);
parentPort.postMessage('allocated');
setTimeout(() => { parentPort.postMessage(buffer[buffer.length - 1]); process.exit(0); }, workerData.holdMs);
`;

/**
 * Allocates `bytes`, writes every page (so the memory is really resident), holds it `holdMs`, then
 * frees it. The buffer lives in a short-lived worker thread, so it is freed when the activity ends.
 */
export async function holdMemory(input: { index: number; bytes: number; holdMs: number }): Promise<number> {
  return reported('holdMemory', input.index, async () => {
    const worker = new Worker(HOLD_CODE, {
      eval: true,
      workerData: { bytes: input.bytes, holdMs: input.holdMs, fill: input.index & 0xff },
    });
    return new Promise<number>((resolve, reject) => {
      let result = 0;
      worker.on('message', (message: unknown) => {
        if (typeof message === 'number') result = message;
      });
      worker.on('error', reject);
      worker.on('exit', (code) =>
        code === 0 ? resolve(result) : reject(new Error(`holdMemory thread exited with ${code}`)),
      );
    });
  });
}

/**
 * Burns CPU in a worker thread: `cycles` times, `burnIterations` of a spin loop then `sleepMs`
 * asleep. A fixed amount of work, so throughput is bounded by the CPU the process gets.
 */
export async function burnCpu(input: {
  index: number;
  cycles: number;
  burnIterations: number;
  sleepMs: number;
}): Promise<number> {
  return reported('burnCpu', input.index, async () => {
    burner ??= new CpuBurnerPool(32);
    await burner.run({ cycles: input.cycles, burnIterations: input.burnIterations, sleepMs: input.sleepMs });
    return input.index;
  });
}

/** The benchmark activities, as a Worker's `activities` option wants them. */
export const benchActivities = { quick, holdMemory, burnCpu } as const;

/** Their type, for `proxyActivities`. */
export type BenchActivities = typeof benchActivities;
