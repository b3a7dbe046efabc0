import { Context } from '@temporalio/activity';
import { type Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  concurrencyActivities,
  concurrencyCallsInFlight,
} from '../../src/activities/concurrency-activities.js';
import { CONCURRENCY_NO_STRANDED_DECISIONS_PATCH } from '../../src/workflows/concurrency/controller-workflow.js';
import type { WithConcurrencyOptions } from '../../src/workflows/concurrency/options.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../../src/workflows/concurrency/signals.js';
import type {
  ConcurrencyControllerResult,
  ConcurrencyControllerSnapshot,
} from '../../src/workflows/concurrency/types.js';
import { controllerTotals, createWorker, testClient, uniqueQueue, until } from './helpers.js';
import { KeyedConcurrency, simulatedWork } from './keyed-work.js';

// The guarantees of issue 12 that the strategy tests do not reach: dead-holder checks that add
// nothing to the holders' histories, resets, CANCEL_IN_PROGRESS with activities that do not stop at
// once, and a controller history that stays under its bound. One Worker for the file.

const recorder = new KeyedConcurrency();
/** Groups whose `gatedWork` activities may finish. */
const openGates = new Set<string>();
const taskQueue = uniqueQueue('durability');
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;

/** Works `ms`, heartbeating; once cancelled, keeps running `cleanupMs` before it stops. */
async function stubbornWork({ ms, cleanupMs }: { ms: number; cleanupMs: number }): Promise<string> {
  const context = Context.current();
  const workflowId = context.info.workflowExecution?.workflowId ?? '';
  recorder.begin(workflowId);
  try {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      context.heartbeat();
      if (context.cancellationSignal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, cleanupMs));
        throw context.cancellationSignal.reason;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return 'done';
  } finally {
    recorder.end(workflowId);
  }
}

beforeAll(async () => {
  client = await testClient();
  worker = await createWorker({
    taskQueue,
    defaultHeartbeatThrottleInterval: '50ms',
    maxHeartbeatThrottleInterval: '50ms',
    activities: {
      ...concurrencyActivities,
      stubbornWork,
      /** Works until the test opens the gate of its group. */
      gatedWork: async ({ group }: { group: string }) => {
        const context = Context.current();
        const workflowId = context.info.workflowExecution?.workflowId ?? '';
        recorder.begin(workflowId);
        try {
          while (!openGates.has(group)) {
            context.heartbeat();
            await context.sleep(20);
          }
          return 'done';
        } finally {
          recorder.end(workflowId);
        }
      },
      simulatedWork: simulatedWork(recorder),
    },
  });
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
});

let runCounter = 0;
async function startRun(
  concurrency: WithConcurrencyOptions,
  workMs: number,
  workflowType = 'concurrencyExampleWorkflow',
  extra: Record<string, unknown> = {},
): Promise<WorkflowHandle> {
  const workflowId = `${concurrency.group}--${concurrency.key}--${++runCounter}`;
  recorder.keyOf.set(workflowId, `${concurrency.group}/${concurrency.key}`);
  return client.workflow.start(workflowType, {
    taskQueue,
    workflowId,
    args: [{ concurrency, workMs, index: runCounter, ...extra }],
  });
}

const snapshotOf = (group: string): Promise<ConcurrencyControllerSnapshot> =>
  client.workflow.getHandle(concurrencyControllerId(group)).query(concurrencyStateQuery);

const controllerResult = (group: string): Promise<ConcurrencyControllerResult> =>
  controllerTotals(client, concurrencyControllerId(group));

async function eventsOf(workflowId: string, runId?: string) {
  return (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

/** Every run of a group's controller (its continue-as-new chain), oldest first, with its events. */
async function controllerRuns(group: string) {
  const id = concurrencyControllerId(group);
  const runs: Array<{ runId: string; events: Awaited<ReturnType<typeof eventsOf>> }> = [];
  let runId: string | undefined = (await client.workflow.getHandle(id).describe()).runId;
  while (runId) {
    const events = await eventsOf(id, runId);
    runs.unshift({ runId, events });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** Ids of the workflow task completed events of a run, oldest first. */
async function completedTasks(handle: WorkflowHandle): Promise<number[]> {
  return (await eventsOf(handle.workflowId))
    .filter((e) => e.workflowTaskCompletedEventAttributes)
    .map((e) => Number(e.eventId));
}

/** Resets a run to the workflow task completed at `eventId`; returns the new run's id. */
async function reset(workflowId: string, runId: string, eventId: number): Promise<string> {
  const response = await client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId, runId },
    workflowTaskFinishEventId: eventId as never,
    reason: 'slotwise test: reset',
    requestId: `${workflowId}-${runId}-reset`,
  });
  return (response as { runId: string }).runId;
}

async function failureOf(handle: WorkflowHandle): Promise<unknown> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause;
}

describe('withConcurrency() durability on a real Worker', () => {
  it('withConcurrency() checks a long-held grant every tick without adding a single event to the holder history', async () => {
    const group = uniqueQueue('no-probe-growth');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'k',
      maxRuns: 1,
      controller: { probeIntervalMs: 100, idleTimeoutMs: 500 },
    };
    // Same workflow, same path through it: one holds its grant ~30 ticks, the other ~1.
    const long = await startRun(concurrency, 3_000);
    await until('the long run works', () => recorder.hasStarted(long.workflowId));
    // While it works, the controller checks it every tick (100 ms).
    const checked = until('the controller has checked it', async () => {
      return (await snapshotOf(group)).holderCheck === 'describe';
    }).then(
      () => true,
      () => false,
    );
    expect(await long.result()).toBe(runCounter);
    const short = await startRun(concurrency, 50);
    await short.result();
    const types = async (handle: WorkflowHandle) =>
      (await eventsOf(handle.workflowId)).map((e) => String(e.eventType));
    const longEvents = await types(long);
    expect(longEvents).toEqual(await types(short));
    expect(longEvents.filter((type) => type.includes('SIGNALED'))).toEqual([]);
    // ... by describing it.
    expect(await checked).toBe(true);
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 0,
      rejected: 0,
      reclaimed: 0,
    });
  });

  it('withConcurrency() grants a run that was reset while it waited: the reset run takes over its request', async () => {
    const group = uniqueQueue('reset');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'k',
      maxRuns: 1,
      controller: { probeIntervalMs: 200, idleTimeoutMs: 500 },
    };
    const holder = await startRun(concurrency, 2_500);
    await until('the holder works', () => recorder.hasStarted(holder.workflowId));
    const waiter = await startRun(concurrency, 50);
    await until('the waiter waits', async () => (await snapshotOf(group)).queued.length === 1);
    // A no-op signal gives the waiter a workflow task after the one that asked; reset to it, so the
    // reset run replays the request instead of asking again.
    await client.workflow.getHandle(waiter.workflowId).signal('slotwise.concurrency.probe');
    await until('the waiter handled the signal', async () => (await completedTasks(waiter)).length >= 2);
    const [, afterSignal] = await completedTasks(waiter);
    const firstRunId = (await waiter.describe()).runId;
    const resetRunId = await reset(waiter.workflowId, firstRunId, afterSignal!);
    expect(resetRunId).not.toBe(firstRunId);
    // The reset run is granted once the holder is done, and completes.
    expect(await client.workflow.getHandle(waiter.workflowId, resetRunId!).result()).toBe(runCounter);
    expect(await holder.result()).toBe(runCounter - 1);
    expect(recorder.max(`${group}/k`)).toBe(1);
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 0,
      rejected: 0,
      reclaimed: 0,
    });
  });

  it('withConcurrency() keeps the grant of a run reset while it worked, and frees it once, when the reset run ends', async () => {
    const group = uniqueQueue('reset-holder');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'k',
      maxRuns: 1,
      controller: { probeIntervalMs: 200, idleTimeoutMs: 500 },
    };
    const holder = await startRun(concurrency, 3_000);
    await until('the holder works', () => recorder.hasStarted(holder.workflowId));
    const waiter = await startRun(concurrency, 50);
    await until('the waiter waits', async () => (await snapshotOf(group)).queued.length === 1);
    const [firstTask] = await completedTasks(holder);
    const firstRunId = (await holder.describe()).runId;
    const resetRunId = await reset(holder.workflowId, firstRunId, firstTask!);
    await until('the controller follows the reset run', async () => {
      const { running } = await snapshotOf(group);
      return running.length === 1 && running[0]!.runId === resetRunId;
    });
    // The waiter still waits: the reset run holds the key's only place.
    expect((await snapshotOf(group)).queued.map((r) => r.workflowId)).toEqual([waiter.workflowId]);
    expect(await client.workflow.getHandle(holder.workflowId, resetRunId!).result()).toBe(runCounter - 1);
    expect(await waiter.result()).toBe(runCounter);
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 0,
      rejected: 0,
      reclaimed: 0,
    });
  });

  it('withConcurrency() with CANCEL_IN_PROGRESS and default activity options starts the new run only after the old activity has stopped', async () => {
    const group = uniqueQueue('cip-default');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'deploy',
      maxRuns: 1,
      strategy: 'CANCEL_IN_PROGRESS',
      controller: { probeIntervalMs: 500, idleTimeoutMs: 500 },
    };
    const input = { cleanupMs: 1_500, heartbeatTimeout: true };
    const first = await startRun(concurrency, 60_000, 'stubbornWorkWorkflow', input);
    await until('the first run works', () => recorder.hasStarted(first.workflowId));
    const second = await startRun(concurrency, 50, 'stubbornWorkWorkflow', input);
    expect(await second.result()).toBe('done');
    const failure = await failureOf(first);
    expect(failure).toBeInstanceOf(CancelledFailure);
    expect((failure as Error).message).toContain('cancelled by CANCEL_IN_PROGRESS');
    // The old activity's 1.5 s of cleanup ended before the new activity began.
    const order = recorder.events
      .filter((e) => e.workflowId === first.workflowId || e.workflowId === second.workflowId)
      .map((e) => `${e.type}:${e.workflowId === first.workflowId ? 'first' : 'second'}`);
    expect(order).toEqual(['start:first', 'end:first', 'start:second', 'end:second']);
    expect(recorder.max(`${group}/deploy`)).toBe(1);
  });

  it('withConcurrency() with CANCEL_IN_PROGRESS refuses an activity without heartbeatTimeout, naming it', async () => {
    const group = uniqueQueue('cip-no-heartbeat');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'deploy',
      maxRuns: 1,
      strategy: 'CANCEL_IN_PROGRESS',
      controller: { probeIntervalMs: 500, idleTimeoutMs: 500 },
    };
    const run = await startRun(concurrency, 50, 'stubbornWorkWorkflow', {
      cleanupMs: 0,
      heartbeatTimeout: false,
    });
    const failure = await failureOf(run);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ConcurrencyOptionsError', nonRetryable: true });
    expect((failure as Error).message).toBe(
      `withConcurrency: group "${group}" uses CANCEL_IN_PROGRESS, but activity "stubbornWork" has no heartbeatTimeout ` +
        '(it would never hear of a cancel), so a newer run could start while it still runs. Give it a ' +
        '`heartbeatTimeout` and heartbeat, and do not use `ABANDON`.',
    );
    expect(recorder.hasStarted(run.workflowId)).toBe(false);
    // Its grant was given back.
    expect((await controllerResult(group)).stats).toMatchObject({ granted: 1, released: 1 });
  });

  it('withConcurrency() keeps every controller run of a busy group within maxHistoryEvents', async () => {
    const group = uniqueQueue('history-bound');
    const maxHistoryEvents = 150;
    const concurrency = (key: string): WithConcurrencyOptions => ({
      group,
      key,
      maxRuns: 1,
      controller: { probeIntervalMs: 200, idleTimeoutMs: 500, maxHistoryEvents },
    });
    const handles = await Promise.all(
      Array.from({ length: 60 }, (_, i) => startRun(concurrency(`k${i % 3}`), 30)),
    );
    await Promise.all(handles.map((h) => h.result()));
    const result = await controllerResult(group);
    expect(result.stats).toEqual({ granted: 60, released: 60, cancelled: 0, rejected: 0, reclaimed: 0 });
    expect(result.generation).toBeGreaterThanOrEqual(2);
    const lengths: number[] = [];
    for (const { events } of await controllerRuns(group)) lengths.push(events.length);
    expect(lengths).toHaveLength(result.generation + 1);
    expect(lengths.filter((length) => length > maxHistoryEvents)).toEqual([]);
    expect(['a', 'b', 'c'].map((_, i) => recorder.max(`${group}/k${i}`))).toEqual([1, 1, 1]);
    console.log(`slotwise: controller run lengths ${lengths.join(', ')} (bound ${maxHistoryEvents})`);
  });

  it('withConcurrency() sends a decision the history has no room for from the next controller run, not at the next check tick', async () => {
    // One key, maxRuns 1: every grant is a decision signal sent when the run before releases, and
    // nothing else wakes the controller until its check tick (60 s here). Twelve bounds in a row, so
    // some controller run meets the edge (room for an update, not for one more signal) with a
    // decision to send: before the fix that grant waited for the tick.
    const probeIntervalMs = 60_000;
    const runs = 14;
    let strandedRuns = 0;
    // Whether a run meets the edge depends on how the server batches events into workflow tasks:
    // 1-5 controller runs met it per sweep of 12 groups in the runs seen, so up to 3 sweeps.
    for (let attempt = 1; attempt <= 3 && strandedRuns === 0; attempt++) {
      const groups = Array.from({ length: 12 }, (_, g) => ({
        group: uniqueQueue(`stranded-${attempt}-${g}`),
        maxHistoryEvents: 100 + g,
      }));
      const t0 = Date.now();
      const handles = (
        await Promise.all(
          groups.map(({ group, maxHistoryEvents }) =>
            Promise.all(
              Array.from({ length: runs }, () =>
                startRun(
                  {
                    group,
                    key: 'only',
                    maxRuns: 1,
                    controller: { probeIntervalMs, idleTimeoutMs: 1_000, maxHistoryEvents },
                  },
                  0,
                ),
              ),
            ),
          ),
        )
      ).flat();
      await Promise.all(handles.map((h) => h.result()));
      const seconds = (Date.now() - t0) / 1000;
      for (const { group, maxHistoryEvents } of groups) {
        const result = await controllerResult(group);
        expect(result.stats).toEqual({
          granted: runs,
          released: runs,
          cancelled: 0,
          rejected: 0,
          reclaimed: 0,
        });
        expect(recorder.max(`${group}/only`)).toBe(1);
        for (const { runId, events } of await controllerRuns(group)) {
          expect(events.length).toBeLessThanOrEqual(maxHistoryEvents);
          const marker = events.some(
            (e) =>
              e.markerRecordedEventAttributes?.markerName === 'core_patch' &&
              Buffer.from(e.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data ?? [])
                .toString('utf8')
                .includes(CONCURRENCY_NO_STRANDED_DECISIONS_PATCH),
          );
          if (marker) {
            strandedRuns++;
            // The new path replays as it ran.
            const history = await client.workflow
              .getHandle(concurrencyControllerId(group), runId)
              .fetchHistory();
            await Worker.runReplayHistory(
              { workflowBundle: { codePath: inject('workflowBundlePath') } },
              history,
            );
          }
        }
      }
      console.log(
        `slotwise: sweep ${attempt}: ${groups.length} groups of ${runs} runs in ${seconds.toFixed(1)} s, ${strandedRuns} controller runs continued as new for stranded decisions`,
      );
      expect(seconds).toBeLessThan(probeIntervalMs / 1000); // no grant waited for a tick
    }
    expect(strandedRuns).toBeGreaterThan(0); // and the edge was met
  });

  it('withConcurrency() with 4 shards spreads a group over 4 controllers and keeps maxRuns per key', async () => {
    const group = uniqueQueue('shards');
    const concurrency = (key: string): WithConcurrencyOptions => ({
      group,
      key,
      maxRuns: 2,
      controller: { probeIntervalMs: 500, idleTimeoutMs: 500, shards: 4 },
    });
    const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
    const handles = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        startRun(concurrency(keys[i % 8]!), 0, 'gatedConcurrencyWorkflow', { group }),
      ),
    );
    // 3 runs per key: exactly 2 of each work, the third waits, until the gate opens.
    const running = () => handles.filter((h) => recorder.hasStarted(h.workflowId)).length;
    await until('2 runs of every key work', () => running() === 16);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(running()).toBe(16);
    openGates.add(group);
    await Promise.all(handles.map((h) => h.result()));
    expect(keys.map((key) => recorder.max(`${group}/${key}`))).toEqual(keys.map(() => 2));
    const { concurrencyShardOf } = await import('../../src/workflows/concurrency/signals.js');
    const shards = [...new Set(keys.map((key) => concurrencyShardOf(key, 4).index))].sort();
    const results = await Promise.all(
      shards.map((index) =>
        client.workflow
          .getHandle<() => Promise<ConcurrencyControllerResult>>(
            concurrencyControllerId(group, { index, count: 4 }),
          )
          .result(),
      ),
    );
    expect(results.reduce((sum, r) => sum + r.stats.granted, 0)).toBe(24);
    expect(results.reduce((sum, r) => sum + r.stats.released, 0)).toBe(24);
    expect(shards.length).toBeGreaterThan(1);
  });

  it('withConcurrency() gives up an update its controller never accepts (no Worker on its task queue), leaves no call hanging, and grants every run once when the controller comes', async () => {
    const group = uniqueQueue('unanswered');
    const controllerQueue = uniqueQueue('unanswered-controller');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'k',
      maxRuns: 1,
      controller: { probeIntervalMs: 500, idleTimeoutMs: 500, taskQueue: controllerQueue },
    };
    expect(concurrencyCallsInFlight()).toBe(0);
    const handles = await Promise.all([1, 2, 3].map(() => startRun(concurrency, 50)));
    // The runs' asks reach a controller that no Worker runs: their updates are never accepted.
    await until('the runs ask', () => concurrencyCallsInFlight() > 0);
    // Each hung send is given up after 3 s; the runs' local activities give up after 5 s and ask by
    // signal. No call of this process stays open on the unanswering controller.
    await until('no call to the controller is left open', () => concurrencyCallsInFlight() === 0, 30_000);
    expect(handles.filter((h) => recorder.hasStarted(h.workflowId))).toEqual([]);
    const controllerWorker = await createWorker({
      taskQueue: controllerQueue,
      activities: concurrencyActivities,
    });
    const result = await controllerWorker.runUntil(async () => {
      await Promise.all(handles.map((h) => h.result()));
      return controllerResult(group);
    });
    expect(result.stats).toEqual({ granted: 3, released: 3, cancelled: 0, rejected: 0, reclaimed: 0 });
    expect(recorder.max(`${group}/k`)).toBe(1);
  });
});
