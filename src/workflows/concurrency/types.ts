// Types shared by withConcurrency() (the holder side) and the controller workflow. Plain data only:
// everything here crosses a signal or a continue-as-new as JSON.

/**
 * What a concurrency group does with a new run for a key that is already at its `maxRuns` limit.
 *
 * - `GROUP_ROUND_ROBIN`: the new run waits; waiting runs are granted round-robin across keys, so one
 *   busy key cannot starve the others.
 * - `CANCEL_IN_PROGRESS`: the new run takes the place of the oldest run of that key: the controller
 *   cancels the oldest one's workflow and grants the new run once the cancelled one has let go.
 * - `CANCEL_NEWEST`: the new run is refused: `withConcurrency()` throws a
 *   {@link ConcurrencyRejectedError} in it and the running ones carry on.
 *
 * @example
 * ```ts
 * import { proxyActivities } from '@temporalio/workflow';
 * import { ConcurrencyStrategy, withConcurrency } from 'slotwise/workflows';
 *
 * const { deploy } = proxyActivities<{ deploy(service: string): Promise<void> }>({
 *   startToCloseTimeout: '10 minutes',
 * });
 *
 * // A newer deploy of a service replaces the one in progress.
 * export async function deployWorkflow(service: string): Promise<void> {
 *   await withConcurrency(
 *     { group: 'deploys', key: service, maxRuns: 1, strategy: ConcurrencyStrategy.CANCEL_IN_PROGRESS },
 *     () => deploy(service),
 *   );
 * }
 * ```
 */
export const ConcurrencyStrategy = {
  GROUP_ROUND_ROBIN: 'GROUP_ROUND_ROBIN',
  CANCEL_IN_PROGRESS: 'CANCEL_IN_PROGRESS',
  CANCEL_NEWEST: 'CANCEL_NEWEST',
} as const;

/**
 * One of the {@link ConcurrencyStrategy} names.
 *
 * @example
 * ```ts
 * import type { ConcurrencyStrategy } from 'slotwise/workflows';
 * const strategy: ConcurrencyStrategy = 'CANCEL_NEWEST';
 * ```
 */
export type ConcurrencyStrategy = (typeof ConcurrencyStrategy)[keyof typeof ConcurrencyStrategy];

/**
 * The limits of one concurrency group. Every run of a group should pass the same values; when they
 * differ, the most recent request's values apply from then on (runs already granted keep their grant).
 *
 * @example
 * ```ts
 * import type { ConcurrencyPolicy } from 'slotwise/workflows';
 * // 2 runs per tenant, 10 in all, tenants served in turn.
 * const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2, groupMaxRuns: 10 };
 * ```
 */
export interface ConcurrencyPolicy {
  /** What to do with a new run for a key at its limit. */
  strategy: ConcurrencyStrategy;
  /** Most runs of one key that hold a grant at once. An integer >= 1. */
  maxRuns: number;
  /**
   * Most runs of the whole group (all keys) that hold a grant at once. Runs under their key's limit
   * but over this one wait, whatever the strategy, and are granted round-robin across keys.
   * @default no group-wide limit
   */
  groupMaxRuns?: number;
}

/**
 * How a concurrency controller workflow runs. Each request may carry new values (the `controller`
 * option of {@link withConcurrency}); the latest win.
 *
 * @example
 * ```ts
 * import type { ConcurrencyControllerSettings } from 'slotwise/workflows';
 * import { DEFAULT_CONTROLLER_SETTINGS } from 'slotwise/internal/workflows/concurrency/options.js';
 * // Find terminated runs within about a minute, at one probe signal per held grant per 30 s.
 * const settings: ConcurrencyControllerSettings = { ...DEFAULT_CONTROLLER_SETTINGS, probeIntervalMs: 30_000 };
 * ```
 */
export interface ConcurrencyControllerSettings {
  /**
   * How often, in milliseconds, the controller checks that the runs holding a grant are still open
   * (one tick). A run that ended without releasing (terminated, timed out) loses its grant at the
   * first check after it has held it one whole tick. With the slotwise concurrency activities on the
   * controller's Workers the check describes the runs (nothing is added to their histories); without
   * them it signals them, at ticks 2, 4, 8, ... then every 256 ticks of a grant's age.
   * @default 10_000
   */
  probeIntervalMs: number;
  /**
   * How long, in milliseconds, the controller stays open with no run granted or waiting before it
   * completes. The next request starts a new one.
   * @default 60_000
   */
  idleTimeoutMs: number;
  /**
   * The controller continues as new (carrying its queued and running state) before its history
   * passes this many events, or earlier when the server suggests it. It keeps a reserve for the events
   * its commands in flight will still add; only a burst of incoming signals larger than the reserve
   * (a twentieth of this, at least 10) in one workflow task can pass it.
   * @default 2_000
   */
  maxHistoryEvents: number;
  /**
   * Most bytes the controller's carried state (runs granted and waiting, with the memory of recent
   * ones) may take, as JSON. The state is the input of each continue-as-new and the state query's
   * answer, and the server refuses payloads over its blob limit (2 MiB by default), which terminates a
   * controller that continues as new with more. A request that does not fit is answered `full`: the
   * run waits on a timer and asks again (with a ticket, so runs refused earlier come in first). Keep
   * it at half the server's limit at most: decisions not yet delivered are carried beside the state.
   * @default 1_048_576
   */
  maxStateBytes: number;
  /**
   * The Workers of the runs' task queues and of the controller's register `concurrencyActivities`
   * (from `slotwise/activities`): runs ask and release through local activities (no extra workflow
   * task each), and the controller finds runs that ended without releasing, or were reset, by
   * describing them (nothing added to their histories). A Worker without them fails the workflow task
   * with a message saying so, and it is retried until a Worker has them. `false`: runs use signals, and
   * the controller probes long-held grants with signals (resets of waiting runs are not followed).
   * Every run of a group should pass the same value.
   * @default true
   */
  activities: boolean;
}

/**
 * One run's identity in a group: the request made by one `withConcurrency()` call.
 *
 * @example
 * ```ts
 * import type { ConcurrencyRunRef } from 'slotwise/internal/workflows/concurrency/types.js';
 * const run: ConcurrencyRunRef = { requestId: 'report-7/0f3c.../1', key: 'tenant-a', workflowId: 'report-7', runId: '0f3c...' };
 * ```
 */
export interface ConcurrencyRunRef {
  /**
   * Unique per `withConcurrency()` call: `workflowId/originalRunId/sequence`. It survives a reset of
   * the workflow (the reset run replays the same calls under the same original run id), so the reset
   * run keeps the request, and the grant, of the run it replaced.
   */
  requestId: string;
  /** The concurrency key within the group. */
  key: string;
  /** Workflow id of the run that asked. */
  workflowId: string;
  /** Run id of the run that holds the request now; decisions are signalled to exactly this run. */
  runId: string;
  /**
   * The run id recorded when the asking run started (`workflowInfo().originalExecutionRunId`): the same
   * for a run and the runs a reset makes of it, so the controller can tell a reset run (it takes over
   * the request) from a new run that reuses the workflow id (it does not).
   */
  originalRunId?: string;
}

/**
 * The request signal a run sends to its group's controller.
 *
 * @example
 * ```ts
 * import type { ConcurrencyRequest } from 'slotwise/internal/workflows/concurrency/types.js';
 * const request: ConcurrencyRequest = {
 *   requestId: 'report-7/0f3c/1',
 *   key: 'tenant-a',
 *   workflowId: 'report-7',
 *   runId: '0f3c',
 *   policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2 },
 * };
 * ```
 */
export interface ConcurrencyRequest extends ConcurrencyRunRef {
  /** The group's limits as this run sees them. */
  policy: ConcurrencyPolicy;
  /** Controller settings this run asks for; missing ones keep their current value. */
  settings?: Partial<ConcurrencyControllerSettings>;
  /**
   * The place in line a controller with no room left gave this request (a `full` answer): asked again
   * with it, the request goes before those refused after it.
   */
  ticket?: number;
  /**
   * The run waits and asks again when answered `full`. Runs of a slotwise from before that answer
   * omit it, and their requests are kept whatever the budget: such a run would take `full` as leave to go.
   */
  acceptsFull?: boolean;
}

/**
 * A run that holds a grant, as the controller's state query lists it.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyControllerId, concurrencyStateQuery } from 'slotwise/workflows';
 * const client = new Client();
 * const { running } = await client.workflow.getHandle(concurrencyControllerId('reports')).query(concurrencyStateQuery);
 * const oldest = running[0]; // => { key: 'tenant-a', workflowId: 'report-7', grantedAt: 1767225600000, cancelRequested: false, ... }
 * ```
 */
export interface ConcurrencyRunningRun extends ConcurrencyRunRef {
  /** Workflow time of the grant, in epoch milliseconds. Informative: no decision reads it. */
  grantedAt: number;
  /**
   * The controller's tick count at the grant (a tick is one recorded firing of its check timer). The
   * age of a grant is counted in ticks, which replay identically, never in milliseconds.
   */
  grantedTick?: number;
  /** The controller has told this run to stop (`CANCEL_IN_PROGRESS`): a newer run of its key replaces it. */
  cancelRequested: boolean;
  /** Workflow id of the run that replaces this one, once `cancelRequested`. */
  replacedBy?: string;
}

/**
 * Counters of a group since its controller first started (they survive continue-as-new).
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyControllerId, concurrencyStateQuery } from 'slotwise/workflows';
 * const client = new Client();
 * const { stats } = await client.workflow.getHandle(concurrencyControllerId('reports')).query(concurrencyStateQuery);
 * // => { granted: 120, released: 118, cancelled: 0, rejected: 0, reclaimed: 1 }
 * ```
 */
export interface ConcurrencyStats {
  /** Runs granted. */
  granted: number;
  /** Grants given back: released by the run, or found closed by the controller. */
  released: number;
  /** Runs the controller told to stop because a newer run of their key replaces them (`CANCEL_IN_PROGRESS`). */
  cancelled: number;
  /** Runs refused at their key's limit (`CANCEL_NEWEST`). */
  rejected: number;
  /** Grants freed because the controller found the run closed without releasing. */
  reclaimed: number;
  /**
   * Requests answered `full`: the controller's state had no room for them (`maxStateBytes`), so the
   * run waits on a timer and asks again. Each ask counts. Absent before the first.
   */
  full?: number;
}

/**
 * The whole grant state of a group: plain JSON, carried across continue-as-new.
 *
 * @example
 * ```ts
 * import { emptyGrantState } from 'slotwise/internal/workflows/concurrency/grant-state.js';
 * import type { ConcurrencyGrantState } from 'slotwise/internal/workflows/concurrency/types.js';
 * const state: ConcurrencyGrantState = emptyGrantState({ strategy: 'CANCEL_NEWEST', maxRuns: 1 });
 * JSON.parse(JSON.stringify(state)); // => the same state: it survives continue-as-new
 * ```
 */
export interface ConcurrencyGrantState {
  /** The limits in force. */
  policy: ConcurrencyPolicy;
  /** Runs holding a grant, oldest grant first. */
  running: ConcurrencyRunningRun[];
  /** Runs waiting for a grant, oldest request first. */
  queued: ConcurrencyRunRef[];
  /**
   * Round-robin memory: for each key with runs granted or waiting, the `stats.granted` count at its
   * latest grant. The key served longest ago (or never) goes next. Keys with nothing granted or
   * waiting are forgotten.
   */
  lastGrant: Array<{ key: string; grant: number }>;
  /** Counters. */
  stats: ConcurrencyStats;
  /**
   * The latest requests that ended (released, reclaimed, or dropped while waiting) with the run that
   * made them, oldest first, at most 1000: a late repeat of one of them from the same run (an ask
   * still in flight when the run had already asked another way, been granted and released) is
   * ignored instead of granted a second time. A run a reset made has another run id and is served.
   * Absent in states saved before it existed.
   */
  closed?: Array<{ requestId: string; runId: string }>;
  /**
   * Places in line of requests refused for want of room (`full`): `issued` tickets given so far,
   * tickets up to `admitted` may come in once there is room. Absent until the first refusal.
   */
  overflow?: { issued: number; admitted: number };
}

/**
 * What the controller must do after a change of its grant state.
 *
 * @example
 * ```ts
 * import type { ConcurrencyEffect } from 'slotwise/internal/workflows/concurrency/types.js';
 * const run = { requestId: 'w/r/1', key: 'k', workflowId: 'w', runId: 'r' };
 * const effects: ConcurrencyEffect[] = [{ type: 'grant', run }, { type: 'cancel', run, queued: false, by: 'w2' }];
 * ```
 */
export type ConcurrencyEffect =
  /** Tell the run it may go. */
  | { type: 'grant'; run: ConcurrencyRunRef }
  /**
   * Tell the run to stop, a newer run of its key (workflow id `by`) replaces it (`CANCEL_IN_PROGRESS`);
   * `queued` when it never got a grant.
   */
  | { type: 'cancel'; run: ConcurrencyRunRef; queued: boolean; by: string }
  /** Tell the run it is refused (`CANCEL_NEWEST`). */
  | { type: 'reject'; run: ConcurrencyRunRef; reason: string }
  /** Tell the run there is no room for its request now: ask again later, with `ticket`. */
  | { type: 'full'; run: ConcurrencyRunRef; ticket: number; retryAfterMs: number; reason: string };

/**
 * The controller's answer to a request, signalled to the run that asked.
 *
 * @example
 * ```ts
 * import type { ConcurrencyDecision } from 'slotwise/internal/workflows/concurrency/types.js';
 * const decision: ConcurrencyDecision = { requestId: 'w/r/1', outcome: 'rejected', reason: 'key "k" is full' };
 * ```
 */
export interface ConcurrencyDecision {
  /** The request this answers. */
  requestId: string;
  /**
   * `granted`: run now. `queued`: wait for a later `granted` (only as the answer to an acquire update).
   * `rejected`: refused, `reason` says why. `cancelled`: stop, a newer run of the key (`by`) replaces
   * this one (`CANCEL_IN_PROGRESS`); a granted run keeps its grant until it has stopped. `full`: the
   * controller's state has no room for another request (`maxStateBytes`); the request is not kept,
   * ask again later with `ticket`.
   */
  outcome: 'granted' | 'queued' | 'rejected' | 'cancelled' | 'full';
  /** Why a run was rejected or cancelled. */
  reason?: string;
  /** Workflow id of the run that replaces a cancelled one. */
  by?: string;
  /** The place in line a `full` answer gives: the request asked again with it goes first. */
  ticket?: number;
  /** How long a run answered `full` should wait before it asks again (longer the further back it is). */
  retryAfterMs?: number;
}

/** One shard of a group: `index` in [0, `count`), `count` its `controller.shards`. */
export interface ConcurrencyShard {
  index: number;
  count: number;
}

/**
 * Input of the controller workflow (first start and every continue-as-new). `withConcurrency()`
 * starts the controller itself; starting one by hand only needs the group.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyControllerId } from 'slotwise/workflows';
 * import type { ConcurrencyControllerInput } from 'slotwise/internal/workflows/concurrency/types.js';
 * const client = new Client();
 * const input: ConcurrencyControllerInput = { group: 'reports', settings: { idleTimeoutMs: 3_600_000 } };
 * await client.workflow.start('concurrencyControllerWorkflow', {
 *   taskQueue: 'reports',
 *   workflowId: concurrencyControllerId('reports'),
 *   args: [input],
 * });
 * ```
 */
export interface ConcurrencyControllerInput {
  /** The group this controller serves. */
  group: string;
  /** Which shard of the group this controller serves, when the group has `shards` > 1. */
  shard?: ConcurrencyShard;
  /** Grant state carried over; absent on a first start. */
  state?: ConcurrencyGrantState;
  /** Requests not yet applied (the request that started the controller). */
  requests?: ConcurrencyRequest[];
  /**
   * Decisions not yet known to be delivered (deferred by a continue-as-new, or in flight at it). They
   * are sent again: runs ignore an answer they already have.
   */
  outbox?: ConcurrencyEffect[];
  /** Settings in force. */
  settings?: Partial<ConcurrencyControllerSettings>;
  /** How many times this controller has continued as new. @default 0 */
  generation?: number;
  /** Ticks (check timer firings) counted so far; grant ages are measured in ticks. @default 0 */
  tick?: number;
}

/**
 * What the controller's state query ({@link concurrencyStateQuery}) returns.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { type ConcurrencyControllerSnapshot, concurrencyControllerId, concurrencyStateQuery } from 'slotwise/workflows';
 * const client = new Client();
 * const snapshot: ConcurrencyControllerSnapshot = await client.workflow
 *   .getHandle(concurrencyControllerId('reports'))
 *   .query(concurrencyStateQuery);
 * snapshot.runningPerKey; // => { 'tenant-a': 2, 'tenant-b': 1 }
 * snapshot.queued.length; // => 14
 * ```
 */
export interface ConcurrencyControllerSnapshot {
  /** The group this controller serves. */
  group: string;
  /** The shard of the group, when the group has `shards` > 1. */
  shard?: ConcurrencyShard;
  /**
   * How the controller finds runs that ended without releasing: `describe` (its Workers run the
   * slotwise concurrency activities: nothing is added to the runs' histories), `probe` (they do not:
   * it signals long-held grants, less and less often), or `unknown` until its first check.
   */
  holderCheck: 'describe' | 'probe' | 'unknown';
  /** How many times this controller has continued as new. */
  generation: number;
  /** The limits in force. */
  policy: ConcurrencyPolicy;
  /** Settings in force. */
  settings: ConcurrencyControllerSettings;
  /** Runs holding a grant, oldest grant first. */
  running: ConcurrencyRunningRun[];
  /** Runs waiting for a grant, oldest request first. */
  queued: ConcurrencyRunRef[];
  /** Runs holding a grant, per key. */
  runningPerKey: Record<string, number>;
  /** Counters. */
  stats: ConcurrencyStats;
}

/**
 * What the controller returns when it completes after being idle.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyControllerId } from 'slotwise/workflows';
 * import type { ConcurrencyControllerResult } from 'slotwise/internal/workflows/concurrency/types.js';
 * const client = new Client();
 * const result: ConcurrencyControllerResult = await client.workflow.getHandle(concurrencyControllerId('reports')).result();
 * // => { group: 'reports', generation: 3, stats: { granted: 5000, released: 5000, ... } }
 * ```
 */
export interface ConcurrencyControllerResult {
  /** The group this controller served. */
  group: string;
  /** How many times it continued as new. */
  generation: number;
  /** Counters over its whole life. */
  stats: ConcurrencyStats;
}
