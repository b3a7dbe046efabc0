import { existsSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { cancellationSignal } from '../activities/cancellation.js';
import { releaseSlot } from '../activities/current-slot.js';
import { evictableWait, lastCheckpoint } from '../activities/evictable-wait.js';
import { runInWorkerThread } from '../activities/worker-thread.js';

/** Input of {@link renderThenUpload}. */
export interface RenderThenUploadInput {
  /** The heavy part, under the slot, in milliseconds. */
  renderMs: number;
  /** The light part, after the slot is released, in milliseconds. */
  uploadMs: number;
}

/**
 * Example of manual slot release: "renders" for `renderMs` holding its slot, calls
 * `releaseSlot()`, then "uploads" for `uploadMs` while the next task already runs. Needs
 * slotwise's activity interceptor. Returns whether the slot was released early.
 *
 * @example
 * ```ts
 * import { renderThenUpload } from 'slotwise/examples/activities';
 * // Worker.create({ activities: { renderThenUpload }, interceptors: { activity: [slotwiseActivityInterceptor] }, ... })
 * ```
 */
export async function renderThenUpload(input: RenderThenUploadInput): Promise<boolean> {
  await Context.current().sleep(input.renderMs);
  const released = releaseSlot();
  await Context.current().sleep(input.uploadMs);
  return released;
}

/** Counts primes below `n`: synchronous CPU work, self-contained so it can run in a worker thread. */
function countPrimesBelow(n: number): number {
  let count = 0;
  for (let candidate = 2; candidate < n; candidate++) {
    let prime = true;
    for (let d = 2; d * d <= candidate; d++) {
      if (candidate % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/**
 * Example of cancellation that really stops CPU work: counts primes below `below` in a worker
 * thread that is terminated the moment the activity is cancelled (the activity must heartbeat for
 * cancellation to arrive: give it a `heartbeatTimeout`).
 *
 * @example
 * ```ts
 * import { countPrimes } from 'slotwise/examples/activities';
 * // Worker.create({ activities: { countPrimes }, ... }); a workflow calls countPrimes({ below: 5_000_000 })
 * ```
 */
export async function countPrimes(input: { below: number }): Promise<number> {
  const heartbeat = setInterval(() => Context.current().heartbeat(), 200);
  try {
    return await runInWorkerThread(countPrimesBelow, [input.below], { signal: cancellationSignal() });
  } finally {
    clearInterval(heartbeat);
  }
}

/** Input of {@link waitForFile}. */
export interface WaitForFileInput {
  /** The file whose appearance ends the wait. */
  path: string;
  /** Evict after this long waiting, in milliseconds. @default no TTL */
  ttlMs?: number;
  /** Eviction priority: lower is evicted first. @default 0 */
  priority?: number;
}

/**
 * Example of an evictable wait: waits for a file to appear while holding its slot, heartbeating
 * how many times it looked; gives the slot back on TTL, to waiting work, or at shutdown, and
 * resumes counting from its checkpoint on the retry. Returns how many checks it took in all.
 *
 * @example
 * ```ts
 * import { waitForFile } from 'slotwise/examples/activities';
 * // a workflow: proxyEvictableActivities<typeof activities>({ startToCloseTimeout: '1 hour' }).waitForFile({ path: '/data/ready' })
 * ```
 */
export async function waitForFile(input: WaitForFileInput): Promise<number> {
  let checks = lastCheckpoint<{ checks: number }>()?.checks ?? 0;
  return evictableWait(
    () => {
      checks++;
      return existsSync(input.path) ? checks : 0;
    },
    {
      pollIntervalMs: 200,
      priority: input.priority ?? 0,
      ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
      checkpoint: () => ({ checks }),
    },
  );
}
