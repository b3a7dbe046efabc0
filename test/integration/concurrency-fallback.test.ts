import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concurrencyActivities } from '../../src/activities/concurrency-activities.js';
import type {
  ConcurrencyAcquireInput,
  ConcurrencyReleaseInput,
} from '../../src/workflows/concurrency/activity-contract.js';
import type { WithConcurrencyOptions } from '../../src/workflows/concurrency/options.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../../src/workflows/concurrency/signals.js';
import type { ConcurrencyDecision } from '../../src/workflows/concurrency/types.js';
import { createWorker, testClient, uniqueQueue } from './helpers.js';

// A run whose acquire local activity runs out of time asks again by signal (and releases by signal
// when its release activity runs out of time). On a loaded machine every run of a group can take that
// path (a live crash test once saw every acquire time out). Here the activities are made to run out of
// time on purpose, in the three ways a request can then reach the controller: by the signal only; by
// an update that landed but whose answer came too late, then the signal; by the signal, then the same
// request again by an update that lands late (while the run waits, works, or after it released).
// The runs' workflow task timeout is 2 s, so their local activities give up after 1 s.

const taskQueue = uniqueQueue('fallback');
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;

type Mode = 'never-answers' | 'answers-too-late' | 'updates-late';
/** How the acquire and release activities of a group misbehave. */
const modes = new Map<string, Mode>();
/** Late updates sent by the `updates-late` acquire, to wait for before counting. */
const lateUpdates: Array<Promise<ConcurrencyDecision[]>> = [];

/** Activity executions per key, and the most that ran at once per key. */
const running = new Map<string, number>();
const peak = new Map<string, number>();

const acquire = concurrencyActivities['slotwise.concurrency.acquire'];
const release = concurrencyActivities['slotwise.concurrency.release'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until this local activity has been given up (it times out after 1 s), whatever it is told. */
async function outlive(): Promise<void> {
  await Context.current()
    .sleep(10_000)
    .catch(() => undefined);
  await sleep(200);
}

/** Resolves once `workflowId` has an open run (polled every 50 ms, at most 30 s). */
async function untilOpen(workflowId: string): Promise<void> {
  for (const until = Date.now() + 30_000; ; await sleep(50)) {
    const status = await client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        (d) => d.status.name,
        () => 'NOT_FOUND',
      );
    if (status === 'RUNNING') return;
    if (Date.now() > until) throw new Error(`${workflowId}: no open run after 30 s (last seen ${status})`);
  }
}

beforeAll(async () => {
  client = await testClient();
  worker = await createWorker({
    taskQueue,
    activities: {
      ...concurrencyActivities,
      'slotwise.concurrency.acquire': async (input: ConcurrencyAcquireInput) => {
        const mode = modes.get(input.start.group);
        if (mode === 'never-answers') {
          await outlive();
          throw new Error('never answers');
        }
        if (mode === 'answers-too-late') {
          const answer = await acquire(input); // the update lands...
          await outlive(); // ...but its answer comes after the run stopped waiting
          return answer;
        }
        if (mode === 'updates-late') {
          await outlive();
          // The run has asked by signal meanwhile; the same request now lands again, by update, at
          // some point of the run's life (waiting, working, or after its release).
          const index = Number(input.request.workflowId.split('-').pop());
          await sleep((index % 4) * 700);
          const controller = client.workflow.getHandle(input.controllerId);
          // Lands "again" only once the controller is open: the run whose signal found none starts it,
          // two workflow tasks after its acquire timed out, which on a loaded machine can be later
          // than this (a clean-clone CI run failed here with WorkflowNotFoundError).
          const late = untilOpen(input.controllerId)
            .then(() =>
              controller.executeUpdate<ConcurrencyDecision[], [unknown]>(
                'slotwise.concurrency.acquireBatch',
                {
                  args: [[input.request]],
                },
              ),
            )
            .catch(async (error: unknown) => {
              const status = await controller.describe().then(
                (d) => d.status.name,
                (e: unknown) => String(e),
              );
              throw new Error(`late update for ${input.request.workflowId} failed (controller: ${status})`, {
                cause: error,
              });
            });
          lateUpdates.push(late);
          await late.catch(() => undefined);
          throw new Error('updated late');
        }
        return acquire(input);
      },
      'slotwise.concurrency.release': async (input: ConcurrencyReleaseInput) => {
        const group = input.controllerId.slice('slotwise-concurrency:'.length);
        if (modes.get(group) === 'updates-late') {
          await outlive(); // and releases by signal
          throw new Error('never answers');
        }
        return release(input);
      },
      async simulatedWork({ ms, index }: { ms: number; index: number }) {
        const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
        const key = workflowId.split('--')[1]!;
        const now = (running.get(key) ?? 0) + 1;
        running.set(key, now);
        peak.set(key, Math.max(peak.get(key) ?? 0, now));
        try {
          await sleep(ms);
        } finally {
          running.set(key, running.get(key)! - 1);
        }
        return index;
      },
    },
  });
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
});

/**
 * Requests the controller took by signal (or in its start input, from the run whose signal found no
 * controller and started it), and the updates it accepted, through its continue-as-new chain.
 */
async function controllerInputs(workflowId: string): Promise<{ requestSignals: number; updates: number }> {
  const counts = { requestSignals: 0, updates: 0 };
  for (let runId: string | undefined, n = 0; n < 50; n++) {
    const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const started = events?.[0]?.workflowExecutionStartedEventAttributes;
    const data = started?.continuedExecutionRunId ? undefined : started?.input?.payloads?.[0]?.data;
    if (data) counts.requestSignals += JSON.parse(Buffer.from(data).toString('utf8')).requests?.length ?? 0;
    for (const event of events ?? []) {
      if (event.workflowExecutionSignaledEventAttributes?.signalName === 'slotwise.concurrency.request')
        counts.requestSignals++;
      if (event.workflowExecutionUpdateAcceptedEventAttributes) counts.updates++;
    }
    runId = events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  return counts;
}

/**
 * Runs 6 workflows over 2 keys, maxRuns 1, with the activities of `mode`; checks that every run
 * completes, never 2 of a key at once, and the controller granted and released each run exactly once.
 */
async function runGroup(mode: Mode) {
  const group = uniqueQueue(`fallback-${mode}`);
  modes.set(group, mode);
  const keys = ['a', 'b'].map((k) => `${group}-${k}`);
  const runs = 6;
  const handles: WorkflowHandle[] = await Promise.all(
    Array.from({ length: runs }, (_, index) => {
      const key = keys[index % keys.length]!;
      const concurrency: WithConcurrencyOptions = {
        group,
        key,
        maxRuns: 1,
        controller: { probeIntervalMs: 500, idleTimeoutMs: 5_000 },
      };
      return client.workflow.start('concurrencyExampleWorkflow', {
        taskQueue,
        workflowId: `${group}--${key}--${index}`,
        // Local activities of a run are bounded to half its workflow task timeout: 1 s here.
        workflowTaskTimeout: '2s',
        args: [{ concurrency, workMs: 300, index }],
      });
    }),
  );
  const results = await Promise.all(handles.map((h) => h.result() as Promise<number>));
  await Promise.allSettled(lateUpdates);
  const controller = client.workflow.getHandle(concurrencyControllerId(group));
  // The last release signals were sent before their runs completed: wait until the controller has them.
  let snapshot = await controller.query(concurrencyStateQuery);
  for (let tries = 0; tries < 100 && snapshot.stats.released < runs; tries++) {
    await sleep(100);
    snapshot = await controller.query(concurrencyStateQuery);
  }
  expect(results).toEqual(Array.from({ length: runs }, (_, index) => index));
  expect(keys.map((key) => peak.get(key))).toEqual([1, 1]);
  expect(snapshot.stats).toEqual({ granted: runs, released: runs, cancelled: 0, rejected: 0, reclaimed: 0 });
  expect(snapshot.running).toEqual([]);
  expect(snapshot.queued).toEqual([]);
  return { inputs: await controllerInputs(concurrencyControllerId(group)), late: lateUpdates.splice(0) };
}

describe('withConcurrency() when every acquire runs out of time and the runs ask by signal', () => {
  it('withConcurrency() grants every run once, one per key at a time, when no acquire activity answers in time', async () => {
    const { inputs } = await runGroup('never-answers');
    expect(inputs).toEqual({ requestSignals: 6, updates: 0 });
  });

  it('withConcurrency() grants every run once when each update lands but its answer comes after the run asked by signal', async () => {
    const { inputs } = await runGroup('answers-too-late');
    expect(inputs.requestSignals).toBe(6);
    expect(inputs.updates).toBeGreaterThanOrEqual(1); // the batches that carried the 6 requests
  });

  it('withConcurrency() grants every run once when the same request lands again by update after the signal, while the run waits, works or after it released (and releases by signal)', async () => {
    const { inputs, late } = await runGroup('updates-late');
    expect(inputs.requestSignals).toBe(6);
    const answers = await Promise.all(late);
    expect(answers).toHaveLength(6);
    expect(inputs.updates).toBe(6);
  });
});
