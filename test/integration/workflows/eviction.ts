// Test workflows for the eviction integration tests. Workflow sandbox: no Node imports.
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import { proxyEvictableActivities } from '../../../src/workflows/evictable-activity.js';

/** Input of {@link evictableCallWorkflow}. */
export interface EvictableCallInput {
  /** Activity type, as the test registers it on its Worker. */
  activity: string;
  args?: unknown[];
}

/**
 * Calls one activity through `proxyEvictableActivities` with `maximumAttempts: 1`: a real failure
 * fails the workflow at once, while an evicted call is followed by another (at once after a capacity or
 * shutdown eviction, after the retry delay after a TTL one).
 */
export async function evictableCallWorkflow(input: EvictableCallInput): Promise<unknown> {
  const activities = proxyEvictableActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 1 },
  });
  return activities[input.activity]!(...(input.args ?? []));
}

/**
 * Calls one activity through plain `proxyActivities` (Temporal's default priority key, 3): new work,
 * which outranks the waits of {@link evictableCallWorkflow} (key 4) and may evict them.
 */
export async function plainCallWorkflow(input: EvictableCallInput): Promise<unknown> {
  const activities = proxyActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 1 },
  });
  return activities[input.activity]!(...(input.args ?? []));
}

/** Input of {@link evictableFlagWorkflow} (passed on to the `waitForFlag` activity as it is). */
export interface EvictableFlagInput {
  name: string;
  /** The wait's eviction priority (lower values are evicted first). */
  priority?: number;
  /** Give the wait a TTL (milliseconds). */
  ttlMs?: number;
  /** Failures of the activity before it waits (it throws on its first `failFirst` attempts). */
  failFirst?: number;
  retryDelayMs?: number;
  /** `retry.maximumAttempts` of the proxy. @default 1 */
  maximumAttempts?: number;
  /** Resume an evicted call when the `flag` signal has arrived (else on the TTL retry delay). @default true */
  resumeOnSignal?: boolean;
}

/**
 * One `waitForFlag` call through `proxyEvictableActivities`, resumed after an eviction when the `flag`
 * signal has arrived. `evictionAttempts: 1` would leave the old retry-based proxy one attempt for
 * evictions; evictions must not use attempts at all.
 */
export async function evictableFlagWorkflow(input: EvictableFlagInput): Promise<unknown> {
  let flagged = false;
  setHandler(flagSignal, () => {
    flagged = true;
  });
  const activities = proxyEvictableActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: input.maximumAttempts ?? 1, initialInterval: '100 ms', backoffCoefficient: 1 },
    evictionAttempts: 1,
    ...(input.resumeOnSignal === false ? {} : { resumeWhen: () => flagged }),
  });
  return activities.waitForFlag!(input);
}

/** The signal that tells {@link evictableFlagWorkflow} its flag is set. */
export const flagSignal = defineSignal('flag');

/** One short activity with Temporal's default priority: new work. */
export async function quickWorkWorkflow(input: { name: string; ms: number }): Promise<unknown> {
  const { quickWork } = proxyActivities<{ quickWork(input: { name: string; ms: number }): Promise<string> }>({
    startToCloseTimeout: '1 minute',
  });
  return quickWork(input);
}
