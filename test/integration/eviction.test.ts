import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evictableWait, lastCheckpoint } from '../../src/activities/evictable-wait.js';
import { type EvictionEvent, evictionStats, onEviction } from '../../src/activities/eviction-registry.js';
import { slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { createWorker, testClient, tunerWith, uniqueQueue, until } from './helpers.js';
import type { EvictableCallInput, EvictableFlagInput } from './workflows/eviction.js';

/** The external conditions the waiting activities check, by name. */
const flags = new Map<string, boolean>();
/** What each activity attempt saw when it started. */
let attempts: Array<{ name: string; attempt: number; checkpoint: unknown }>;
/** Names of activities that did their (non-idempotent) preparation. */
let preparations: string[];
/** When each `quick` activity started, by name (performance.now()). */
let quickStarted: Map<string, number>;
/** When each `waitForFlag` activity's wait ended, by name (performance.now()). */
let waitEnded: Map<string, number>;
let events: Array<EvictionEvent & { at: number }>;
let stopListening: () => void;

interface WaitInput {
  name: string;
  priority?: number;
  capacityEviction?: boolean;
  ttlMs?: number;
  retryDelayMs?: number;
}

const activities = {
  /** Prepares once (skipped on resume by checkpoint), then waits for its flag. */
  async waitForFlag(input: WaitInput): Promise<string> {
    const { attempt } = Context.current().info;
    const checkpoint = lastCheckpoint<{ prepared: string }>();
    attempts.push({ name: input.name, attempt, checkpoint: checkpoint ?? null });
    let prepared = checkpoint?.prepared;
    if (prepared === undefined) {
      preparations.push(input.name);
      prepared = `prepared in attempt ${attempt}`;
    }
    const result = await evictableWait(() => flags.get(input.name) === true && `${input.name}: ${prepared}`, {
      pollIntervalMs: 100,
      checkpoint: { prepared },
      priority: input.priority ?? 0,
      capacityEviction: input.capacityEviction ?? true,
      ...(input.ttlMs ? { ttlMs: input.ttlMs } : {}),
      retryDelayMs: input.retryDelayMs ?? 500,
    });
    waitEnded.set(input.name, performance.now());
    return result;
  },
  async quick(name: string): Promise<string> {
    quickStarted.set(name, performance.now());
    return name;
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The activity attempts the workflow's history shows: one scheduled call, and the started attempt. */
async function historyOf(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const started = events.find(
    (e) => e.activityTaskStartedEventAttributes,
  )?.activityTaskStartedEventAttributes;
  return {
    scheduled: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    completed: events.filter((e) => e.activityTaskCompletedEventAttributes).length,
    failed: events.filter((e) => e.activityTaskFailedEventAttributes).length,
    startedAttempt: started?.attempt,
    lastFailureType: started?.lastFailure?.applicationFailureInfo?.type,
  };
}

/** The Temporal priority key each activity call of the workflow was scheduled with, in order. */
async function scheduledPriorityKeys(handle: WorkflowHandle): Promise<Array<number | null | undefined>> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => e.activityTaskScheduledEventAttributes?.priority?.priorityKey);
}

/** The failure types of the activity calls that failed, in the workflow's history. */
async function evictionFailureTypes(handle: WorkflowHandle): Promise<Array<string | null | undefined>> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type)
    .filter((type) => type !== undefined);
}

beforeEach(() => {
  flags.clear();
  attempts = [];
  preparations = [];
  quickStarted = new Map();
  waitEnded = new Map();
  events = [];
  stopListening = onEviction((event) => events.push({ ...event, at: performance.now() }));
});

afterEach(() => stopListening());

describe('evictableWait() on a real Worker', () => {
  it('evictableWait() evicts the lower-priority waiter for new work, which resumes on its signal from its checkpoint', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('evict-capacity');
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const metrics = new SlotwiseMetrics();
    metrics.track(supplier, { taskQueue });
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities,
    });
    // The waiters resume after an eviction only on their `flag` signal: the freed slot can go nowhere
    // but to the new work, whichever task queue partition its poll lands on.
    const wait = (name: string, priority: number) =>
      client.workflow.start('evictableFlagWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-${name}`,
        args: [{ name, priority } satisfies EvictableFlagInput],
      });
    await worker.runUntil(async () => {
      const high = await wait('high', 5);
      await until('the first waits', () => evictionStats().waiting === 1);
      const low = await wait('low', 1);
      await until(
        'both wait, slots full',
        () => evictionStats().waiting === 2 && supplier.snapshot().waiting > 0,
      );
      await sleep(500); // pollers wait on the full supplier: not new work, nothing is evicted
      expect(events).toEqual([]);

      const newWorkAt = performance.now();
      // Plain proxyActivities: the default priority key (3), ahead of the waits' (4).
      const newWork = await client.workflow.start('plainCallWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-new`,
        args: [{ activity: 'quick', args: ['new'] } satisfies EvictableCallInput],
      });
      expect(await newWork.result()).toBe('new');
      expect(events.map((e) => [e.reason, e.workflowId, e.attempt, e.priority, e.supplier])).toEqual([
        ['capacity', low.workflowId, 1, 1, supplier.name],
      ]);
      const evictionLatencyMs = events[0]!.at - newWorkAt;
      // Up to the server's cache of per-priority backlog counts (about 5 s): logged, not asserted.
      console.log(`eviction latency: ${evictionLatencyMs.toFixed(0)} ms after the new workflow was started`);
      const evictions = await metrics.registry.getSingleMetric('slotwise_evictions_total')!.get();
      expect(evictions.values.map((v) => [v.labels.reason, v.labels.supplier, v.value])).toEqual([
        ['capacity', supplier.name, 1],
      ]);
      expect(quickStarted.get('new')!).toBeGreaterThan(events[0]!.at);

      flags.set('high', true);
      flags.set('low', true);
      await Promise.all([high.signal('flag'), low.signal('flag')]);
      expect(await high.result()).toBe('high: prepared in attempt 1');
      expect(await low.result()).toBe('low: prepared in attempt 1');
      expect(attempts).toEqual([
        { name: 'high', attempt: 1, checkpoint: null },
        { name: 'low', attempt: 1, checkpoint: null },
        // A new call, not a server retry: the eviction used up no attempt.
        { name: 'low', attempt: 1, checkpoint: { prepared: 'prepared in attempt 1' } },
      ]);
      expect(preparations).toEqual(['high', 'low']);
      // The evicted call ended (failed with SlotwiseEvicted, non-retryable); the workflow called again.
      expect(await historyOf(low)).toEqual({
        scheduled: 2,
        completed: 1,
        failed: 1,
        startedAttempt: 1,
        lastFailureType: undefined,
      });
      expect(await evictionFailureTypes(low)).toEqual(['SlotwiseEvicted']);
      // Waiting, it was dispatched after default work (key 4); its event arrived, so the call that
      // resumes it is ready work (key 3) and goes ahead of waits that still wait.
      expect(await scheduledPriorityKeys(low)).toEqual([4, 3]);
      expect((await historyOf(high)).startedAttempt).toBe(1);
      expect(events).toHaveLength(1);
    });
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('evictableWait() gives the slot back after its TTL, and the next call resumes from the checkpoint', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('evict-ttl');
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities,
    });
    await worker.runUntil(async () => {
      const waiter = await client.workflow.start('evictableCallWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-waiter`,
        args: [
          {
            activity: 'waitForFlag',
            args: [{ name: 'ttl', ttlMs: 1000, capacityEviction: false, retryDelayMs: 1500 }],
          },
        ],
      });
      await until('the waiter waits', () => evictionStats().waiting === 1);
      const other = await client.workflow.start('evictableCallWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-other`,
        args: [{ activity: 'quick', args: ['other'] }],
      });
      expect(await other.result()).toBe('other');
      // The other task could run only once the TTL freed the one slot.
      expect(events.map((e) => [e.reason, e.workflowId, e.attempt])).toEqual([['ttl', waiter.workflowId, 1]]);
      expect(events[0]!.waitedMs).toBeGreaterThanOrEqual(1000);
      expect(quickStarted.get('other')!).toBeGreaterThan(events[0]!.at);
      flags.set('ttl', true); // before the next call (1.5 s after the eviction): it finds it true
      expect(await waiter.result()).toBe('ttl: prepared in attempt 1');
      expect(attempts).toEqual([
        { name: 'ttl', attempt: 1, checkpoint: null },
        { name: 'ttl', attempt: 1, checkpoint: { prepared: 'prepared in attempt 1' } },
      ]);
      expect(await historyOf(waiter)).toMatchObject({ scheduled: 2, completed: 1, failed: 1 });
    });
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('evictableWait() with capacityEviction false holds its slot: new work waits until it completes', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('evict-never');
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities,
    });
    await worker.runUntil(async () => {
      const handles = await Promise.all(
        ['first', 'second'].map((name) =>
          client.workflow.start('evictableCallWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-${name}`,
            args: [{ activity: 'waitForFlag', args: [{ name, capacityEviction: false }] }],
          }),
        ),
      );
      await until('both wait', () => evictionStats().waiting === 2);
      // Work that outranks the waits (default priority key): it would evict a wait that allowed it.
      const newWork = await client.workflow.start('plainCallWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-new`,
        args: [{ activity: 'quick', args: ['new'] }],
      });
      await sleep(2500); // longer than a capacity eviction takes
      expect(quickStarted.has('new')).toBe(false);
      expect(supplier.snapshot()).toMatchObject({ issued: 2, used: 2 });
      flags.set('first', true);
      expect(await handles[0]!.result()).toBe('first: prepared in attempt 1');
      expect(await newWork.result()).toBe('new');
      expect(quickStarted.get('new')!).toBeGreaterThan(waitEnded.get('first')!);
      flags.set('second', true);
      expect(await handles[1]!.result()).toBe('second: prepared in attempt 1');
    });
    expect(events).toEqual([]);
    expect(attempts.map((a) => [a.name, a.attempt]).sort()).toEqual([
      ['first', 1],
      ['second', 1],
    ]);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('evictableWait() evicts every waiting activity when the Worker shuts down; another Worker resumes them', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('evict-shutdown');
    const tuner = () => tunerWith({ activityTaskSlotSupplier: new FixedSlotSupplier({ slots: 2 }) });
    const first = await createWorker({
      taskQueue,
      tuner: tuner(),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities,
      shutdownGraceTime: '300ms',
    });
    const running = first.run();
    const handles = await Promise.all(
      [
        { name: 'evictable', capacityEviction: true },
        { name: 'holder', capacityEviction: false },
      ].map((input) =>
        client.workflow.start('evictableCallWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-${input.name}`,
          args: [{ activity: 'waitForFlag', args: [input] }],
        }),
      ),
    );
    await until('both wait', () => evictionStats().waiting === 2);
    const shutdownAt = performance.now();
    first.shutdown();
    await running;
    // The Worker cancels its activities with WORKER_SHUTDOWN once the 300 ms grace time is over.
    expect(events.map((e) => e.reason)).toEqual(['shutdown', 'shutdown']);
    expect(events.map((e) => e.workflowId).sort()).toEqual(handles.map((h) => h.workflowId).sort());
    expect(events.every((e) => e.at - shutdownAt >= 300)).toBe(true);

    flags.set('evictable', true);
    flags.set('holder', true);
    const second = await createWorker({
      taskQueue,
      tuner: tuner(),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities,
    });
    const results = await second.runUntil(Promise.all(handles.map((h) => h.result())));
    expect(results).toEqual(['evictable: prepared in attempt 1', 'holder: prepared in attempt 1']);
    expect(preparations.sort()).toEqual(['evictable', 'holder']);
    // Each evicted call was followed by a new one (attempt 1 again), from the evicted call's checkpoint.
    expect(attempts.filter((a) => a.checkpoint !== null).map((a) => [a.attempt, a.checkpoint])).toEqual([
      [1, { prepared: 'prepared in attempt 1' }],
      [1, { prepared: 'prepared in attempt 1' }],
    ]);
  });
});
