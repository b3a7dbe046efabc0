import { type Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  defaultPayloadConverter,
  type Payload,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { concurrencyActivities } from '../../src/activities/concurrency-activities.js';
import { main } from '../../src/cli/main.js';
import type { WithConcurrencyOptions } from '../../src/workflows/concurrency/options.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../../src/workflows/concurrency/signals.js';
import type {
  ConcurrencyControllerResult,
  ConcurrencyControllerSnapshot,
} from '../../src/workflows/concurrency/types.js';
import { controllerTotals, createWorker, testClient, uniqueQueue, until } from './helpers.js';
import { KeyedConcurrency, simulatedWork } from './keyed-work.js';

// One Worker serves every test of this file (Worker start/stop dominates short tests); each test
// uses its own concurrency group. The Worker's `simulatedWork` records, per concurrency key, how
// many activities run at once: the work itself, not the controller's bookkeeping.

const recorder = new KeyedConcurrency();
const taskQueue = uniqueQueue('concurrency');
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;

beforeAll(async () => {
  client = await testClient();
  worker = await createWorker({
    taskQueue,
    // Cancellation reaches an activity through heartbeats; answer them quickly.
    defaultHeartbeatThrottleInterval: '50ms',
    maxHeartbeatThrottleInterval: '50ms',
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

/** Fast settings so tests see probes and idle exits within seconds. */
const fastController = { probeIntervalMs: 500, idleTimeoutMs: 1_000 };

let runCounter = 0;
/** Starts `concurrencyExampleWorkflow` (or `workflowType`) for `key` in `concurrency.group`. */
async function startRun(
  concurrency: WithConcurrencyOptions,
  workMs: number,
  options: { index?: number; workflowType?: string; workflowExecutionTimeout?: string } = {},
): Promise<WorkflowHandle> {
  const workflowId = `${concurrency.group}--${concurrency.key}--${++runCounter}`;
  recorder.keyOf.set(workflowId, `${concurrency.group}/${concurrency.key}`);
  return client.workflow.start(options.workflowType ?? 'concurrencyExampleWorkflow', {
    taskQueue,
    workflowId,
    args: [{ concurrency, workMs, index: options.index ?? runCounter }],
    ...(options.workflowExecutionTimeout
      ? { workflowExecutionTimeout: options.workflowExecutionTimeout }
      : {}),
  });
}

const snapshotOf = (group: string): Promise<ConcurrencyControllerSnapshot> =>
  client.workflow.getHandle(concurrencyControllerId(group)).query(concurrencyStateQuery);

/** The controller's result once it has gone idle and completed, counters summed over every controller of the group. */
const controllerResult = (group: string): Promise<ConcurrencyControllerResult & { chains: number }> =>
  controllerTotals(client, concurrencyControllerId(group));

const started = (handle: WorkflowHandle) => recorder.started.includes(handle.workflowId);

/** The `index` a run was started with (its run number, unless given). */
const indexOf = (handle: WorkflowHandle) => Number(handle.workflowId.split('--').pop());

/** The failure a workflow ended with: the cause of its WorkflowFailedError. */
async function failureOf(handle: WorkflowHandle): Promise<unknown> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause;
}

describe('withConcurrency() across a real Worker and a real controller workflow', () => {
  it('withConcurrency() runs 100 workflows over 5 keys with exactly maxRuns = 2 at once per key, all complete, across continue-as-new', async () => {
    const group = uniqueQueue('rr-100');
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    const concurrency = (key: string): WithConcurrencyOptions => ({
      group,
      key,
      maxRuns: 2,
      strategy: 'GROUP_ROUND_ROBIN',
      controller: { ...fastController, maxHistoryEvents: 300 },
    });
    const began = Date.now();
    const handles = await Promise.all(
      Array.from({ length: 100 }, (_, i) => startRun(concurrency(keys[i % 5]!), 150, { index: i })),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    const elapsedMs = Date.now() - began;
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(recorder.ended.filter((id) => id.startsWith(`${group}--`))).toHaveLength(100);
    // Never more than maxRuns of a key at once, and the limit is reached. Whether every key's two
    // grants overlap in time depends on dispatch latency (a CI run saw [2, 1, 2, 2, 2] with the
    // controller correct), so "reached" is asserted over the group, "never passed" for each key.
    const maxima = keys.map((key) => recorder.max(`${group}/${key}`));
    expect(maxima.filter((max) => max > 2)).toEqual([]);
    expect(Math.max(...maxima)).toBe(2);
    const result = await controllerResult(group);
    expect(result.stats).toEqual({ granted: 100, released: 100, cancelled: 0, rejected: 0, reclaimed: 0 });
    expect(result.generation).toBeGreaterThanOrEqual(1);
    console.log(
      `slotwise: 100 runs over 5 keys (maxRuns 2, 150 ms each) in ${elapsedMs} ms; ` +
        `controller continued as new ${result.generation} times`,
    );
  });

  it('withConcurrency() runs asking one controller at once from one Worker share batch updates and batch release signals', async () => {
    const group = uniqueQueue('batched');
    const concurrency = (key: string): WithConcurrencyOptions => ({
      group,
      key,
      maxRuns: 30,
      // One controller must see every run to hold every request in its one history: a longer idle
      // exit than the other tests, so a loaded machine's slow starters do not find it gone.
      controller: { ...fastController, idleTimeoutMs: 5_000 },
    });
    const handles = await Promise.all(
      Array.from({ length: 30 }, (_, i) => startRun(concurrency(`k${i % 3}`), 100, { index: i })),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const result = await controllerResult(group);
    expect(result.stats).toEqual({ granted: 30, released: 30, cancelled: 0, rejected: 0, reclaimed: 0 });
    expect(result.chains).toBe(1);
    expect(result.generation).toBe(0); // one history holds every request and release
    const history = await client.workflow.getHandle(concurrencyControllerId(group)).fetchHistory();
    const payload = (p: unknown) => defaultPayloadConverter.fromPayload(p as Payload) as unknown;
    const asked = { single: 0, batches: [] as number[], bySignal: 0, ids: new Set<string>() };
    const released = { single: 0, batches: [] as number[], ids: new Set<string>() };
    for (const event of history.events ?? []) {
      const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
      if (update?.name === 'slotwise.concurrency.acquire') asked.single++;
      if (update?.name === 'slotwise.concurrency.acquireBatch') {
        const requests = payload(update.args?.payloads?.[0]) as Array<{ requestId: string }>;
        asked.batches.push(requests.length);
        for (const r of requests) asked.ids.add(r.requestId);
      }
      const signal = event.workflowExecutionSignaledEventAttributes;
      const arg = signal?.input?.payloads?.[0];
      if (signal?.signalName === 'slotwise.concurrency.request') {
        asked.bySignal++; // a run whose ask timed out on this busy machine asks again by signal
        asked.ids.add((payload(arg) as { requestId: string }).requestId);
      }
      if (signal?.signalName === 'slotwise.concurrency.release') {
        released.single++;
        released.ids.add((payload(arg) as { requestId: string }).requestId);
      }
      if (signal?.signalName === 'slotwise.concurrency.releaseBatch') {
        const { requestIds } = payload(arg) as { requestIds: string[] };
        released.batches.push(requestIds.length);
        for (const id of requestIds) released.ids.add(id);
      }
    }
    // No request went as an update of its own; all 30 asked and released, mostly in batches.
    expect(asked.single).toBe(0);
    expect(asked.ids.size).toBe(30);
    expect(asked.batches.length).toBeGreaterThanOrEqual(1);
    expect(released.ids.size).toBe(30);
    expect(released.batches.length).toBeGreaterThanOrEqual(1);
    console.log(
      `slotwise: 30 runs asked in ${asked.batches.length} batch updates (${asked.batches.join(', ')}) + ${asked.bySignal} signals, ` +
        `released in ${released.batches.length} batch signals (${released.batches.join(', ')}) + ${released.single} single signals`,
    );
  });

  it('withConcurrency() grants round-robin across keys under groupMaxRuns: a, b, c, a, b, c, ...', async () => {
    const group = uniqueQueue('rr-fair');
    const concurrency = (key: string): WithConcurrencyOptions => ({
      group,
      key,
      maxRuns: 5,
      groupMaxRuns: 1,
      controller: fastController,
    });
    // One long run of key x holds the only group slot while the others queue in a known order:
    // all of a, then all of b, then all of c.
    const holder = await startRun(concurrency('x'), 3_000);
    await until('the holder works', () => started(holder));
    const handles: WorkflowHandle[] = [];
    let queued = 0;
    for (const [key, count] of [
      ['a', 6],
      ['b', 3],
      ['c', 3],
    ] as const) {
      for (let i = 0; i < count; i++) handles.push(await startRun(concurrency(key), 100));
      queued += count;
      await until(`${queued} runs wait`, async () => (await snapshotOf(group)).queued.length === queued);
    }
    await Promise.all([holder, ...handles].map((h) => h.result()));
    const order = recorder.started
      .filter((id) => id.startsWith(`${group}--`))
      .map((id) => recorder.keyOf.get(id)!.split('/')[1]);
    expect(order.join('')).toBe('xabcabcabcaaa');
    expect(recorder.max(`${group}/x`) + recorder.max(`${group}/a`)).toBe(2);
    expect((await controllerResult(group)).stats).toMatchObject({ granted: 13, released: 13 });
  });

  it('withConcurrency() with CANCEL_IN_PROGRESS cancels the running run and runs the new one after it has stopped', async () => {
    const group = uniqueQueue('cancel-in-progress');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'deploy',
      maxRuns: 1,
      strategy: 'CANCEL_IN_PROGRESS',
      controller: fastController,
    };
    const first = await startRun(concurrency, 60_000);
    await until('the first run works', () => started(first));
    const second = await startRun(concurrency, 100);
    const failure = await failureOf(first);
    // The replaced run can tell why: the failure names CANCEL_IN_PROGRESS and the run that replaced it.
    expect(failure).toBeInstanceOf(CancelledFailure);
    expect((failure as Error).message).toBe(
      `withConcurrency: cancelled by CANCEL_IN_PROGRESS: a newer run (${second.workflowId}) of key "deploy" in group "${group}" replaces this one`,
    );
    expect(await second.result()).toBe(indexOf(second));
    expect((await first.describe()).status.name).toBe('FAILED');
    expect(recorder.max(`${group}/deploy`)).toBe(1);
    // The first run's activity ended before the second one's began.
    expect(recorder.ended.indexOf(first.workflowId)).toBeLessThan(
      recorder.started.indexOf(second.workflowId),
    );
    // Freed by the cancelled run's own release, not by a probe.
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 1,
      rejected: 0,
      reclaimed: 0,
    });
  });

  it("withConcurrency() with CANCEL_IN_PROGRESS leaves an operator's cancel a plain cancellation, and frees its grant", async () => {
    const group = uniqueQueue('cip-operator');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'deploy',
      maxRuns: 1,
      strategy: 'CANCEL_IN_PROGRESS',
      controller: fastController,
    };
    const first = await startRun(concurrency, 60_000);
    await until('the first run works', () => started(first));
    await first.cancel();
    const failure = await failureOf(first);
    expect(failure).toBeInstanceOf(CancelledFailure);
    expect((failure as Error).message).not.toContain('CANCEL_IN_PROGRESS');
    const second = await startRun(concurrency, 100);
    expect(await second.result()).toBe(indexOf(second));
    expect(recorder.max(`${group}/deploy`)).toBe(1);
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 0,
      rejected: 0,
      reclaimed: 0,
    });
  });

  it('withConcurrency() with CANCEL_NEWEST refuses a new run for a full key with ConcurrencyRejectedError', async () => {
    const group = uniqueQueue('cancel-newest');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'refresh',
      maxRuns: 1,
      strategy: 'CANCEL_NEWEST',
      controller: fastController,
    };
    const running = await startRun(concurrency, 1_500);
    await until('the first run works', () => started(running));
    const refused = await startRun(concurrency, 100);
    const skipped = await startRun(concurrency, 100, { workflowType: 'singleFlightExampleWorkflow' });
    const failure = await failureOf(refused);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ConcurrencyRejectedError', nonRetryable: true });
    expect((failure as Error).message).toBe(
      `withConcurrency: run refused by group "${group}": key "refresh" already has 1 of 1 runs (CANCEL_NEWEST)`,
    );
    expect(await skipped.result()).toMatchObject({ ran: false });
    expect(await running.result()).toBe(indexOf(running));
    // Once the key is free again, a new run is granted.
    const later = await startRun(concurrency, 50, { workflowType: 'singleFlightExampleWorkflow' });
    expect(await later.result()).toEqual({ ran: true, index: indexOf(later) });
    expect(recorder.max(`${group}/refresh`)).toBe(1);
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 0,
      rejected: 2,
      reclaimed: 0,
    });
  });

  it('withConcurrency() frees the grant of a failed run, and of a run cancelled while it waits', async () => {
    const group = uniqueQueue('fail-and-give-up');
    const concurrency: WithConcurrencyOptions = { group, key: 'k', maxRuns: 1, controller: fastController };
    const failing = await startRun(concurrency, 2_000, { index: -1 });
    await until('the failing run works', () => started(failing));
    const waiting = await startRun(concurrency, 100);
    const next = await startRun(concurrency, 100);
    await until('two runs wait behind the failing one', async () => {
      const { queued } = await snapshotOf(group).catch(() => ({ queued: [] }));
      return queued.length === 2;
    });
    await waiting.cancel();
    await until(
      'the cancelled run no longer waits',
      async () => (await snapshotOf(group)).queued.length === 1,
    );
    expect(await failureOf(waiting)).toBeInstanceOf(CancelledFailure);
    expect(((await failureOf(failing)) as Error).cause).toMatchObject({ type: 'InjectedFailure' });
    expect(await next.result()).toBe(indexOf(next));
    expect(started(waiting)).toBe(false);
    expect((await controllerResult(group)).stats).toEqual({
      granted: 2,
      released: 2,
      cancelled: 0,
      rejected: 0,
      reclaimed: 0,
    });
  });

  it('withConcurrency() frees the grant of a terminated run and of a timed-out run: the controller probe finds them', async () => {
    const group = uniqueQueue('terminated');
    const concurrency: WithConcurrencyOptions = { group, key: 'k', maxRuns: 1, controller: fastController };
    const terminated = await startRun(concurrency, 60_000);
    await until('the first run works', () => started(terminated));
    const timedOut = await startRun(concurrency, 60_000, { workflowExecutionTimeout: '5s' });
    const last = await startRun(concurrency, 100);
    await until('both later runs wait', async () => (await snapshotOf(group)).queued.length === 2);
    const terminatedAt = Date.now();
    await terminated.terminate('operator');
    await until('the timed-out run works', () => started(timedOut));
    const reclaimMs = Date.now() - terminatedAt;
    expect(await failureOf(terminated)).toBeInstanceOf(TerminatedFailure);
    expect(await failureOf(timedOut)).toBeInstanceOf(TimeoutFailure);
    expect(await last.result()).toBe(indexOf(last));
    // Terminated and timed-out workflows run no cleanup; their activities are left running (the
    // next heartbeat finds the workflow gone). Both grants came back through the probe.
    expect((await controllerResult(group)).stats).toEqual({
      granted: 3,
      released: 3,
      cancelled: 0,
      rejected: 0,
      reclaimed: 2,
    });
    console.log(
      `slotwise: a terminated run's grant was reclaimed ${reclaimMs} ms after terminate (probe 500 ms)`,
    );
  });

  it('withConcurrency() starts a new controller under the same id when the last one went idle and completed', async () => {
    const group = uniqueQueue('idle-exit');
    const concurrency: WithConcurrencyOptions = {
      group,
      key: 'k',
      maxRuns: 1,
      controller: { probeIntervalMs: 500, idleTimeoutMs: 300 },
    };
    const id = concurrencyControllerId(group);
    const first = await startRun(concurrency, 0);
    expect(await first.result()).toBe(indexOf(first));
    const firstController: ConcurrencyControllerResult = await client.workflow.getHandle(id).result();
    const second = await startRun(concurrency, 0);
    expect(await second.result()).toBe(indexOf(second));
    const totals = await controllerTotals(client, id);
    const one = { granted: 1, released: 1, cancelled: 0, rejected: 0, reclaimed: 0 };
    expect(firstController.stats).toEqual(one);
    expect(totals.chains).toBe(2);
    expect(totals.stats).toEqual({ ...one, granted: 2, released: 2 });
  });
  it('`slotwise concurrency status` shows the runs per key while a group works, and says why once its controller has completed', async () => {
    const group = uniqueQueue('status');
    const concurrency = (key: string): WithConcurrencyOptions => ({
      group,
      key,
      maxRuns: 1,
      controller: fastController,
    });
    const handles = [
      await startRun(concurrency('a'), 3_000),
      await startRun(concurrency('b'), 3_000),
      await startRun(concurrency('a'), 0),
      await startRun(concurrency('a'), 0),
    ];
    await until('a and b hold, two runs of a wait', async () => {
      const state = await snapshotOf(group).catch(() => undefined); // no controller yet
      return state?.running.length === 2 && state.queued.length === 2;
    });
    const address = ['--address', inject('temporalAddress')];
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['concurrency', 'status', ...argv, ...address], {
        out: (line) => out.push(line),
        err: (line) => err.push(line),
        env: {},
      });
      return { code, out, err };
    };
    const shown = await cli(group);
    expect(shown.code).toBe(0);
    expect(shown.err).toEqual([]);
    expect(shown.out[0]).toBe(`group '${group}': 2 running, 2 waiting; GROUP_ROUND_ROBIN, at most 1 per key`);
    expect(shown.out[1]).toMatch(
      /^controller run 1 \(continued as new 0 times\); long-held grants (described|not checked yet); granted 2, released 0, cancelled 0, rejected 0, reclaimed 0, full 0$/,
    );
    expect(shown.out.slice(2).map((line) => line.replace(/\d+\.\d s$/, 'N s'))).toEqual([
      'key  running  waiting  held longest',
      'a    1        2        N s',
      'b    1        0        N s',
    ]);
    const json = await cli(group, '--json');
    const [entry] = JSON.parse(json.out.join('\n'));
    expect(entry).toMatchObject({ controller: concurrencyControllerId(group), answered: true });
    expect(entry.state.runningPerKey).toEqual({ a: 1, b: 1 });

    const nope = await cli(`${group}-nope`);
    expect(nope.code).toBe(1);
    expect(nope.err).toEqual([
      `slotwise concurrency: no controller of concurrency group '${group}-nope' answers: it never ran in this namespace; check the group name, its controller.shards and the namespace`,
    ]);
    const sharded = await cli(group, '--shards', '2');
    expect(sharded.code).toBe(1);
    expect(sharded.err.map((line) => line.split(' answers: ')[0])).toEqual([
      `slotwise concurrency: no controller of concurrency group '${group}' shard 1 of 2`,
      `slotwise concurrency: no controller of concurrency group '${group}' shard 2 of 2`,
    ]);

    await Promise.all(handles.map((h) => h.result()));
    expect((await controllerResult(group)).stats).toMatchObject({ granted: 4, released: 4 });
    const done = await cli(group);
    expect(done.code).toBe(1);
    expect(done.err).toEqual([
      `slotwise concurrency: no controller of concurrency group '${group}' answers: its last controller is completed (no run of the group held or waited for a grant for its idle timeout); the next run that asks starts one`,
    ]);
  });
});
