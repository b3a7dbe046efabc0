import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { type Client, WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import type { InjectedSinks } from '@temporalio/worker';
import { processWide } from '../process-state.js';
import {
  CONCURRENCY_ACTIVITY_TYPES,
  CONCURRENCY_SINK_NAME,
  type ConcurrencyAcquireInput,
  type ConcurrencyAcquireOutput,
  type ConcurrencyActivities,
  type ConcurrencyHolderStatus,
  type ConcurrencyReleaseInput,
  type ConcurrencySinks,
} from '../workflows/concurrency/activity-contract.js';
import type { ConcurrencyDecision, ConcurrencyRunRef } from '../workflows/concurrency/types.js';
import { Batcher } from './concurrency-batcher.js';

const CONTROLLER_WORKFLOW_TYPE = 'concurrencyControllerWorkflow';
const ACQUIRE_UPDATE = 'slotwise.concurrency.acquire';
const ACQUIRE_BATCH_UPDATE = 'slotwise.concurrency.acquireBatch';
const RELEASE_SIGNAL = 'slotwise.concurrency.release';
const RELEASE_BATCH_SIGNAL = 'slotwise.concurrency.releaseBatch';
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

/** One update asking the controller, started when none is open; its answer (or what it threw). */
function askOne(
  client: Client,
  input: ConcurrencyAcquireInput,
  updateName: string,
  updateId: string,
  arg: unknown,
): Promise<unknown> {
  return client.workflow.executeUpdateWithStart<(input: unknown) => Promise<unknown>, unknown, [unknown]>(
    updateName,
    {
      args: [arg],
      updateId,
      startWorkflowOperation: new WithStartWorkflowOperation(CONTROLLER_WORKFLOW_TYPE, {
        workflowId: input.controllerId,
        taskQueue: input.taskQueue,
        args: [input.start],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // The controller serves every key: dispatch its tasks before the runs that wait on it.
        priority: { priorityKey: 1 },
      }),
    },
  );
}

/** A controller of an older slotwise has no batch update: its Workers refuse it by name. */
const isUnknownUpdate = (error: unknown): boolean => {
  for (let e = error as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (
      typeof e.message === 'string' &&
      e.message.includes(`No registered handler for update: ${ACQUIRE_BATCH_UPDATE}`)
    )
      return true;
  }
  return false;
};

/** Calls to controllers (updates, release signals) this process has made that have not settled. */
let callsInFlight = 0;

/**
 * `call`, counted in {@link concurrencyCallsInFlight} until it settles. It ends when `signal` aborts
 * (a client on a `Connection`) and at `deadline` in any case: the client of a Worker (on a
 * `NativeConnection`) ignores abort signals but bounds every request it makes by the deadline.
 */
async function counted<T>(
  client: Client,
  signal: AbortSignal,
  deadline: number,
  call: () => Promise<T>,
): Promise<T> {
  callsInFlight++;
  try {
    return await client.withDeadline(deadline, () => client.withAbortSignal(signal, call));
  } finally {
    callsInFlight--;
  }
}

/**
 * Calls this Worker process has open to concurrency controllers (updates asking for grants, batched
 * release signals). For tests and diagnostics: a controller that does not answer (its Workers gone)
 * must not keep calls open for ever; each ends when the runs that asked stop waiting.
 *
 * @example
 * ```ts
 * import { concurrencyCallsInFlight } from 'slotwise/internal/activities/concurrency-activities.js';
 * concurrencyCallsInFlight(); // => 0 when no run is asking or releasing
 * ```
 */
export function concurrencyCallsInFlight(): number {
  return callsInFlight;
}

/** Controllers (per client) last seen refusing the batch update, and when: asked one by one for a minute. */
const legacyControllers = new WeakMap<Client, Map<string, number>>();
const LEGACY_MEMORY_MS = 60_000;

/** What a Worker process sends a controller: a run's request, or a run's release. */
type ControllerCall =
  | { kind: 'acquire'; input: ConcurrencyAcquireInput }
  | { kind: 'release'; requestId: string };

/**
 * The requests and releases of this Worker process, per client and controller, gathered into sends
 * (see {@link Batcher}): each send carries the requests in one batch update and the releases in one
 * batch signal, both at once, so that the controller usually takes them in one workflow task. Each
 * send is retried until it is answered: the controller refuses updates while it is about to continue
 * as new, the server admits only 10 in flight per workflow, and an update can find the run it targeted
 * closing; all of these pass in milliseconds. A send not answered by the time its runs' activities
 * stop waiting (the controller's Worker is gone, the server is slow) is given up, its calls ended; the
 * runs then ask (or release) by signal. Sending twice is harmless: the controller answers a request id
 * it already has with its decision so far, and a release of a request it no longer holds is a no-op.
 */
const channels = new WeakMap<Client, Batcher<ControllerCall, ConcurrencyDecision | undefined>>();

function channelOf(client: Client): Batcher<ControllerCall, ConcurrencyDecision | undefined> {
  let channel = channels.get(client);
  if (channel) return channel;
  const known = legacyControllers.get(client) ?? new Map<string, number>();
  legacyControllers.set(client, known);
  channel = new Batcher(async (controllerId, calls, signal, deadline) => {
    const inputs: ConcurrencyAcquireInput[] = [];
    const requestIds: string[] = [];
    for (const call of calls) {
      if (call.kind === 'acquire') inputs.push(call.input);
      else requestIds.push(call.requestId);
    }
    // Both at once: a signal and an update that reach the controller together cost it one workflow task.
    const [answers] = await Promise.all([
      inputs.length > 0 ? askAll(client, known, controllerId, inputs, signal, deadline) : [],
      requestIds.length > 0 ? releaseAll(client, controllerId, requestIds, signal, deadline) : undefined,
    ]);
    if (answers.length < inputs.length) throw new Error('slotwise: a batch update came back short');
    let next = 0;
    return calls.map((call) => (call.kind === 'acquire' ? answers[next++] : undefined));
  });
  channels.set(client, channel);
  return channel;
}

/** One batch update asking for `inputs` (or, for a controller of an older slotwise, one update each). */
async function askAll(
  client: Client,
  known: Map<string, number>,
  controllerId: string,
  inputs: ConcurrencyAcquireInput[],
  signal: AbortSignal,
  deadline: number,
): Promise<ConcurrencyDecision[]> {
  // A send the batcher gives up (not answered in time) stops its calls to the server too.
  const ask = (...args: Parameters<typeof askOne>) =>
    counted(client, signal, deadline, () => askOne(...args));
  const since = known.get(controllerId);
  if (since === undefined || Date.now() - since > LEGACY_MEMORY_MS) {
    try {
      const requests = inputs.map((input) => input.request);
      // Carries the settings of the first run to ask; the controller merges every request's own.
      const answers = (await ask(
        client,
        inputs[0]!,
        ACQUIRE_BATCH_UPDATE,
        `batch:${randomUUID()}`,
        requests,
      )) as ConcurrencyDecision[];
      batchCapable(client).add(controllerId);
      return answers;
    } catch (error) {
      if (!isUnknownUpdate(error)) throw error;
      known.set(controllerId, Date.now());
    }
  }
  return (await Promise.all(
    inputs.map((input) =>
      // Per asking run: a reset run re-attaches under the same request id with its own run id.
      ask(client, input, ACQUIRE_UPDATE, `${input.request.requestId}@${input.request.runId}`, input.request),
    ),
  )) as ConcurrencyDecision[];
}

/** One batch signal releasing `requestIds`; a controller that is gone holds nothing to release. */
async function releaseAll(
  client: Client,
  controllerId: string,
  requestIds: string[],
  signal: AbortSignal,
  deadline: number,
): Promise<void> {
  await unlessGone(
    counted(client, signal, deadline, () =>
      client.workflow.getHandle(controllerId).signal(RELEASE_BATCH_SIGNAL, { requestIds }),
    ),
  );
}

/** A release signal's send; a controller that is gone holds nothing to release, so that is no error. */
async function unlessGone(send: Promise<void>): Promise<undefined> {
  try {
    await send;
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  return undefined;
}

/**
 * Sends a request to the group's controller, starting the controller when none is open
 * (update-with-start: one atomic call, no race between runs starting it), and returns its answer. The
 * requests this process makes to one controller at the same time travel together, as one update. The
 * answer says whether this Worker has the release sink (the run then releases through it).
 */
async function acquire(input: ConcurrencyAcquireInput): Promise<ConcurrencyAcquireOutput> {
  const context = Context.current();
  const client = clientOf('acquire');
  const answer = (await channelOf(client).submit(
    input.controllerId,
    { kind: 'acquire', input },
    context.cancellationSignal,
    deadlineOf(context),
  ))!;
  const queue = queueKey(context.info.namespace, context.info.taskQueue);
  if (!sinkQueues.has(queue)) return answer;
  sinkQueues.set(queue, client);
  return { ...answer, releaseSink: true };
}

/**
 * When the calling activity stops waiting (its start-to-close timeout from now; a local activity of
 * withConcurrency has 1 to 5 s): a send to a controller lasts no longer than its callers wait, and a
 * slow answer that still comes in time is not cut short.
 */
function deadlineOf(context: Context): number | undefined {
  const ms = context.info.startToCloseTimeoutMs;
  return typeof ms === 'number' && ms > 0 ? Date.now() + ms : undefined;
}

/** Controllers (per client) that answered a batch update: they take batched releases too. */
const capable = new WeakMap<Client, Set<string>>();
function batchCapable(client: Client): Set<string> {
  const known = capable.get(client) ?? new Set<string>();
  capable.set(client, known);
  return known;
}

/**
 * Gives a grant back (or stops waiting for one). A controller that is gone holds nothing to release.
 * Releases this process sends a controller at the same time travel as one signal, with the requests
 * sent at that moment, to controllers known to take them (ones that answered a batch update from this
 * process; others get one signal each).
 *
 * The activity returns once the release is handed to this process's sends, not when the signal has
 * reached the server: waiting cost every run a share of a batch update's round trip (a release leaves
 * with the requests of that moment), for a guarantee the controller gives anyway. A release lost with
 * its process (killed within those milliseconds) leaves a grant whose run has ended; the controller's
 * holder check finds the run closed and reclaims the grant.
 */
async function release(input: ConcurrencyReleaseInput): Promise<void> {
  sendRelease(clientOf('release'), input, Context.current().log);
}

/** Releases handed to this process's sends that have not reached the server yet (see {@link settleConcurrencyReleases}). */
const releasesInFlight = processWide('concurrencyReleases', () => new Set<Promise<unknown>>());

/**
 * Waits until the releases this process has handed to its sends have reached their controllers (or
 * failed), at most `timeoutMs`; resolves with how many were still on their way then. Call it after the
 * Worker stopped and before closing its connection (`withSlotwise()`'s `close()` and
 * `shutdownGracefully()` do): a release cut off by the close would leave its grant held until the
 * controller's holder check reclaims it, tens of seconds later.
 *
 * @example
 * ```ts
 * import { settleConcurrencyReleases } from 'slotwise/internal/activities/concurrency-activities.js';
 * await settleConcurrencyReleases(); // => 0 once every release has been sent
 * ```
 */
export async function settleConcurrencyReleases(timeoutMs = 2_000): Promise<number> {
  if (releasesInFlight.size === 0) return 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all([...releasesInFlight]), // each logs its failure and resolves
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return releasesInFlight.size;
}

/** Hands `input` to this process's sends to its controller; a failure to send is logged, not thrown. */
function sendRelease(
  client: Client,
  { controllerId, requestId }: ConcurrencyReleaseInput,
  logger: Pick<Logger, 'warn'>,
): void {
  const sent = batchCapable(client).has(controllerId)
    ? channelOf(client).submit(controllerId, { kind: 'release', requestId })
    : unlessGone(client.workflow.getHandle(controllerId).signal(RELEASE_SIGNAL, { requestId }));
  const settled = sent
    .catch((error: unknown) => {
      // The controller's holder check reclaims the grant once it finds the run closed.
      logger.warn('slotwise: a release did not reach its concurrency controller', {
        controllerId,
        requestId,
        error,
      });
    })
    .finally(() => releasesInFlight.delete(settled));
  releasesInFlight.add(settled);
}

/**
 * The task queues (`namespace`, NUL, `taskQueue`) whose Workers have the release sink, each with the
 * client its concurrency activities last used (a sink is given none). Process-wide: the sink may come
 * from one build of slotwise (`slotwiseWorkerOptions()` from `slotwise`) and the activities from
 * another (`concurrencyActivities` from `slotwise/activities`, loaded with `require`).
 */
const sinkQueues = processWide('concurrencySinks', () => new Map<string, Client | undefined>());
const queueKey = (namespace: string, taskQueue: string) => `${namespace}\u0000${taskQueue}`;

/**
 * The Worker sink through which `withConcurrency()` releases without a local activity, for the Worker
 * of `taskQueue` in `namespace` (`slotwiseWorkerOptions()` adds it to Workers that register
 * `concurrencyActivities`). Runs use it only when their acquire activity ran on a Worker that has it;
 * `client` (the Worker's connection) sends a release of a run whose acquire ran in an earlier process.
 */
export function concurrencyReleaseSinks(
  namespace: string,
  taskQueue: string,
  client: () => Client | undefined,
  logger: Pick<Logger, 'warn'>,
): InjectedSinks<ConcurrencySinks> {
  const queue = queueKey(namespace, taskQueue);
  if (!sinkQueues.has(queue)) sinkQueues.set(queue, undefined);
  return {
    [CONCURRENCY_SINK_NAME]: {
      release: {
        fn(_info, input) {
          const via = sinkQueues.get(queue) ?? client();
          if (via === undefined) {
            // Only a run that acquired in an earlier process and ended before any acquire in this one.
            logger.warn('slotwise: no client to release with yet; the controller reclaims the grant', {
              ...input,
            });
            return;
          }
          sendRelease(via, input, logger);
        },
        callDuringReplay: false,
      },
    },
  };
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
