import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  ActivityCancellationDetails,
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
  defaultPayloadConverter,
  noopMetricMeter,
} from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { evictableWait, lastCheckpoint } from '../../src/activities/evictable-wait.js';
import { EVICTION_FAILURE_TYPE, isEvictionFailure } from '../../src/activities/eviction-failure.js';
import {
  type EvictableWaiter,
  type EvictionEvent,
  EvictionRegistry,
  evictAllWaiting,
  evictionRegistry,
  evictionStats,
  onEviction,
  pickCapacityVictims,
} from '../../src/activities/eviction-registry.js';
import { EVICTABLE_HEADER, type ResumeState, recordResumeState } from '../../src/activities/resume-state.js';
import { slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import {
  evictableRetryPolicy,
  EVICTION_FAILURE_TYPE as WORKFLOW_EVICTION_FAILURE_TYPE,
} from '../../src/workflows/evictable-activity.js';
import { type RecordingLogger, recordingLogger, reserveCtx, track } from '../helpers/fakes.js';

let activityCounter = 0;
let testCounter = 0;
/** The task queue of this test's activities: evicted waits of earlier tests must not count here. */
let queue = 'unit-evict-0';

interface FakeActivity {
  readonly context: Context;
  readonly heartbeats: unknown[];
  readonly logger: RecordingLogger;
  readonly activityType: string;
  run<T>(fn: () => T): T;
  /** Cancels the way the Worker does; `workerShutdown` mirrors a cancel sent at Worker shutdown. */
  cancel(reason: string, details?: ConstructorParameters<typeof ActivityCancellationDetails>[0]): void;
}

/**
 * A real activity `Context` as the Worker builds it, with the Worker's parts (heartbeat sink, cancel,
 * client) in the test's hands. Unit tests of our own logic only: integration tests use real Workers.
 */
function fakeActivity(
  options: {
    attempt?: number;
    heartbeatDetails?: unknown;
    activityType?: string;
    isLocal?: boolean;
    /** Temporal priority key the activity was dispatched with (proxyEvictableActivities: 4). */
    priorityKey?: number;
    /** What proxyEvictableActivities tells a call about its evicted predecessors. */
    resume?: ResumeState;
  } = {},
): FakeActivity {
  const n = ++activityCounter;
  const activityType = options.activityType ?? `unitWait${n}`;
  const controller = new AbortController();
  const heartbeats: unknown[] = [];
  const logger = recordingLogger();
  const holder: { details?: ActivityCancellationDetails } = {};
  let rejectCancelled: (error: unknown) => void = () => {};
  const cancelled = new Promise<never>((_, reject) => {
    rejectCancelled = reject;
  });
  cancelled.catch(() => undefined);
  const info = {
    activityType,
    activityId: `a${n}`,
    activityNamespace: 'default',
    taskQueue: queue,
    attempt: options.attempt ?? 1,
    isLocal: options.isLocal ?? false,
    heartbeatDetails: options.heartbeatDetails,
    heartbeatTimeoutMs: undefined,
    workflowExecution: { workflowId: `wf${n}`, runId: 'run' },
    priority: { priorityKey: options.priorityKey ?? 4 },
  } as unknown as Info;
  const context = new Context(
    info,
    cancelled,
    controller.signal,
    (details?: unknown) => heartbeats.push(details),
    {} as Client, // the unit tests replace the backlog probe, so the client is never called
    logger,
    noopMetricMeter,
    holder as ConstructorParameters<typeof Context>[7],
  );
  if (options.resume) {
    recordResumeState(context, { [EVICTABLE_HEADER]: defaultPayloadConverter.toPayload(options.resume)! });
  }
  return {
    context,
    heartbeats,
    logger,
    activityType,
    run: (fn) => asyncLocalStorage.run(context, fn),
    cancel(reason, details) {
      holder.details = new ActivityCancellationDetails(details);
      const error = new CancelledFailure(reason);
      controller.abort(error);
      rejectCancelled(error);
    },
  };
}

/** Runs an activity whose slot comes from `supplier`: claimed by the interceptor, marked used by "core". */
function pairedActivity(
  supplier: FixedSlotSupplier,
  options: Parameters<typeof fakeActivity>[0] = {},
): FakeActivity & { permit: SlotwisePermit } {
  const activity = fakeActivity(options);
  slotwiseActivityInterceptor(activity.context);
  const permit = supplier.tryReserveSlot(reserveCtx(queue)) as SlotwisePermit;
  supplier.markSlotUsed({ permit, slotInfo: { type: 'activity', activityType: activity.activityType } });
  return { ...activity, permit };
}

function failureOf(error: unknown): ApplicationFailure {
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

/** Advances fake time by `ms`, then lets the capacity check's promise chain (backlog read, decision) finish. */
async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

let events: EvictionEvent[];
let stopListening: () => void;
/** New work in the backlog: default priority (3), dispatched before the waits (4). */
let backlog: number;
/** Other evictable waits in the backlog (priority 4). */
let waitBacklog: number;
/** The server reports the backlog per priority key. */
let perPriority: boolean;

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
  events = [];
  stopListening = onEviction((event) => events.push(event));
  backlog = 0;
  waitBacklog = 0;
  perPriority = true;
  queue = `unit-evict-${++testCounter}`;
  evictionRegistry.probe = async () => ({
    total: backlog + waitBacklog,
    byPriority: perPriority
      ? new Map([
          [3, backlog],
          [4, waitBacklog],
        ])
      : undefined,
  });
});

afterEach(() => {
  evictAllWaiting(); // no wait outlives its test
  stopListening();
  vi.useRealTimers();
});

describe('evictableWait()', () => {
  it('evictableWait() returns the first truthy value of check, calling it every pollIntervalMs', async () => {
    const activity = fakeActivity();
    const calls: number[] = [];
    const values = [0, '', null, { ready: true }];
    const wait = track(
      activity.run(() =>
        evictableWait(
          () => {
            calls.push(Date.now());
            return values.shift();
          },
          { pollIntervalMs: 500, capacityEviction: false },
        ),
      ),
    );
    const start = Date.now();
    await elapse(1499);
    expect(wait.settled()).toBe(false);
    await elapse(1);
    expect(wait.value()).toEqual({ ready: true });
    expect(calls.map((t) => t - start)).toEqual([0, 500, 1000, 1500]);
    expect(evictionStats().waiting).toBe(0);
  });

  it('evictableWait() returns at once, without waiting, when check is already true', async () => {
    const activity = fakeActivity();
    await expect(activity.run(() => evictableWait(async () => 42))).resolves.toBe(42);
    expect(events).toEqual([]);
  });

  it('evictableWait() heartbeats its checkpoint, and the previous attempt’s when none is given', async () => {
    const first = fakeActivity();
    const wait1 = track(
      first.run(() => evictableWait(() => false, { checkpoint: { step: 2 }, capacityEviction: false })),
    );
    await elapse(2000);
    expect(first.heartbeats).toEqual([{ step: 2 }, { step: 2 }, { step: 2 }]);
    const second = fakeActivity({ attempt: 2, heartbeatDetails: { step: 2 } });
    let step = 3;
    const wait2 = track(
      second.run(() =>
        evictableWait(() => false, { checkpoint: () => ({ step: step++ }), capacityEviction: false }),
      ),
    );
    const third = fakeActivity({ attempt: 2, heartbeatDetails: { step: 7 } });
    const wait3 = track(third.run(() => evictableWait(() => false, { capacityEviction: false })));
    await elapse(1000);
    expect(second.heartbeats).toEqual([{ step: 3 }, { step: 4 }]);
    expect(third.heartbeats).toEqual([{ step: 7 }, { step: 7 }]);
    expect(evictAllWaiting()).toBe(3);
    await elapse(0);
    expect([wait1, wait2, wait3].map((w) => isEvictionFailure(w.error()))).toEqual([true, true, true]);
  });

  it('evictableWait() evicts after ttlMs of waiting with a retryable, benign SlotwiseEvicted failure', async () => {
    const before = evictionStats().evictions;
    const activity = fakeActivity();
    const wait = track(
      activity.run(() => evictableWait(() => false, { ttlMs: 5000, capacityEviction: false })),
    );
    await elapse(4999);
    expect(wait.settled()).toBe(false);
    expect(evictionStats().waiting).toBe(1);
    await elapse(1);
    const failure = failureOf(wait.error());
    expect(failure.type).toBe(EVICTION_FAILURE_TYPE);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(1000);
    expect(failure.category).toBe(ApplicationFailureCategory.BENIGN);
    expect(failure.details).toEqual([
      { reason: 'ttl', waitedMs: 5000, attempt: 1, evictions: 1, checkpoint: undefined, retryDelayMs: 1000 },
    ]);
    expect(events).toEqual([
      {
        reason: 'ttl',
        supplier: undefined,
        namespace: 'default',
        taskQueue: queue,
        activityType: activity.activityType,
        activityId: activity.context.info.activityId,
        workflowId: activity.context.info.workflowExecution!.workflowId,
        attempt: 1,
        priority: 0,
        waitedMs: 5000,
        retryDelayMs: 1000,
      },
    ]);
    expect(evictionStats()).toEqual({ waiting: 0, evictions: { ...before, ttl: before.ttl + 1 } });
    // The heartbeat loop stopped with the wait: no beat after the eviction.
    const beats = activity.heartbeats.length;
    await elapse(5000);
    expect(activity.heartbeats.length).toBe(beats);
  });

  it('evictableWait() doubles the retry delay with each attempt, up to maxRetryDelayMs', async () => {
    const delays: number[] = [];
    for (const attempt of [1, 2, 3, 6, 7]) {
      const activity = fakeActivity({ attempt });
      const wait = track(
        activity.run(() =>
          evictableWait(() => false, {
            ttlMs: 10,
            retryDelayMs: 500,
            maxRetryDelayMs: 20_000,
            capacityEviction: false,
          }),
        ),
      );
      await elapse(10);
      delays.push(failureOf(wait.error()).nextRetryDelay as number);
    }
    expect(delays).toEqual([500, 1000, 2000, 16_000, 20_000]);
  });

  it("evictableWait() turns the Worker's WORKER_SHUTDOWN cancellation into a shutdown eviction", async () => {
    const activity = fakeActivity();
    const wait = track(activity.run(() => evictableWait(() => false, { capacityEviction: false })));
    await elapse(3000);
    activity.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
    await elapse(0);
    const failure = failureOf(wait.error());
    expect(failure.type).toBe('SlotwiseEvicted');
    expect(failure.details).toEqual([
      {
        reason: 'shutdown',
        waitedMs: 3000,
        attempt: 1,
        evictions: 1,
        checkpoint: undefined,
        retryDelayMs: 1000,
      },
    ]);
    expect(events.map((e) => e.reason)).toEqual(['shutdown']);
  });

  it('evictableWait() rejects with the CancelledFailure on any other cancellation, and counts no eviction', async () => {
    const activity = fakeActivity();
    const wait = track(activity.run(() => evictableWait(() => false)));
    await elapse(100);
    activity.cancel('CANCELLED', { cancelRequested: true });
    await elapse(0);
    expect(wait.error()).toBeInstanceOf(CancelledFailure);
    expect((wait.error() as Error).message).toBe('CANCELLED');
    expect(events).toEqual([]);
    expect(evictionStats().waiting).toBe(0);
  });

  it('evictableWait() rejects with the error check throws, sync or async', async () => {
    const activity = fakeActivity();
    let calls = 0;
    const wait = track(
      activity.run(() =>
        evictableWait(() => {
          if (++calls === 3) throw new Error('lost the job');
          return false;
        }),
      ),
    );
    await elapse(2000);
    expect((wait.error() as Error).message).toBe('lost the job');
    const asyncWait = activity.run(() => evictableWait(() => Promise.reject(new RangeError('no'))));
    await expect(asyncWait).rejects.toThrow(RangeError);
    expect(evictionStats().waiting).toBe(0);
    expect(events).toEqual([]);
  });

  it('evictableWait() validates its options and names the one that is wrong', async () => {
    const activity = fakeActivity();
    const attempt = (options: unknown) =>
      activity.run(() => evictableWait(() => true, options as Parameters<typeof evictableWait>[1]));
    await expect(attempt({ pollIntervalMs: 0 })).rejects.toThrow(
      'evictableWait: expected `pollIntervalMs` to be a number of milliseconds in [1, 2147483647], got `0` (number).',
    );
    await expect(attempt({ ttlMs: -5 })).rejects.toThrow(
      'evictableWait: expected `ttlMs` to be a number of milliseconds in [1, 2147483647] or Infinity, got `-5` (number).',
    );
    await expect(attempt({ priority: '1' })).rejects.toThrow(
      'evictableWait: expected `priority` to be a finite number (lower values are evicted first), got `"1"` (string).',
    );
    await expect(attempt({ capacityEviction: 'yes' })).rejects.toThrow(
      'evictableWait: expected `capacityEviction` to be a boolean, got `"yes"` (string).',
    );
    await expect(attempt({ retryDelayMs: 5000, maxRetryDelayMs: 1000 })).rejects.toThrow(
      'evictableWait: expected `maxRetryDelayMs` (1000) to be at least `retryDelayMs` (5000).',
    );
    await expect(attempt({ ttl: 5 })).rejects.toThrow(
      'evictableWait: unknown option `ttl`. Did you mean `ttlMs`?',
    );
    await expect(activity.run(() => evictableWait('ready' as never))).rejects.toThrow(
      'evictableWait: expected `check` to be a function, got `"ready"` (string).',
    );
    await expect(evictableWait(() => true)).rejects.toThrow(
      'evictableWait() must be called inside a Temporal activity',
    );
    expect(evictionStats().waiting).toBe(0);
  });
});

describe('evictableWait() capacity eviction', () => {
  it('evictableWait() evicts the lowest-priority wait when a reservation waits and the backlog has a task', async () => {
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const high = pairedActivity(supplier);
    const low = pairedActivity(supplier);
    const highWait = track(high.run(() => evictableWait(() => false, { priority: 5 })));
    await elapse(100);
    const lowWait = track(low.run(() => evictableWait(() => false, { priority: 1 })));
    const reservation = track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    // A poller waits, but nothing is queued: no eviction.
    await elapse(1000);
    expect(lowWait.settled()).toBe(false);
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 1 });
    // New work arrives: the next check (every 250 ms) evicts the priority-1 wait and frees its slot.
    backlog = 1;
    await elapse(250);
    expect(failureOf(lowWait.error()).details).toEqual([
      {
        reason: 'capacity',
        waitedMs: 1150,
        attempt: 1,
        evictions: 1,
        checkpoint: undefined,
        retryDelayMs: 1000,
      },
    ]);
    expect(reservation.settled()).toBe(true);
    expect(highWait.settled()).toBe(false);
    expect(supplier.snapshot()).toMatchObject({ issued: 2, used: 1, waiting: 0 });
    expect(events.map((e) => [e.reason, e.priority, e.supplier])).toEqual([['capacity', 1, supplier.name]]);
  });

  it('evictableWait() evicts the longest-waiting of equal priorities, one per waiting reservation', async () => {
    const supplier = new FixedSlotSupplier({ slots: 3 });
    const [a, b, c] = [pairedActivity(supplier), pairedActivity(supplier), pairedActivity(supplier)];
    const waitB = track(b.run(() => evictableWait(() => false)));
    await elapse(10);
    const waitA = track(a.run(() => evictableWait(() => false)));
    await elapse(10);
    const waitC = track(c.run(() => evictableWait(() => false)));
    track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    backlog = 5; // more tasks than waiting reservations: still one eviction per reservation
    await elapse(250);
    expect([waitA, waitB, waitC].map((w) => w.settled())).toEqual([false, true, false]);
    expect(events.map((e) => e.activityType)).toEqual([b.activityType]);
  });

  it('evictableWait() with capacityEviction false holds its slot while new work waits', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const holder = pairedActivity(supplier);
    let done = false;
    const wait = track(holder.run(() => evictableWait(() => done && 'ok', { capacityEviction: false })));
    const reservation = track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    backlog = 3;
    await elapse(5000);
    expect(wait.settled()).toBe(false);
    expect(reservation.settled()).toBe(false);
    done = true;
    await elapse(1000);
    expect(wait.value()).toBe('ok');
    expect(events).toEqual([]);
  });

  it('evictableWait() evicts nothing for backlog tasks that are waits too (no storm): only outranking work evicts', async () => {
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const [a, b] = [pairedActivity(supplier), pairedActivity(supplier)];
    const waits = [
      track(a.run(() => evictableWait(() => false))),
      track(b.run(() => evictableWait(() => false))),
    ];
    track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    // 16 more waits queued behind them (priority 4, like these): giving a slot to one of them evicts
    // nothing useful, and its eviction would come back and evict another.
    waitBacklog = 16;
    await elapse(10_000);
    expect(events).toEqual([]);
    expect(waits.map((w) => w.settled())).toEqual([false, false]);
    // One task of default priority arrives: it outranks them, one wait gives it its slot.
    backlog = 1;
    await elapse(250);
    expect(events.map((e) => e.reason)).toEqual(['capacity']);
    // The freed slot's poller took it (the total drops at once); the per-priority count still says 1
    // for a while (the server caches it): no second eviction for the same task.
    backlog = 0;
    evictionRegistry.probe = async () => ({
      total: waitBacklog,
      byPriority: new Map([
        [3, 1],
        [4, waitBacklog],
      ]),
    });
    await elapse(5_000);
    expect(events).toHaveLength(1);
  });

  it('evictableWait() evicts at most one wait per outranking task and per waiting reservation', async () => {
    const supplier = new FixedSlotSupplier({ slots: 3 });
    const activities = [pairedActivity(supplier), pairedActivity(supplier), pairedActivity(supplier)];
    for (const activity of activities) track(activity.run(() => evictableWait(() => false)));
    for (let i = 0; i < 3; i++) track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    backlog = 2;
    waitBacklog = 5;
    await elapse(250);
    expect(events).toHaveLength(2);
  });

  it('evictableWait() evicts a wait only for work dispatched before it: a priority-3 wait yields to priority 1-2 only', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const legacy = pairedActivity(supplier, { priorityKey: 3 });
    track(legacy.run(() => evictableWait(() => false)));
    track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    backlog = 4; // priority 3: the same as the wait
    await elapse(2_000);
    expect(events).toEqual([]);
    evictionRegistry.probe = async () => ({
      total: 5,
      byPriority: new Map([
        [2, 1],
        [3, 4],
      ]),
    });
    await elapse(250);
    expect(events.map((e) => e.reason)).toEqual(['capacity']);
  });

  it('evictableWait() evicts nothing for capacity, and says so once, when the server has no backlog per priority', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const holder = pairedActivity(supplier);
    const wait = track(holder.run(() => evictableWait(() => false)));
    track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    perPriority = false;
    backlog = 3;
    await elapse(2_000);
    expect(wait.settled()).toBe(false);
    expect(events).toEqual([]);
    expect(holder.logger.messages('warn')).toEqual([
      `slotwise: the server reports no backlog per priority for task queue "${queue}"; capacity eviction cannot tell new work from other waits there and evicts nothing (TTL and shutdown still evict)`,
    ]);
  });

  it('evictableWait() in local activities counts waiting local-activity reservations as new work', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const local = fakeActivity({ isLocal: true });
    slotwiseActivityInterceptor(local.context);
    const permit = supplier.tryReserveSlot(reserveCtx(queue, 'local-activity')) as SlotwisePermit;
    supplier.markSlotUsed({ permit, slotInfo: { type: 'local-activity', activityType: local.activityType } });
    const wait = track(local.run(() => evictableWait(() => false)));
    const reservation = track(
      supplier.reserveSlot(reserveCtx(queue, 'local-activity'), new AbortController().signal),
    );
    evictionRegistry.probe = async () => {
      throw new Error('local activities have no backlog to read');
    };
    await elapse(250);
    expect(isEvictionFailure(wait.error())).toBe(true);
    expect(reservation.settled()).toBe(true);
  });

  it('evictableWait() warns once when the backlog cannot be read, and evicts nothing', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const holder = pairedActivity(supplier);
    const wait = track(holder.run(() => evictableWait(() => false)));
    track(supplier.reserveSlot(reserveCtx(queue), new AbortController().signal));
    evictionRegistry.probe = async () => {
      throw new Error('PERMISSION_DENIED');
    };
    await elapse(1000);
    expect(wait.settled()).toBe(false);
    expect(holder.logger.messages('warn')).toEqual([
      `slotwise: cannot read the backlog of task queue "${queue}"; capacity eviction waits until it can`,
    ]);
  });

  it('evictableWait() warns when the activity slots do not come from a slotwise supplier', async () => {
    const activity = fakeActivity();
    slotwiseActivityInterceptor(activity.context); // claimed, but no slotwise supplier serves the queue
    const wait = track(activity.run(() => evictableWait(() => false, { ttlMs: 50 })));
    await elapse(50);
    expect(isEvictionFailure(wait.error())).toBe(true);
    expect(activity.logger.messages('warn')).toEqual([
      `slotwise: evictableWait() cannot be evicted for capacity: the activity slots of task queue "${queue}" do not come from a slotwise supplier (TTL and shutdown still evict)`,
    ]);
  });

  it('evictableWait() warns when the activity interceptor is missing, and still evicts by TTL', async () => {
    const activity = fakeActivity();
    const wait = track(activity.run(() => evictableWait(() => false, { ttlMs: 50 })));
    await elapse(50);
    expect(isEvictionFailure(wait.error())).toBe(true);
    expect(activity.logger.messages('warn')[0]).toMatch(
      /^slotwise: evictableWait\(\) cannot be evicted for capacity without slotwise's activity interceptor/,
    );
  });
});

describe('pickCapacityVictims()', () => {
  const waiter = (name: string, priority: number, since: number, priorityKey = 4) =>
    ({ priority, since, info: { activityId: name, priorityKey } }) as unknown as EvictableWaiter;
  const names = (victims: EvictableWaiter[]) => victims.map((w) => w.info.activityId);
  const all = [waiter('a', 2, 0), waiter('b', 1, 30), waiter('c', 1, 10), waiter('d', 3, 0)];
  const demand = (waiting: number, byPriority: Array<[number, number]>) => ({
    waiting,
    total: byPriority.reduce((sum, [, count]) => sum + count, 0),
    byPriority: new Map(byPriority),
  });

  it('pickCapacityVictims() takes the lowest priority first, then the longest waiting', () => {
    expect(names(pickCapacityVictims(all, demand(4, [[3, 4]])))).toEqual(['c', 'b', 'a', 'd']);
  });

  it('pickCapacityVictims() evicts one wait per waiting reservation and per task that outranks it', () => {
    expect(names(pickCapacityVictims(all, demand(2, [[3, 9]])))).toEqual(['c', 'b']);
    expect(names(pickCapacityVictims(all, demand(9, [[3, 1]])))).toEqual(['c']);
    expect(pickCapacityVictims(all, demand(3, []))).toEqual([]);
    expect(pickCapacityVictims(all, demand(0, [[3, 3]]))).toEqual([]);
  });

  it('pickCapacityVictims() never evicts a wait for a task of its own or a later priority key', () => {
    expect(
      pickCapacityVictims(
        all,
        demand(4, [
          [4, 10],
          [5, 3],
        ]),
      ),
    ).toEqual([]);
    const mixed = [waiter('low', 0, 0, 3), waiter('high', 5, 0, 5)];
    // A priority-3 task outranks only the wait dispatched at 5.
    expect(names(pickCapacityVictims(mixed, demand(2, [[3, 2]])))).toEqual(['high']);
    expect(
      names(
        pickCapacityVictims(
          mixed,
          demand(2, [
            [1, 1],
            [3, 1],
          ]),
        ),
      ),
    ).toEqual(['low', 'high']);
  });

  it('pickCapacityVictims() trusts the fresh total over the per-priority counts the server caches', () => {
    // The server still counts one priority-3 task, but the total is only the 6 waits: it was taken.
    expect(
      pickCapacityVictims(all, {
        waiting: 2,
        total: 6,
        byPriority: new Map([
          [3, 1],
          [4, 6],
        ]),
      }),
    ).toEqual([]);
    expect(pickCapacityVictims(all, { waiting: 2, total: 9, byPriority: undefined })).toEqual([]);
  });

  it('pickCapacityVictims() counts recently evicted waits as waits even while the server counts do not show them', () => {
    // 2 new tasks and 6 waits per the (stale) counts; 2 waits evicted for them since, back in the
    // backlog: the total is 10, but only 2 tasks outrank anyone, and those were already served.
    const stale = new Map([
      [3, 2],
      [4, 6],
    ]);
    expect(names(pickCapacityVictims(all, { waiting: 4, total: 10, byPriority: stale }))).toEqual(['c', 'b']);
    expect(pickCapacityVictims(all, { waiting: 4, total: 8, byPriority: stale, recentlyEvicted: 2 })).toEqual(
      [],
    );
  });
});

describe('EvictionRegistry', () => {
  it('EvictionRegistry.onEviction() keeps calling the other listeners when one throws', () => {
    const registry = new EvictionRegistry({ now: () => 7 });
    const logger = recordingLogger();
    const seen: string[] = [];
    registry.onEviction(() => {
      throw new Error('broken listener');
    });
    const stop = registry.onEviction((event) => seen.push(event.reason));
    const waiter: EvictableWaiter = {
      priority: 0,
      capacityEviction: false,
      since: 2,
      info: {
        namespace: 'default',
        taskQueue: 'q',
        activityType: 't',
        activityId: '1',
        workflowId: 'w',
        attempt: 1,
        isLocal: false,
        priorityKey: 4,
      },
      logger,
      slot: () => undefined,
      client: () => undefined,
      evict: () => 250,
    };
    registry.add(waiter);
    expect(registry.evict(waiter, 'ttl')).toBe(true);
    expect(registry.evict(waiter, 'ttl')).toBe(false);
    expect(seen).toEqual(['ttl']);
    expect(logger.messages('warn')).toEqual(['slotwise: an eviction listener threw']);
    stop();
    registry.add(waiter);
    expect(registry.evictAll('shutdown')).toBe(1);
    expect(seen).toEqual(['ttl']);
    expect(registry.stats()).toEqual({ waiting: 0, evictions: { ttl: 1, capacity: 0, shutdown: 1 } });
  });
});

describe('lastCheckpoint()', () => {
  it("lastCheckpoint() returns the previous attempt's heartbeat details", () => {
    expect(fakeActivity().run(() => lastCheckpoint())).toBeUndefined();
    const resumed = fakeActivity({ attempt: 3, heartbeatDetails: { page: 12 } });
    expect(resumed.run(() => lastCheckpoint<{ page: number }>()?.page)).toBe(12);
    expect(() => lastCheckpoint()).toThrow('lastCheckpoint() must be called inside a Temporal activity');
  });

  it('lastCheckpoint() returns the checkpoint of the evicted call the workflow passed on, unless this call heartbeated since', () => {
    const resume: ResumeState = { evictions: 2, hasCheckpoint: true, checkpoint: { page: 7 } };
    expect(fakeActivity({ resume }).run(() => lastCheckpoint())).toEqual({ page: 7 });
    // A retry (after a real failure) of the resumed call has its own, newer heartbeat.
    expect(
      fakeActivity({ resume, attempt: 2, heartbeatDetails: { page: 9 } }).run(() => lastCheckpoint()),
    ).toEqual({
      page: 9,
    });
    const none: ResumeState = { evictions: 1, hasCheckpoint: false };
    expect(fakeActivity({ resume: none }).run(() => lastCheckpoint())).toBeUndefined();
  });
});

describe('evictableWait() called through proxyEvictableActivities()', () => {
  it('evictableWait() ends the call with a non-retryable eviction carrying the checkpoint of that moment, heartbeated last', async () => {
    const resume: ResumeState = { evictions: 2, hasCheckpoint: true, checkpoint: { polls: 5 } };
    const activity = fakeActivity({ resume });
    let polls = 0;
    const wait = track(
      activity.run(() => {
        polls = lastCheckpoint<{ polls: number }>()!.polls;
        return evictableWait(
          () => {
            polls++;
            return false;
          },
          {
            ttlMs: 2_500,
            pollIntervalMs: 100,
            retryDelayMs: 300,
            checkpoint: () => ({ polls }),
            capacityEviction: false,
          },
        );
      }),
    );
    await elapse(2_500);
    const failure = failureOf(wait.error());
    expect(failure.nonRetryable).toBe(true);
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.category).toBe(ApplicationFailureCategory.BENIGN);
    // Polled at 0, 100, ..., 2400 ms: 25 polls on top of the 5 it resumed from; the third eviction.
    expect(failure.details).toEqual([
      {
        reason: 'ttl',
        waitedMs: 2_500,
        attempt: 1,
        evictions: 3,
        checkpoint: { polls: 30 },
        retryDelayMs: 1_200,
      },
    ]);
    expect(activity.heartbeats.at(-1)).toEqual({ polls: 30 });
  });

  it('evictableWait() called without the proxy heartbeats the checkpoint of the moment it is evicted, for the retry', async () => {
    const activity = fakeActivity();
    let step = 0;
    const wait = track(
      activity.run(() =>
        evictableWait(() => false, {
          ttlMs: 1_500,
          checkpoint: () => ({ step: step++ }),
          capacityEviction: false,
        }),
      ),
    );
    await elapse(1_500);
    // Beats at 0 and 1000 ms read steps 0 and 1; the eviction reads step 2 and beats it.
    expect(activity.heartbeats).toEqual([{ step: 0 }, { step: 1 }, { step: 2 }]);
    expect(failureOf(wait.error())).toMatchObject({
      nonRetryable: false,
      details: [{ checkpoint: { step: 2 } }],
    });
  });
});

describe('isEvictionFailure()', () => {
  it('isEvictionFailure() recognises the eviction failure and errors caused by it', () => {
    const evicted = ApplicationFailure.create({ type: EVICTION_FAILURE_TYPE, message: 'evicted' });
    expect(isEvictionFailure(evicted)).toBe(true);
    expect(isEvictionFailure(new Error('activity failed', { cause: evicted }))).toBe(true);
    expect(isEvictionFailure(ApplicationFailure.create({ type: 'Other' }))).toBe(false);
    expect(isEvictionFailure('SlotwiseEvicted')).toBe(false);
  });
});

describe('evictableRetryPolicy()', () => {
  it('evictableRetryPolicy() uses the failure type the activities throw', () => {
    expect(WORKFLOW_EVICTION_FAILURE_TYPE).toBe(EVICTION_FAILURE_TYPE);
  });

  it('evictableRetryPolicy() keeps evictions retryable and adds attempts for them', () => {
    expect(evictableRetryPolicy()).toEqual({
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
    });
    expect(
      evictableRetryPolicy({
        maximumAttempts: 3,
        initialInterval: '5s',
        nonRetryableErrorTypes: ['BadInput', 'SlotwiseEvicted'],
      }),
    ).toEqual({
      initialInterval: '5s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 103,
      nonRetryableErrorTypes: ['BadInput'],
    });
    expect(evictableRetryPolicy({ maximumAttempts: 0 }, 5).maximumAttempts).toBe(0);
    expect(evictableRetryPolicy({ maximumAttempts: 1 }, 5).maximumAttempts).toBe(6);
    expect(() => evictableRetryPolicy({}, -1)).toThrow(
      'evictableRetryPolicy: expected `evictionAttempts` to be an integer >= 0, got `-1`.',
    );
  });
});
