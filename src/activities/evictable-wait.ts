import type { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import { slotPairing } from '../suppliers/slot-pairing.js';
import { requireActivityContext } from './activity-context.js';
import { type EvictionReason, evictionFailure } from './eviction-failure.js';
import {
  DEFAULT_PRIORITY_KEY,
  type EvictableWaiter,
  evictionRegistry,
  type WaiterInfo,
} from './eviction-registry.js';
import { startHeartbeatLoop } from './heartbeat-loop.js';
import { type ResumeState, resumeStateOf } from './resume-state.js';
import { claimOf } from './slot-interceptor.js';

/** Options of {@link evictableWait}. */
export interface EvictableWaitOptions {
  /**
   * Milliseconds between two calls of `check` (the first call is made at once).
   * @default 1000
   */
  pollIntervalMs?: number;
  /**
   * Milliseconds of uninterrupted waiting after which the wait gives its slot back (reason `ttl`).
   * The clock starts anew with every attempt.
   * @default Infinity (no TTL)
   */
  ttlMs?: number;
  /**
   * Whether the wait gives its slot back when new work needs it (reason `capacity`): reservations wait
   * on the supplier that issued its slot and the task queue has activity tasks in its backlog. Needs
   * slotwise's activity interceptor on the Worker and a slotwise activity slot supplier.
   * @default true
   */
  capacityEviction?: boolean;
  /**
   * Eviction order among capacity-evictable waits of one supplier: lower values are evicted first;
   * among equal priorities, the one that has waited longest in its current attempt goes first.
   * @default 0
   */
  priority?: number;
  /**
   * Heartbeat details recorded while waiting; the next attempt reads them with {@link lastCheckpoint}.
   * A function is called at each heartbeat and once more at the eviction, so the next attempt resumes
   * from the last value it returned.
   * @default the previous attempt's checkpoint ({@link lastCheckpoint}), so it carries over
   */
  checkpoint?: unknown;
  /**
   * Milliseconds before the wait runs again after a TTL eviction (a capacity or shutdown eviction is
   * resumed as soon as a slot is free). Doubled with every eviction, up to `maxRetryDelayMs`.
   * @default 1000
   */
  retryDelayMs?: number;
  /**
   * Upper bound of the growing retry delay, in milliseconds.
   * @default 60_000
   */
  maxRetryDelayMs?: number;
}

type Falsy = false | 0 | 0n | '' | null | undefined;

/** What `check` returns once the wait is over: its value without the falsy cases. */
export type Truthy<T> = Exclude<T, Falsy>;

const OWNER = 'evictableWait';
const KNOWN_KEYS = [
  'pollIntervalMs',
  'ttlMs',
  'capacityEviction',
  'priority',
  'checkpoint',
  'retryDelayMs',
  'maxRetryDelayMs',
] as const;

interface ResolvedOptions {
  pollIntervalMs: number;
  ttlMs: number;
  capacityEviction: boolean;
  priority: number;
  checkpoint: unknown;
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

/** The longest delay `setTimeout` honours (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

function positiveMs(option: string, value: unknown, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  const valid =
    typeof value === 'number' &&
    value >= 1 &&
    (value <= MAX_TIMER_MS || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!valid) {
    const range = `in [1, ${MAX_TIMER_MS}]${allowInfinity ? ' or Infinity' : ''}`;
    optionError(OWNER, option, `a number of milliseconds ${range}`, value);
  }
  return value;
}

/**
 * The checkpoint an attempt starts from: the last heartbeat of a failed attempt of this call, else the
 * checkpoint the last evicted call of it produced (told by the workflow), else nothing.
 */
function startingCheckpoint(context: Context, resume: ResumeState | undefined): unknown {
  const { heartbeatDetails } = context.info;
  if (heartbeatDetails !== undefined) return heartbeatDetails;
  return resume?.hasCheckpoint ? resume.checkpoint : undefined;
}

function resolveOptions(context: Context, options: EvictableWaitOptions): ResolvedOptions {
  checkOptionsObject(OWNER, options, true);
  checkKnownKeys(OWNER, options, KNOWN_KEYS);
  const { capacityEviction = true, priority = 0 } = options;
  if (typeof capacityEviction !== 'boolean') {
    optionError(OWNER, 'capacityEviction', 'a boolean', capacityEviction);
  }
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    optionError(OWNER, 'priority', 'a finite number (lower values are evicted first)', priority);
  }
  const retryDelayMs = positiveMs('retryDelayMs', options.retryDelayMs, 1000);
  const maxRetryDelayMs = positiveMs(
    'maxRetryDelayMs',
    options.maxRetryDelayMs,
    Math.max(60_000, retryDelayMs),
  );
  if (maxRetryDelayMs < retryDelayMs) {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected \`maxRetryDelayMs\` (${maxRetryDelayMs}) to be at least \`retryDelayMs\` (${retryDelayMs}).`,
    );
  }
  return {
    pollIntervalMs: positiveMs('pollIntervalMs', options.pollIntervalMs, 1000),
    ttlMs: positiveMs('ttlMs', options.ttlMs, Infinity, true),
    capacityEviction,
    priority,
    checkpoint:
      options.checkpoint === undefined
        ? startingCheckpoint(context, resumeStateOf(context))
        : options.checkpoint,
    retryDelayMs,
    maxRetryDelayMs,
  };
}

function waiterInfo(context: Context): WaiterInfo {
  const { info } = context;
  const execution = info.workflowExecution;
  const namespace = info.activityNamespace;
  return {
    namespace,
    taskQueue: info.taskQueue,
    activityType: info.activityType,
    activityId: info.activityId,
    workflowId: execution?.workflowId,
    attempt: info.attempt,
    isLocal: info.isLocal,
    priorityKey: info.priority?.priorityKey || DEFAULT_PRIORITY_KEY,
  };
}

function workerClient(context: Context): Client | undefined {
  try {
    return context.client;
  } catch {
    return undefined; // a Worker without a connection (a test environment) has no client
  }
}

function isWorkerShutdown(context: Context): boolean {
  if (context.cancellationDetails?.workerShutdown) return true;
  const reason: unknown = context.cancellationSignal.reason;
  return reason instanceof CancelledFailure && reason.message === 'WORKER_SHUTDOWN';
}

/**
 * Waits inside an activity until `check()` returns a truthy value, and returns that value, while the
 * activity holds its slot; gives the slot back when the wait should not hold it any longer:
 * - after `ttlMs` of uninterrupted waiting (reason `ttl`);
 * - when `capacityEviction` is on and new work needs the slot (reason `capacity`): reservations wait on
 *   the slotwise supplier that issued this activity's slot, and the task queues that supplier serves
 *   have activity tasks in their backlog. One wait is evicted per waiting reservation, lowest
 *   `priority` first, then the one waiting longest;
 * - when the Worker shuts down (reason `shutdown`): on the Worker's `WORKER_SHUTDOWN` cancellation
 *   (sent once `shutdownGraceTime` is over) or at once with {@link evictAllWaiting}.
 *
 * An evicted wait frees its slot at once and rejects with a retryable `ApplicationFailure` of type
 * {@link EVICTION_FAILURE_TYPE} whose `nextRetryDelay` is `retryDelayMs` (doubled per attempt). Let it
 * propagate: the activity attempt ends, Temporal schedules the next attempt, and that attempt resumes
 * from the checkpoint this wait heartbeated ({@link lastCheckpoint}). The workflow sees one activity
 * call; use `proxyEvictableActivities()` from `slotwise/workflows` for a retry policy that allows it.
 * Everything before the wait runs again on the next attempt: make it idempotent or skip it by checkpoint.
 *
 * While waiting, the activity heartbeats its `checkpoint` (a third of `heartbeatTimeout` apart, 1 s
 * without one), so it also notices cancellation: a cancel that is not a shutdown rejects with the
 * `CancelledFailure`. A `check` that throws rejects with its error. Do not run another heartbeat loop
 * during the wait. Throws an {@link ActivityContextError} outside an activity and a
 * `SlotwiseOptionsError` for invalid options.
 *
 * Capacity eviction reads the backlog with the Worker's client (`describeTaskQueue`, 4 partitions)
 * only while reservations wait on a supplier that holds capacity-evictable waits, every 250 ms at most.
 * A poller waiting for a slot alone is not new work: core reserves a slot before every poll, so a full
 * supplier always has a waiting reservation. The retry of an evicted wait is not new work either: it
 * evicts only a wait of lower priority. In local activities the waiting local-activity reservations
 * are the new work (no backlog read).
 *
 * @example
 * ```ts
 * import { evictableWait, lastCheckpoint } from 'slotwise/activities';
 *
 * declare function startExport(id: string): Promise<string>; // returns a job id
 * declare function exportDone(jobId: string): Promise<string | undefined>; // the file URL once done
 *
 * export async function exportReport(id: string): Promise<string> {
 *   const jobId = lastCheckpoint<{ jobId: string }>()?.jobId ?? (await startExport(id));
 *   return evictableWait(() => exportDone(jobId), {
 *     checkpoint: { jobId }, // => the next attempt skips startExport
 *     pollIntervalMs: 5_000,
 *     ttlMs: 10 * 60_000,
 *     priority: 1,
 *   });
 * }
 * ```
 */
export async function evictableWait<T>(
  check: () => T | PromiseLike<T>,
  options: EvictableWaitOptions = {},
): Promise<Truthy<Awaited<T>>> {
  const context = requireActivityContext('evictableWait()');
  if (typeof check !== 'function') optionError(OWNER, 'check', 'a function', check);
  const resolved = resolveOptions(context, options);
  const signal = context.cancellationSignal;
  const claim = claimOf(context);
  const since = evictionRegistry.now();
  const info = waiterInfo(context);
  const resume = resumeStateOf(context);
  if (resolved.capacityEviction && claim === undefined) {
    context.log.warn(
      "slotwise: evictableWait() cannot be evicted for capacity without slotwise's activity interceptor on this Worker; " +
        'add `interceptors: { activity: [slotwiseActivityInterceptor] }` (TTL and shutdown still evict)',
    );
  } else if (
    resolved.capacityEviction &&
    claim?.slot === undefined &&
    !slotPairing.isServed({ taskQueue: info.taskQueue, isLocal: info.isLocal })
  ) {
    context.log.warn(
      `slotwise: evictableWait() cannot be evicted for capacity: the activity slots of task queue "${info.taskQueue}" ` +
        'do not come from a slotwise supplier (TTL and shutdown still evict)',
    );
  }

  return new Promise<Truthy<Awaited<T>>>((resolve, reject) => {
    let settled = false;
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    let ttlTimer: ReturnType<typeof setTimeout> | undefined;
    const heartbeats = startHeartbeatLoop({ details: resolved.checkpoint });

    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(pollTimer);
      clearTimeout(ttlTimer);
      signal.removeEventListener('abort', onAbort);
      heartbeats.stop();
      unregister();
      settle();
    };
    const waiter: EvictableWaiter = {
      priority: resolved.priority,
      capacityEviction: resolved.capacityEviction,
      since,
      info,
      logger: context.log,
      slot: () => claim?.slot,
      client: () => workerClient(context),
      evict(reason: EvictionReason, waitedMs: number): number {
        // Durable calls count evictions themselves; server retries count attempts.
        const earlier = resume?.evictions ?? Math.max(info.attempt - 1, 0);
        const exponent = Math.min(earlier, 52);
        const retryDelayMs = Math.min(resolved.retryDelayMs * 2 ** exponent, resolved.maxRetryDelayMs);
        const checkpoint = heartbeats.details();
        heartbeats.stop();
        // The last checkpoint, heartbeated now: the Worker sends the last heartbeat with the failure,
        // so the next attempt resumes from it even inside the heartbeat throttle interval.
        if (checkpoint !== undefined) context.heartbeat(checkpoint);
        claim?.slot?.releaseEarly();
        const failure = evictionFailure(
          { reason, waitedMs, attempt: info.attempt, evictions: earlier + 1, checkpoint },
          retryDelayMs,
          resume !== undefined,
        );
        finish(() => reject(failure));
        return retryDelayMs;
      },
    };
    const unregister = evictionRegistry.add(waiter);
    function onAbort(): void {
      if (isWorkerShutdown(context)) evictionRegistry.evict(waiter, 'shutdown');
      else finish(() => reject(signal.reason));
    }

    const poll = async (): Promise<void> => {
      try {
        const value = await check();
        if (settled) return;
        if (value) finish(() => resolve(value as Truthy<Awaited<T>>));
        else pollTimer = setTimeout(poll, resolved.pollIntervalMs);
      } catch (error) {
        finish(() => reject(error));
      }
    };

    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    if (Number.isFinite(resolved.ttlMs)) {
      // Timers may fire a fraction of a millisecond early by the monotonic clock: wait out the rest.
      const expire = (): void => {
        const left = since + resolved.ttlMs - evictionRegistry.now();
        if (left > 0) ttlTimer = setTimeout(expire, Math.ceil(left));
        else evictionRegistry.evict(waiter, 'ttl');
      };
      ttlTimer = setTimeout(expire, resolved.ttlMs);
    }
    void poll();
  });
}

/**
 * The checkpoint the running activity resumes from, or `undefined` on a first run: the last heartbeat
 * details of its previous attempt, or, for a call that `proxyEvictableActivities()` made after an
 * eviction, the checkpoint the evicted call had when it was evicted. An activity that
 * {@link evictableWait} evicted reads here where to resume. Needs `slotwiseActivityInterceptor` on the
 * Worker for the second case. Throws an {@link ActivityContextError} outside an activity.
 *
 * @example
 * ```ts
 * import { evictableWait, lastCheckpoint } from 'slotwise/activities';
 *
 * declare function upload(file: string): Promise<void>;
 * declare function isProcessed(file: string): Promise<boolean>;
 *
 * export async function uploadAndAwait(file: string): Promise<void> {
 *   if (lastCheckpoint<{ uploaded: boolean }>()?.uploaded !== true) await upload(file); // => skipped on resume
 *   await evictableWait(() => isProcessed(file), { checkpoint: { uploaded: true } });
 * }
 * ```
 */
export function lastCheckpoint<T = unknown>(): T | undefined {
  const context = requireActivityContext('lastCheckpoint()');
  return startingCheckpoint(context, resumeStateOf(context)) as T | undefined;
}
