import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concurrencyActivities } from '../../src/activities/concurrency-activities.js';
import { CONCURRENCY_STATE_BUDGET_PATCH } from '../../src/workflows/concurrency/controller-workflow.js';
import type { WithConcurrencyOptions } from '../../src/workflows/concurrency/options.js';
import {
  CONCURRENCY_CONTROLLER_WORKFLOW_TYPE,
  concurrencyAcquireBatchUpdate,
  concurrencyControllerId,
  concurrencyStateQuery,
} from '../../src/workflows/concurrency/signals.js';
import type { ConcurrencyDecision, ConcurrencyRequest } from '../../src/workflows/concurrency/types.js';
import { createWorker, testClient, uniqueQueue } from './helpers.js';
import { KeyedConcurrency, simulatedWork } from './keyed-work.js';

// Issue 12, a group that holds a backlog: the controller carries its state (runs granted and waiting)
// into each continue-as-new, and the server refuses a payload over 2 MiB (its default blob limit) by
// terminating the workflow. Before the byte budget, ~15,600 waiting requests of realistic size did
// that, and every run of the group lost its place.

const taskQueue = uniqueQueue('state-budget');
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;
/** Activities running now and the most at once, per group (each run's key is its group here). */
const recorder = new KeyedConcurrency();
/** Records `workflowId` as a run of `group`; returns it. */
const recorded = (group: string, workflowId: string) => {
  recorder.keyOf.set(workflowId, group);
  return workflowId;
};

beforeAll(async () => {
  client = await testClient();
  worker = await createWorker({
    taskQueue,
    activities: {
      ...concurrencyActivities,
      simulatedWork: simulatedWork(recorder),
    },
  });
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
});

/** A request as withConcurrency() makes it, for a run that does not exist (nothing is signalled to it). */
function fakeRequest(n: number, settings: ConcurrencyRequest['settings']): ConcurrencyRequest {
  const workflowId = `customer-report-${String(n).padStart(6, '0')}`;
  const runId = crypto.randomUUID();
  return {
    requestId: `${workflowId}/${runId}/1`,
    key: 'tenant-a',
    workflowId,
    runId,
    originalRunId: runId,
    policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 },
    settings,
    acceptsFull: true,
  };
}

/**
 * Starts `count` runs of one key (maxRuns 1) of `group` with these controller options, and checks what
 * every such case must show: all return their index, one works at a time, every grant was given back
 * and some asks were answered full. Returns the controller's handle and final state.
 */
async function runOneKey(group: string, count: number, controller: WithConcurrencyOptions['controller']) {
  const concurrency: WithConcurrencyOptions = { group, key: 'k', maxRuns: 1, controller };
  const handles = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      client.workflow.start('concurrencyExampleWorkflow', {
        taskQueue,
        workflowId: recorded(group, `${group}--${index}`),
        args: [{ concurrency, workMs: 20, index }],
      }),
    ),
  );
  const results = await Promise.all(handles.map((h) => h.result()));
  expect(results).toEqual(Array.from({ length: count }, (_, index) => index));
  expect(recorder.max(group)).toBe(1);
  const handle = client.workflow.getHandle(concurrencyControllerId(group));
  const snapshot = await handle.query(concurrencyStateQuery);
  expect(snapshot.stats).toMatchObject({ granted: count, released: count, reclaimed: 0 });
  expect(snapshot.stats.full).toBeGreaterThan(0);
  return { controller: handle, snapshot };
}

describe('controller state budget on the dev server', () => {
  it('a controller fed 20,000 waiting requests answers full past its budget and keeps continuing as new, instead of being terminated by the server', async () => {
    const group = `backlog-${Date.now()}`;
    const id = concurrencyControllerId(group);
    // A check tick far away: the fake runs are never described. A small history bound: several
    // continue-as-new, each carrying the whole backlog.
    const settings = { probeIntervalMs: 3_600_000, maxHistoryEvents: 500 };
    await client.workflow.start(CONCURRENCY_CONTROLLER_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: id,
      args: [{ group, settings }],
    });
    const outcomes: Record<string, number> = {};
    const total = 20_000;
    for (let sent = 0; sent < total; sent += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => fakeRequest(sent + i, settings));
      let answers: ConcurrencyDecision[] | undefined;
      while (!answers) {
        try {
          answers = await client.workflow.getHandle(id).executeUpdate(concurrencyAcquireBatchUpdate, {
            args: [batch],
          });
        } catch (error) {
          // Refused while it continues as new: the activities retry such a batch; so does this test.
          if (!(error instanceof WorkflowUpdateFailedError && /continuing as new/.test(String(error.cause))))
            throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      for (const answer of answers) outcomes[answer.outcome] = (outcomes[answer.outcome] ?? 0) + 1;
    }
    const handle = client.workflow.getHandle(id);
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    const snapshot = await handle.query(concurrencyStateQuery);
    try {
      expect(snapshot.generation).toBeGreaterThanOrEqual(2);
      expect(snapshot.running.length).toBe(1);
      expect(outcomes.granted).toBe(1);
      expect(outcomes.queued).toBe(snapshot.queued.length);
      expect(outcomes.full).toBe(total - 1 - snapshot.queued.length);
      expect(snapshot.stats.full).toBe(outcomes.full);
      // 1 MiB by default: several thousand waiting requests of this size fit, and the state query
      // (which lists them) stays under the server's limit too.
      expect(snapshot.queued.length).toBeGreaterThan(3_000);
      expect(Buffer.byteLength(JSON.stringify(snapshot))).toBeLessThan(1_048_576);
      // Every run of the chain continued as new (none terminated), and the budget's marker was asked for.
      const events = (await handle.fetchHistory()).events ?? [];
      const first = events[0]?.workflowExecutionStartedEventAttributes;
      expect(first?.continuedExecutionRunId).toBeTruthy();
      const budgetMarkers = events.filter((e) =>
        Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((details) =>
          details.payloads?.some((p) =>
            Buffer.from(p.data ?? [])
              .toString('utf8')
              .includes(CONCURRENCY_STATE_BUDGET_PATCH),
          ),
        ),
      );
      expect(budgetMarkers.length).toBe(1);
    } finally {
      await handle.terminate('test done: its runs do not exist');
    }
  }, 120_000);

  it('runs refused for room wait and ask again: 80 runs of one key with maxRuns 1 and a 16 KiB budget all complete, one at a time', async () => {
    const { snapshot } = await runOneKey(`small-${Date.now()}`, 80, { maxStateBytes: 16_384 });
    expect(snapshot.stats).toMatchObject({ cancelled: 0, rejected: 0 });
    expect(snapshot.running.length + snapshot.queued.length).toBe(0);
  }, 180_000);

  it('without the concurrency activities (requests and answers by signal), 30 runs against a 4 KiB controller are answered full by signal, ask again and all complete one at a time', async () => {
    const { controller, snapshot } = await runOneKey(`signals-${Date.now()}`, 30, {
      maxStateBytes: 4_096,
      activities: false,
    });
    expect(snapshot.holderCheck).toBe('probe');
    // The full answers went out as decision signals (there is no update to answer in).
    const fullSignals = (await controller.fetchHistory()).events?.filter((e) =>
      e.signalExternalWorkflowExecutionInitiatedEventAttributes?.input?.payloads?.some((p) =>
        Buffer.from(p.data ?? [])
          .toString('utf8')
          .includes('"outcome":"full"'),
      ),
    );
    expect(fullSignals?.length).toBeGreaterThan(0);
  }, 180_000);
});
