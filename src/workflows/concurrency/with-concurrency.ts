import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setHandler,
  sleep,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { concurrencyControllerWorkflow } from './controller-workflow.js';
import { ConcurrencyOptionsError, ConcurrencyRejectedError } from './errors.js';
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
} from './signals.js';
import type { ConcurrencyDecision, ConcurrencyRequest } from './types.js';

// Module state lives once per workflow execution: the SDK gives every execution its own module cache.
const decisions = new Map<string, ConcurrencyDecision | undefined>();
let handlersInstalled = false;
let requestSequence = 0;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  setHandler(concurrencyDecisionSignal, (decision) => {
    // A decision for a request this run no longer waits for (it gave up, and said so) is dropped.
    if (decisions.has(decision.requestId)) decisions.set(decision.requestId, decision);
  });
  // Probes only test that this run is open; receiving one is enough.
  setHandler(concurrencyProbeSignal, () => undefined);
}

/**
 * Hands `request` to the group's controller: a signal to the open controller, or, when there is
 * none, a start of one (an abandoned child, so it outlives this run) with the request as its input.
 * A race with another run starting it, or with it completing, just means another round.
 */
async function deliverRequest(
  options: ResolvedConcurrencyOptions,
  request: ConcurrencyRequest,
): Promise<void> {
  const controllerId = concurrencyControllerId(options.group);
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
        taskQueue: options.controllerTaskQueue,
        args: [{ group: options.group, requests: [request], settings: options.settings }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
      return;
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    if (attempt >= 3) await sleep(Math.min(attempt * 1_000, 10_000));
  }
}

/**
 * Runs `fn` once the concurrency controller of `options.group` grants this run a place for
 * `options.key`, and gives the place back when `fn` settles. Workflow code only.
 *
 * - Waiting for the grant is a durable wait (a `condition()`): the workflow holds no Worker slot
 *   and survives Worker restarts.
 * - `maxRuns` runs of a key, and `groupMaxRuns` runs of the group, hold a grant at most, whatever
 *   the timing, across all Workers and task queues; the {@link ConcurrencyStrategy} says what a new
 *   run for a key at its limit does: wait its round-robin turn, replace the oldest run (which is
 *   cancelled), or be refused with a {@link ConcurrencyRejectedError}.
 * - However the run ends, the grant is freed: from a `finally` block when the workflow gets to run
 *   it, by the controller's probe when it does not (terminated, timed out).
 * - Cancelling the workflow while it waits stops the wait and throws the cancellation.
 * - Activities in `fn` should use `cancellationType: WAIT_CANCELLATION_COMPLETED` (and heartbeat),
 *   so that a cancelled run keeps its grant until its activities have really stopped.
 *
 * The group's controller is {@link concurrencyControllerWorkflow}: export it from the workflow
 * bundle of the Workers of `controller.taskQueue` (by default the caller's own task queue).
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
  installHandlers();
  const { workflowId, runId } = workflowInfo();
  const requestId = `${workflowId}/${runId}/${++requestSequence}`;
  const request: ConcurrencyRequest = {
    requestId,
    key: resolved.key,
    workflowId,
    runId,
    policy: resolved.policy,
    settings: resolved.settings,
  };
  decisions.set(requestId, undefined);
  let holdsOrWaits = true;
  try {
    // Not cancellable: a request cancelled in flight could still land after this run's release.
    await CancellationScope.nonCancellable(() => deliverRequest(resolved, request));
    await condition(() => decisions.get(requestId) !== undefined);
    const decision = decisions.get(requestId)!;
    if (decision.outcome === 'rejected') {
      holdsOrWaits = false;
      throw new ConcurrencyRejectedError(resolved.group, resolved.key, decision.reason ?? 'refused');
    }
    return await fn();
  } finally {
    decisions.delete(requestId);
    if (holdsOrWaits) {
      const controller = getExternalWorkflowHandle(concurrencyControllerId(resolved.group));
      // Also after a cancellation; a controller that is gone has nothing to release.
      await CancellationScope.nonCancellable(() =>
        controller.signal(concurrencyReleaseSignal, { requestId }).catch(() => undefined),
      );
    }
  }
}
