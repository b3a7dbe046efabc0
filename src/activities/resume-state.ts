import type { Context } from '@temporalio/activity';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { processWide } from '../process-state.js';

/**
 * The header `proxyEvictableActivities()` (from `slotwise/workflows`) puts on every call of an
 * evictable activity; the same name is repeated there (workflow code must not import activity code).
 */
export const EVICTABLE_HEADER = 'slotwise-evictable';

/**
 * What the workflow tells an evictable activity about the calls of it that were evicted before: how
 * many, and the checkpoint the last one produced. Present only on calls through
 * `proxyEvictableActivities()`, which re-run the activity after an eviction themselves (instead of a
 * server retry); read by `slotwiseActivityInterceptor`.
 */
export interface ResumeState {
  /** Evictions of earlier calls. */
  evictions: number;
  /** Whether an earlier call produced a checkpoint (`checkpoint` may be `undefined` on purpose). */
  hasCheckpoint: boolean;
  /** The checkpoint the last evicted call produced. */
  checkpoint?: unknown;
}

// Process-wide: the interceptor that records a state and the evictableWait() that reads it may come
// from different builds of the package (ES module and CommonJS) loaded by one program.
const states = processWide('resumeStates', () => new WeakMap<Context, ResumeState>());

/** Records the resume state a call's headers carry, if any (the activity interceptor calls it). */
export function recordResumeState(context: Context, headers: Headers): void {
  const payload = headers[EVICTABLE_HEADER];
  if (payload === undefined) return;
  try {
    const state = defaultPayloadConverter.fromPayload<ResumeState>(payload);
    if (state && typeof state.evictions === 'number') states.set(context, state);
  } catch {
    // not ours to read: the activity runs as if called without it
  }
}

/** The resume state of the activity running in `context`, when it was called through the evictable proxy. */
export function resumeStateOf(context: Context): ResumeState | undefined {
  return states.get(context);
}
