import type { Context } from '@temporalio/activity';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import { requireActivityContext } from './activity-context.js';

/** Options of {@link startHeartbeatLoop} and {@link withHeartbeats}. */
export interface HeartbeatLoopOptions {
  /**
   * Milliseconds between two heartbeats. Must be below the activity's `heartbeatTimeout` when one is
   * set. Heartbeats are cheap: the Worker throttles what it sends to the server to one call per 80 % of
   * `heartbeatTimeout` (or per the Worker's `defaultHeartbeatThrottleInterval`, 30 s by default, when
   * the activity has none), and a cancel request arrives with the reply to such a call.
   * @default a third of the activity's `heartbeatTimeout`, or 1000 when it has none
   */
  intervalMs?: number;
  /**
   * Details recorded with every heartbeat, available to the next attempt as
   * `activityInfo().heartbeatDetails`. A function is called at each beat, so it can report progress;
   * if it throws, the beat repeats the last details that were read successfully.
   * @default undefined (no details)
   */
  details?: unknown;
}

/** A running heartbeat loop, returned by {@link startHeartbeatLoop}. */
export interface HeartbeatLoop {
  /** Stops the loop. Idempotent. The loop also stops by itself once the activity is cancelled. */
  stop(): void;
  /** How many heartbeats the loop has sent so far. */
  readonly beats: number;
  /** Whether the loop still runs. */
  readonly running: boolean;
  /** The interval the loop uses, in milliseconds (the default resolved, or `intervalMs`). */
  readonly intervalMs: number;
  /**
   * The details as of now: `details`, or the value its function returns now (the last value read when
   * it throws). Sends nothing.
   */
  details(): unknown;
}

const OWNER = 'startHeartbeatLoop';
const KNOWN_KEYS = ['intervalMs', 'details'] as const;
/** Interval used when the activity has no `heartbeatTimeout`, in milliseconds. */
const INTERVAL_WITHOUT_TIMEOUT_MS = 1000;
/** Lower bound of the derived interval, in milliseconds. */
const MIN_DERIVED_INTERVAL_MS = 10;

/** The interval {@link startHeartbeatLoop} uses when none is given. */
function defaultIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  if (!heartbeatTimeoutMs) return INTERVAL_WITHOUT_TIMEOUT_MS;
  return Math.max(MIN_DERIVED_INTERVAL_MS, Math.floor(heartbeatTimeoutMs / 3));
}

function resolveInterval(context: Context, options: HeartbeatLoopOptions): number {
  const timeoutMs = context.info.heartbeatTimeoutMs || undefined;
  if (options.intervalMs === undefined) return defaultIntervalMs(timeoutMs);
  const { intervalMs } = options;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 1) {
    optionError(OWNER, 'intervalMs', 'a finite number of milliseconds >= 1', intervalMs);
  }
  if (timeoutMs !== undefined && intervalMs >= timeoutMs) {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected \`intervalMs\` to be below the activity's heartbeatTimeout (${timeoutMs} ms), ` +
        `got \`${intervalMs}\`; the activity would time out between two heartbeats. ` +
        `Leave it out to use ${defaultIntervalMs(timeoutMs)} ms.`,
    );
  }
  return intervalMs;
}

/**
 * Heartbeats the running activity every `intervalMs` (the first beat is sent at once) until
 * {@link HeartbeatLoop.stop | stop()} is called or the activity is cancelled. This is what keeps
 * cancellation flowing while the activity works: a cancel request reaches an activity only in the
 * server's reply to a heartbeat.
 *
 * How soon a cancel arrives depends on the Worker's heartbeat throttle, not on this loop: at most
 * 80 % of `heartbeatTimeout` (capped by the Worker's `maxHeartbeatThrottleInterval`) plus one round
 * trip. Measured on a dev server with `heartbeatTimeout: '1s'`: 26 to 739 ms, median 447 ms. Lower
 * `maxHeartbeatThrottleInterval` for faster cancellation at the cost of more heartbeat calls.
 *
 * The loop runs on the event loop, so it beats only while the activity awaits; synchronous CPU work
 * blocks it (run that with {@link runInWorkerThread}). It proves the process is alive, not that the
 * work progresses: pass `details` as a function returning progress if a stuck activity matters.
 * Always stop the loop when the activity ends ({@link withHeartbeats} does it for you). Throws an
 * {@link ActivityContextError} outside an activity and a `SlotwiseOptionsError` for invalid options.
 *
 * @example
 * ```ts
 * import { isCancelled, startHeartbeatLoop } from 'slotwise/activities';
 *
 * export async function checkPages(pages: string[]): Promise<number> {
 *   let done = 0;
 *   const loop = startHeartbeatLoop({ details: () => ({ done }) });
 *   try {
 *     for (const page of pages) {
 *       if (isCancelled()) break;
 *       await fetch(page, { method: 'HEAD' });
 *       done++;
 *     }
 *     return done;
 *   } finally {
 *     loop.stop();
 *   }
 * }
 * ```
 */
export function startHeartbeatLoop(options: HeartbeatLoopOptions = {}): HeartbeatLoop {
  const context = requireActivityContext('startHeartbeatLoop()');
  checkOptionsObject(OWNER, options, true);
  checkKnownKeys(OWNER, options, KNOWN_KEYS);
  const intervalMs = resolveInterval(context, options);
  const signal = context.cancellationSignal;
  const { details } = options;
  let lastDetails: unknown;
  let beats = 0;
  let running = true;

  const readDetails = (): unknown => {
    if (typeof details !== 'function') return details;
    try {
      lastDetails = details();
    } catch (error) {
      context.log.warn('slotwise: heartbeat details function threw; repeating the last details', {
        error,
      });
    }
    return lastDetails;
  };
  const beat = (): void => {
    if (!running) return;
    const value = readDetails();
    if (value === undefined) context.heartbeat();
    else context.heartbeat(value);
    beats++;
  };
  const stop = (): void => {
    if (!running) return;
    running = false;
    clearInterval(timer);
    signal.removeEventListener('abort', stop);
  };

  const timer = setInterval(beat, intervalMs);
  timer.unref();
  if (signal.aborted) {
    stop();
  } else {
    signal.addEventListener('abort', stop, { once: true });
    beat();
  }
  return {
    stop,
    get beats() {
      return beats;
    },
    get running() {
      return running;
    },
    intervalMs,
    details: readDetails,
  };
}

/**
 * Runs `work` with a {@link startHeartbeatLoop | heartbeat loop} around it, and stops the loop when
 * `work` settles, whichever way. `work` receives the activity's cancellation signal; it must honour it
 * (check it, or pass it on) for cancellation to stop the work: `withHeartbeats` does not abandon a
 * `work` that keeps running. Throws an {@link ActivityContextError} outside an activity.
 *
 * @example
 * ```ts
 * import { runInWorkerThread, withHeartbeats } from 'slotwise/activities';
 *
 * export async function render(sceneId: string): Promise<string> {
 *   return withHeartbeats((signal) =>
 *     runInWorkerThread({ module: new URL('./render.js', import.meta.url), exportName: 'render' }, [sceneId], {
 *       signal,
 *     }),
 *   );
 * }
 * ```
 */
export async function withHeartbeats<T>(
  work: (signal: AbortSignal) => T | Promise<T>,
  options: HeartbeatLoopOptions = {},
): Promise<T> {
  const context = requireActivityContext('withHeartbeats()');
  if (typeof work !== 'function') {
    optionError('withHeartbeats', 'work', 'a function', work);
  }
  const loop = startHeartbeatLoop(options);
  try {
    return await work(context.cancellationSignal);
  } finally {
    loop.stop();
  }
}
