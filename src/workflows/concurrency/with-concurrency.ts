import { type ActivityOptions, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityCancellationType,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  proxySinks,
  setHandler,
  sleep,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { runWithScheduleHook, type ScheduleHook, scheduleHooksAvailable } from '../schedule-hooks.js';
import {
  CONCURRENCY_ACTIVITY_TYPES,
  CONCURRENCY_SINK_NAME,
  type ConcurrencyAcquireOutput,
  type ConcurrencySinks,
} from './activity-contract.js';
import type { concurrencyControllerWorkflow } from './controller-workflow.js';
import {
  ConcurrencyCancelledError,
  ConcurrencyOptionsError,
  ConcurrencyRejectedError,
  isMissingActivity,
  missingActivities,
} from './errors.js';
import { concurrencyLocalActivities } from './local-activities.js';
import {
  type ResolvedConcurrencyOptions,
  resolveConcurrencyOptions,
  type WithConcurrencyOptions,
} from './options.js';
import {
  CONCURRENCY_CONTROLLER_WORKFLOW_TYPE,
  concurrencyControllerId,
  concurrencyDecisionSignal,
  concurrencyProbeSignal,
  concurrencyReleaseSignal,
  concurrencyRequestSignal,
  concurrencyShardOf,
} from './signals.js';
import type { ConcurrencyControllerInput, ConcurrencyDecision, ConcurrencyRequest } from './types.js';

// Module state lives once per workflow execution: the SDK gives every execution its own module cache.
/** The latest decision per request this run waits for or holds (`undefined`: none yet). */
const decisions = new Map<string, ConcurrencyDecision | undefined>();
/** The cancellation scope of `fn`, per granted request, for a `cancelled` decision to cancel. */
const scopes = new Map<string, CancellationScope>();
let handlersInstalled = false;
let requestSequence = 0;

/** First wait, in ms, before a run answered `full` asks again; it doubles up to {@link FULL_RETRY_MAX_MS}. */
const FULL_RETRY_FIRST_MS = 1_000;
const FULL_RETRY_MAX_MS = 30_000;

/**
 * How long to wait before asking again after the `attempt`-th `full` answer (0-based): doubling, with
 * jitter, and no less than the controller asked for (runs far back in line wait longer).
 */
const fullRetryDelay = (attempt: number, asked = 0): number => {
  const base = Math.max(asked, Math.min(FULL_RETRY_MAX_MS, FULL_RETRY_FIRST_MS * 2 ** Math.min(attempt, 10)));
  // Math.random is seeded per run in workflow code: replay draws the same numbers.
  return Math.round(base * (0.75 + Math.random() * 0.5));
};

/** Records a decision; a `cancelled` one is final and cancels `fn` if it runs. */
function record(decision: ConcurrencyDecision): void {
  const { requestId } = decision;
  if (!decisions.has(requestId)) return; // not (or no longer) ours to wait for
  const current = decisions.get(requestId);
  if (current?.outcome === 'cancelled' || current?.outcome === 'rejected') return;
  if (decision.outcome === 'queued') return;
  if (current?.outcome === 'granted' && decision.outcome !== 'cancelled') return; // told again, or late
  decisions.set(requestId, decision);
  if (decision.outcome === 'cancelled') scopes.get(requestId)?.cancel();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  setHandler(concurrencyDecisionSignal, record);
  // Probes only test that this run is open; receiving one is enough.
  setHandler(concurrencyProbeSignal, () => undefined);
}

/**
 * Hands `request` to its controller by signal (runs whose Worker lacks the concurrency activities): a
 * signal to the open controller or, when there is none, a start of one (an abandoned child, so it
 * outlives this run) with the request as its input. A race with another run starting it, or with it
 * completing, just means another round.
 */
async function signalRequest(
  controllerId: string,
  taskQueue: string | undefined,
  start: ConcurrencyControllerInput,
  request: ConcurrencyRequest,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await getExternalWorkflowHandle(controllerId).signal(concurrencyRequestSignal, request);
      return;
    } catch {
      // No open controller (the only way a signal to a workflow id fails): start one.
    }
    try {
      await startChild<typeof concurrencyControllerWorkflow>(CONCURRENCY_CONTROLLER_WORKFLOW_TYPE, {
        workflowId: controllerId,
        taskQueue,
        args: [{ ...start, requests: [request] }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        priority: { priorityKey: 1 },
      });
      return;
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    if (attempt >= 3) await sleep(Math.min(attempt * 1_000, 10_000));
  }
}

/**
 * Sends the request: through the acquire activity when this run's Worker has it (the answer comes back
 * in the same workflow task), else by signal (the answer comes as a decision signal).
 */
async function ask(
  controllerId: string,
  taskQueue: string,
  start: ConcurrencyControllerInput,
  request: ConcurrencyRequest,
  resolved: ResolvedConcurrencyOptions,
): Promise<ConcurrencyAcquireOutput | undefined> {
  if (resolved.activities) {
    try {
      const { [CONCURRENCY_ACTIVITY_TYPES.acquire]: acquire } = concurrencyLocalActivities();
      return await acquire({ controllerId, taskQueue, start, request });
    } catch (error) {
      if (isMissingActivity(error)) throw missingActivities(error);
      log.warn('slotwise: withConcurrency() could not ask through its activity; it asks by signal', {
        group: resolved.group,
        error,
      });
    }
  }
  // A request the acquire activity delivered before failing is asked again: the controller answers
  // the repeat with the decision it already made.
  await signalRequest(controllerId, resolved.controllerTaskQueue, start, request);
  return undefined;
}

/**
 * Gives the grant back: through the Worker's release sink when the acquire activity said this run's
 * Worker has it (nothing in the history, no wait), else through the release activity, else by signal.
 */
async function giveBack(
  resolved: ResolvedConcurrencyOptions,
  controllerId: string,
  requestId: string,
  bySink: boolean,
) {
  if (bySink) {
    // A sink call makes no command, so skipping it on replay changes nothing: the release was made when
    // the run first got here. (The SDK would drop the call anyway, after logging an error on replay
    // Workers, which have no sinks.)
    if (!workflowInfo().unsafe.isReplayingHistoryEvents) {
      proxySinks<ConcurrencySinks>()[CONCURRENCY_SINK_NAME].release({ controllerId, requestId });
    }
    return;
  }
  if (resolved.activities) {
    try {
      const { [CONCURRENCY_ACTIVITY_TYPES.release]: release } = concurrencyLocalActivities();
      await release({ controllerId, requestId });
      return;
    } catch (error) {
      if (isMissingActivity(error)) throw missingActivities(error);
      // fall back to a signal
    }
  }
  // A controller that is gone has nothing to release.
  await getExternalWorkflowHandle(controllerId)
    .signal(concurrencyReleaseSignal, { requestId })
    .catch(() => undefined);
}

/**
 * What `fn`'s activities and children get: the concurrency key as their fairness key (so task-queue
 * fairness dispatches the keys' work in turn), and under `CANCEL_IN_PROGRESS` a cancellation that
 * waits until they have stopped (a replaced run keeps its grant until then). An activity that could
 * not be stopped is refused before it is scheduled: one without `heartbeatTimeout` (a cancel reaches
 * an activity only through heartbeats) or with `ABANDON`.
 */
function scheduleHook({ key, group, policy }: ResolvedConcurrencyOptions): ScheduleHook {
  const cancelInProgress = policy.strategy === 'CANCEL_IN_PROGRESS';
  const refuse = (what: string, why: string) => {
    throw new ConcurrencyOptionsError(
      `withConcurrency: group ${JSON.stringify(group)} uses CANCEL_IN_PROGRESS, but ${what} ${why}, so a newer run ` +
        'could start while it still runs. Give it a `heartbeatTimeout` and heartbeat, and do not use `ABANDON`.',
    );
  };
  return {
    activity(activity) {
      const { options } = activity;
      if (!activity.local) {
        const remote = options as ActivityOptions;
        remote.priority = { ...remote.priority, fairnessKey: remote.priority?.fairnessKey ?? key };
      }
      if (!cancelInProgress) return;
      if (options.cancellationType === ActivityCancellationType.ABANDON) {
        refuse(`activity "${activity.activityType}"`, 'is scheduled with cancellationType ABANDON');
      }
      if (!activity.local && (options as ActivityOptions).heartbeatTimeout === undefined) {
        refuse(
          `activity "${activity.activityType}"`,
          'has no heartbeatTimeout (it would never hear of a cancel)',
        );
      }
      options.cancellationType = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
    },
    child(child) {
      const { options } = child;
      options.priority = { ...options.priority, fairnessKey: options.priority?.fairnessKey ?? key };
      if (!cancelInProgress) return;
      if (options.cancellationType === ChildWorkflowCancellationType.ABANDON) {
        refuse(`child workflow "${child.workflowType}"`, 'is started with cancellationType ABANDON');
      }
      options.cancellationType = ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED;
    },
  };
}

/**
 * Runs `fn` once the concurrency controller of `options.group` grants this run a place for
 * `options.key`, and gives the place back when `fn` settles. Workflow code only.
 *
 * - Waiting for the grant is a durable wait (a `condition()`): the workflow holds no Worker slot
 *   and survives Worker restarts, queries during crashes, continue-as-new of the controller and resets
 *   of this workflow (a reset run keeps the request, and the grant, of the run it replaces).
 * - `maxRuns` runs of a key, and `groupMaxRuns` runs of the group, hold a grant at most, whatever
 *   the timing, across all Workers and task queues; the {@link ConcurrencyStrategy} says what a new
 *   run for a key at its limit does: wait its round-robin turn, replace the oldest run, or be refused
 *   with a {@link ConcurrencyRejectedError}.
 * - `CANCEL_IN_PROGRESS`: a replaced run's `fn` is cancelled and waited for (its activities are made to
 *   wait for their cancellation to complete; an activity without `heartbeatTimeout`, or with `ABANDON`,
 *   is refused with a {@link ConcurrencyOptionsError}, since nothing could stop it); only then is its
 *   place given to the new run, and `withConcurrency` throws a {@link ConcurrencyCancelledError}.
 * - Activities and child workflows of `fn` are dispatched with the key as their fairness key, unless
 *   they set one; start the workflows themselves with `concurrencyPriority(key)` from `slotwise/client`.
 * - However the run ends, the grant is freed: from a `finally` block when the workflow gets to run
 *   it, by the controller's check when it does not (terminated, timed out).
 * - Cancelling the workflow while it waits stops the wait and throws the cancellation.
 * - A controller whose state has no room for another request (`controller.maxStateBytes`, so its
 *   continue-as-new stays under the server's payload limit) answers `full`: the run logs a warning
 *   once, waits on a durable timer (holding no slot) and asks again with the ticket it was given, so
 *   runs refused earlier come in first.
 *
 * Register `concurrencyActivities` (from `slotwise/activities`) on this run's Worker, through
 * `slotwiseWorkerOptions()` (from `slotwise`): a request then costs a local activity inside a workflow
 * task the run has anyway, instead of a signal and an extra workflow task, and the release goes
 * through the Worker sink that function adds (nothing in the history; without the sink, a second
 * local activity). Without the activities it falls back to signals. The group's controller is
 * {@link concurrencyControllerWorkflow}: export it from the workflow bundle of the Workers of
 * `controller.taskQueue` (by default the caller's own task queue).
 *
 * @example
 * ```ts
 * import { proxyActivities } from '@temporalio/workflow';
 * import { withConcurrency } from 'slotwise/workflows';
 *
 * const { buildReport } = proxyActivities<{ buildReport(tenant: string): Promise<string> }>({
 *   startToCloseTimeout: '10 minutes',
 * });
 *
 * export async function reportWorkflow(tenant: string): Promise<string> {
 *   // At most 2 reports per tenant, 10 in all; tenants take turns.
 *   return withConcurrency(
 *     { group: 'reports', key: tenant, maxRuns: 2, groupMaxRuns: 10, strategy: 'GROUP_ROUND_ROBIN' },
 *     () => buildReport(tenant),
 *   );
 * }
 * ```
 */
export async function withConcurrency<T>(options: WithConcurrencyOptions, fn: () => Promise<T>): Promise<T> {
  const resolved = resolveConcurrencyOptions(options);
  if (typeof fn !== 'function') {
    throw new ConcurrencyOptionsError(`withConcurrency: expected \`fn\` to be a function, got ${typeof fn}.`);
  }
  if (resolved.policy.strategy === 'CANCEL_IN_PROGRESS' && !scheduleHooksAvailable()) {
    throw new ConcurrencyOptionsError(
      'withConcurrency: CANCEL_IN_PROGRESS needs to make the activities of `fn` wait for their cancellation, and this ' +
        'version of @temporalio/workflow offers slotwise no way to; use GROUP_ROUND_ROBIN or CANCEL_NEWEST.',
    );
  }
  installHandlers();
  const info = workflowInfo();
  const shard = concurrencyShardOf(resolved.key, resolved.shards);
  const controllerId = concurrencyControllerId(resolved.group, shard);
  // The original run id survives a reset: the reset run asks (and holds) under the same id.
  const requestId = `${info.workflowId}/${info.originalExecutionRunId}/${++requestSequence}`;
  const request: ConcurrencyRequest = {
    requestId,
    key: resolved.key,
    workflowId: info.workflowId,
    runId: info.runId,
    originalRunId: info.originalExecutionRunId,
    policy: resolved.policy,
    settings: resolved.settings,
    acceptsFull: true,
  };
  const start: ConcurrencyControllerInput = {
    group: resolved.group,
    ...(resolved.shards > 1 ? { shard } : {}),
    settings: resolved.settings,
  };
  decisions.set(requestId, undefined);
  let mustRelease = true;
  let releaseSink = false;
  try {
    let decision: ConcurrencyDecision;
    for (let attempt = 0; ; attempt++) {
      // Not cancellable: a request cancelled in flight could still land after this run's release.
      const answer = await CancellationScope.nonCancellable(() =>
        ask(controllerId, resolved.controllerTaskQueue ?? info.taskQueue, start, request, resolved),
      );
      if (answer) {
        releaseSink = answer.releaseSink === true;
        record(answer);
      }
      await condition(() => decisions.get(requestId) !== undefined);
      decision = decisions.get(requestId)!;
      if (decision.outcome !== 'full') break;
      // The controller had no room to keep the request: wait (no slot held) and ask again, in line.
      if (attempt === 0) {
        log.warn('slotwise: withConcurrency() found its controller full; it waits and asks again', {
          group: resolved.group,
          key: resolved.key,
          reason: decision.reason,
        });
      }
      request.ticket = decision.ticket;
      decisions.set(requestId, undefined);
      await sleep(fullRetryDelay(attempt, decision.retryAfterMs));
    }
    if (decision.outcome === 'rejected') {
      mustRelease = false;
      throw new ConcurrencyRejectedError(resolved.group, resolved.key, decision.reason ?? 'refused');
    }
    if (decision.outcome === 'cancelled') {
      throw new ConcurrencyCancelledError(resolved.group, resolved.key, decision.by ?? '');
    }
    const scope = new CancellationScope();
    scopes.set(requestId, scope);
    try {
      return await runWithScheduleHook(scheduleHook(resolved), () => scope.run(fn));
    } catch (error) {
      const final = decisions.get(requestId);
      if (final?.outcome === 'cancelled' && isCancellation(error)) {
        throw new ConcurrencyCancelledError(resolved.group, resolved.key, final.by ?? '', error as Error);
      }
      throw error;
    } finally {
      scopes.delete(requestId);
    }
  } finally {
    decisions.delete(requestId);
    // Also after a cancellation.
    if (mustRelease)
      await CancellationScope.nonCancellable(() => giveBack(resolved, controllerId, requestId, releaseSink));
  }
}
