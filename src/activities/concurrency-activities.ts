import { Context } from '@temporalio/activity';
import { type Client, WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import {
  CONCURRENCY_ACTIVITY_TYPES,
  type ConcurrencyAcquireInput,
  type ConcurrencyActivities,
  type ConcurrencyHolderStatus,
  type ConcurrencyReleaseInput,
} from '../workflows/concurrency/activity-contract.js';
import type { ConcurrencyDecision, ConcurrencyRunRef } from '../workflows/concurrency/types.js';

const CONTROLLER_WORKFLOW_TYPE = 'concurrencyControllerWorkflow';
const ACQUIRE_UPDATE = 'slotwise.concurrency.acquire';
const RELEASE_SIGNAL = 'slotwise.concurrency.release';
/** Runs described at once by one check. */
const CHECK_PARALLELISM = 16;

function clientOf(what: string): Client {
  try {
    return Context.current().client;
  } catch (error) {
    throw new Error(
      `slotwise: the ${what} activity needs the Worker's client (a Worker created with a connection)`,
      { cause: error },
    );
  }
}

/**
 * Sends a request to the group's controller as an update, starting the controller when none is open
 * (update-with-start: one atomic call, no race between runs starting it), and returns its answer. The
 * controller refuses updates while it is about to continue as new, and an update can find the run
 * it targeted closing: both are retried here, a few ms later, on the controller's next run.
 */
async function acquire(input: ConcurrencyAcquireInput): Promise<ConcurrencyDecision> {
  const context = Context.current();
  const client = clientOf('acquire');
  const { request } = input;
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.workflow.executeUpdateWithStart<
        (input: unknown) => Promise<unknown>,
        ConcurrencyDecision,
        [typeof request]
      >(ACQUIRE_UPDATE, {
        args: [request],
        // Per asking run: a reset run re-attaches under the same request id with its own run id.
        updateId: `${request.requestId}@${request.runId}`,
        startWorkflowOperation: new WithStartWorkflowOperation(CONTROLLER_WORKFLOW_TYPE, {
          workflowId: input.controllerId,
          taskQueue: input.taskQueue,
          args: [input.start],
          workflowIdConflictPolicy: 'USE_EXISTING',
          // The controller serves every key: dispatch its tasks before the runs that wait on it.
          priority: { priorityKey: 1 },
        }),
      });
    } catch (error) {
      if (context.cancellationSignal.aborted) throw error;
      await context.sleep(Math.min(20 * 2 ** attempt, 1000));
    }
  }
}

/** Gives a grant back (or stops waiting for one). A controller that is gone holds nothing to release. */
async function release(input: ConcurrencyReleaseInput): Promise<void> {
  const client = clientOf('release');
  try {
    await client.workflow
      .getHandle(input.controllerId)
      .signal(RELEASE_SIGNAL, { requestId: input.requestId });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return;
    throw error;
  }
}

const isNotFound = (error: unknown) =>
  error instanceof WorkflowNotFoundError || (error as { code?: number })?.code === 5;

/** One run's status: its own run open, closed, or taken over by a run a reset made of it. */
async function statusOf(
  client: Client,
  namespace: string,
  run: ConcurrencyRunRef,
): Promise<ConcurrencyHolderStatus> {
  const { requestId, workflowId, runId, originalRunId } = run;
  let closedStatus: string;
  try {
    const own = await client.workflow.getHandle(workflowId, runId).describe();
    if (own.status.name === 'RUNNING') return { requestId, status: 'open' };
    closedStatus = own.status.name;
  } catch (error) {
    if (!isNotFound(error)) return { requestId, status: 'unknown' };
    return { requestId, status: 'closed' };
  }
  // Closed without running its cleanup: terminated (a reset terminates the run it replaces) or timed out.
  const cleanClose = closedStatus !== 'TERMINATED' && closedStatus !== 'TIMED_OUT';
  const ended: ConcurrencyHolderStatus = { requestId, status: cleanClose ? 'ended' : 'closed' };
  if (originalRunId === undefined || cleanClose) return ended;
  try {
    const latest = await client.workflow.getHandle(workflowId).describe();
    if (latest.status.name !== 'RUNNING' || latest.runId === runId) return ended;
    // A reset copies the original run id into the new run's first event; a new run that merely reuses
    // the workflow id has its own.
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: { workflowId, runId: latest.runId },
      maximumPageSize: 1,
    });
    const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    return started?.originalExecutionRunId === originalRunId
      ? { requestId, status: 'moved', runId: latest.runId }
      : ended;
  } catch (error) {
    return isNotFound(error) ? ended : { requestId, status: 'unknown' };
  }
}

/**
 * Tells the controller which of the runs holding a grant are still open, by describing them: this
 * adds nothing to their histories (a probe signal adds four events to a run each time).
 */
async function checkHolders(runs: ConcurrencyRunRef[]): Promise<ConcurrencyHolderStatus[]> {
  const context = Context.current();
  const client = clientOf('checkHolders');
  const namespace = context.info.workflowNamespace ?? client.options.namespace;
  const results: ConcurrencyHolderStatus[] = new Array(runs.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < runs.length; index = next++) {
      results[index] = await statusOf(client, namespace, runs[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_PARALLELISM, runs.length) }, worker));
  return results;
}

/**
 * The activities `withConcurrency()` and its controller use when a Worker has them. Register them on
 * the Workers of every task queue where `withConcurrency()` runs and where the controller runs:
 *
 * - a run asks for its grant and gives it back through a local activity (one update or signal to the
 *   controller from within the run's workflow task), instead of signals that each cost the run an
 *   extra workflow task; without them, runs fall back to signals;
 * - the controller finds runs that ended without releasing (terminated, timed out, reset) by
 *   describing them, which adds nothing to their histories; without them it signals them.
 *
 * @example
 * ```ts
 * import { Worker } from '@temporalio/worker';
 * import { concurrencyActivities } from 'slotwise/activities';
 * import { exampleActivities } from 'slotwise/examples/activities';
 *
 * const worker = await Worker.create({
 *   taskQueue: 'reports',
 *   workflowsPath: new URL('./workflows.js', import.meta.url).pathname,
 *   activities: { ...exampleActivities, ...concurrencyActivities },
 * });
 * ```
 */
export const concurrencyActivities: ConcurrencyActivities = Object.freeze({
  [CONCURRENCY_ACTIVITY_TYPES.acquire]: acquire,
  [CONCURRENCY_ACTIVITY_TYPES.release]: release,
  [CONCURRENCY_ACTIVITY_TYPES.checkHolders]: checkHolders,
});
