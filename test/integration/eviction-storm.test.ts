import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { evictableWait, lastCheckpoint } from '../../src/activities/evictable-wait.js';
import { isEvictionFailure } from '../../src/activities/eviction-failure.js';
import { type EvictionEvent, evictionStats, onEviction } from '../../src/activities/eviction-registry.js';
import { slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { type DevServer, startDevServer } from '../../src/dev-server/dev-server.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { tunerWith, uniqueQueue, until } from './helpers.js';
import type { EvictableFlagInput } from './workflows/eviction.js';

// Issue 12's eviction measurements as tests: 20 waiters on 4 slots must not evict each other, new
// work evicts at most one wait per task, every resume reads the checkpoint its evicted call produced,
// resumption follows the event, and evictions use up no attempt.
//
// Its own dev server, with one partition per task queue: the server dispatches by priority within a
// partition, so only there does every freed slot go to the new work (with Temporal's default of 4, a
// poll may land on a partition that holds only waits, and the new task needs one more eviction).

const flags = new Set<string>();
/** Activity starts on the Worker, in order. */
const starts: Array<{
  kind: 'wait' | 'quick';
  name: string;
  at: number;
  /** Wall clock (the dev server runs on this machine): when it was scheduled, dispatched, and began. */
  scheduledAt?: number;
  begunAt?: number;
}> = [];
const evictions: Array<EvictionEvent & { at: number }> = [];
/** The checkpoint each evicted call had, and the one each resumed call started from, by name. */
const evictedAt = new Map<string, number[]>();
const resumedFrom = new Map<string, number[]>();
const failuresLeft = new Map<string, number>();
const finished = new Map<string, number>();

const activities = {
  /** Fails `failFirst` times, then polls its flag every 50 ms with a poll counter as checkpoint. */
  async waitForFlag(input: EvictableFlagInput): Promise<string> {
    const { name } = input;
    const { info } = Context.current();
    starts.push({
      kind: 'wait',
      name,
      at: performance.now(),
      scheduledAt: info.currentAttemptScheduledTimestampMs,
      begunAt: Date.now(),
    });
    const left = failuresLeft.get(name) ?? input.failFirst ?? 0;
    if (left > 0) {
      failuresLeft.set(name, left - 1);
      throw ApplicationFailure.retryable(`real failure of ${name}`, 'RealFailure');
    }
    const resumed = lastCheckpoint<{ polls: number }>();
    if (resumed) resumedFrom.set(name, [...(resumedFrom.get(name) ?? []), resumed.polls]);
    let polls = resumed?.polls ?? 0;
    try {
      const result = await evictableWait(
        () => {
          polls++;
          return flags.has(name) && `${name} after ${polls} polls`;
        },
        {
          pollIntervalMs: 50,
          checkpoint: () => ({ polls }),
          ...(input.ttlMs ? { ttlMs: input.ttlMs } : {}),
          retryDelayMs: input.retryDelayMs ?? 200,
        },
      );
      finished.set(name, performance.now());
      return result;
    } catch (error) {
      if (isEvictionFailure(error)) evictedAt.set(name, [...(evictedAt.get(name) ?? []), polls]);
      throw error;
    }
  },
  async quickWork({ name, ms }: { name: string; ms: number }): Promise<string> {
    starts.push({ kind: 'quick', name, at: performance.now() });
    await Context.current().sleep(ms);
    return name;
  },
};

const taskQueue = uniqueQueue('eviction-storm');
const supplier = new FixedSlotSupplier({ slots: 4 });
/** When the Worker gave slots back, got them for its polls, and got a task on them (wall clock). */
const slotTimeline = { released: [] as number[], reserved: [] as number[], used: [] as number[] };
{
  const { reserveSlot, markSlotUsed, releaseSlot } = supplier;
  supplier.reserveSlot = async (...args: Parameters<typeof reserveSlot>) => {
    const permit = await reserveSlot.apply(supplier, args);
    slotTimeline.reserved.push(Date.now());
    return permit;
  };
  supplier.markSlotUsed = (...args: Parameters<typeof markSlotUsed>) => {
    slotTimeline.used.push(Date.now());
    return markSlotUsed.apply(supplier, args);
  };
  supplier.releaseSlot = (...args: Parameters<typeof releaseSlot>) => {
    slotTimeline.released.push(Date.now());
    return releaseSlot.apply(supplier, args);
  };
}
let stopListening: () => void;
let server: DevServer;
let native: NativeConnection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const testClient = async () => client;

beforeAll(async () => {
  stopListening = onEviction((event) => {
    if (event.taskQueue === taskQueue) evictions.push({ ...event, at: performance.now() });
  });
  server = await startDevServer({
    dynamicConfig: {
      'matching.numTaskqueueReadPartitions': '1',
      'matching.numTaskqueueWritePartitions': '1',
    },
    log: () => undefined,
  });
  native = await NativeConnection.connect({ address: server.address });
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
    interceptors: { activity: [slotwiseActivityInterceptor] },
    activities,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  stopListening?.();
  await client?.connection.close();
  await native?.close();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const capacityEvictions = () => evictions.filter((e) => e.reason === 'capacity');

describe('evictableWait() under load on a real Worker', () => {
  const waiters: WorkflowHandle[] = [];

  it('evictableWait() with 20 waiters on 4 slots and no new work evicts nothing', async () => {
    const client = await testClient();
    for (let i = 0; i < 20; i++) {
      waiters.push(
        await client.workflow.start('evictableFlagWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-waiter-${i}`,
          args: [{ name: `waiter-${i}` } satisfies EvictableFlagInput],
        }),
      );
    }
    await until(
      '4 waits hold the 4 slots',
      () => evictionStats().waiting === 4 && supplier.snapshot().used === 4,
    );
    // Longer than the server caches its per-priority backlog counts (about 5 s on this server).
    await sleep(8_000);
    expect(capacityEvictions()).toEqual([]);
    expect(starts.filter((s) => s.kind === 'wait')).toHaveLength(4);
  });

  it('evictableWait() lets 10 new tasks evict at most 10 waits, and all of them run', async () => {
    const client = await testClient();
    const quick = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.workflow.start('quickWorkWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-quick-${i}`,
          args: [{ name: `quick-${i}`, ms: 300 }],
        }),
      ),
    );
    const began = performance.now();
    await Promise.all(quick.map((h) => h.result()));
    const seconds = (performance.now() - began) / 1000;
    const evicted = capacityEvictions();
    // How soon a new task started after each eviction.
    const latencies = evicted.map((e) => {
      const next = starts.find((s) => s.kind === 'quick' && s.at > e.at);
      return next ? next.at - e.at : Number.NaN;
    });
    console.log(
      `slotwise: 10 new 300 ms tasks over 20 waiters on 4 slots: ${evicted.length} capacity evictions, ` +
        `a new task started ${latencies.map((ms) => ms.toFixed(0)).join(', ')} ms after each; all done in ${seconds.toFixed(1)} s`,
    );
    expect(evicted.length).toBeGreaterThan(0);
    expect(evicted.length).toBeLessThanOrEqual(10);
    expect(starts.filter((s) => s.kind === 'quick')).toHaveLength(10);
    // No wait started between an eviction and the new task it made room for.
    for (const eviction of evicted) {
      const next = starts.find((s) => s.at > eviction.at);
      expect(next?.kind, `the start after the eviction of ${eviction.workflowId}`).toBe('quick');
    }
  });

  it('evictableWait() resumes every evicted wait from the checkpoint it had, once its signal arrives', async () => {
    const client = await testClient();
    const setAt = performance.now();
    const setAtWall = Date.now();
    // Signals first: a wait that holds a slot completes as soon as it sees its flag, and a signal to
    // its closed workflow would fail. No wait can complete before the flags are set.
    await Promise.all(waiters.map((h) => client.workflow.getHandle(h.workflowId).signal('flag')));
    for (let i = 0; i < 20; i++) flags.add(`waiter-${i}`);
    const results = await Promise.all(waiters.map((h) => h.result()));
    const allDoneMs = Math.max(...[...finished.values()]) - setAt;
    // Each evicted wait's next call, after the flag: started on the signal, not on a retry timer.
    const resumeMs = [...evictedAt.keys()]
      .map((name) => starts.find((s) => s.name === name && s.at > setAt)!.at - setAt)
      .sort((a, b) => a - b);
    expect(results).toHaveLength(20);
    // Every resumed call started from the poll count its evicted predecessor had.
    for (const [name, resumes] of resumedFrom) {
      expect(resumes, name).toEqual(evictedAt.get(name));
    }
    expect([...resumedFrom.values()].flat().length).toBe(capacityEvictions().length);
    expect(supplier.snapshot().used).toBe(0);
    // Where the time goes, per resumed call, from its own flag signal (the server's time of the signal
    // event; sending 20 signals from this loaded machine takes a while): signal -> the workflow scheduled
    // the next call (signal delivered, workflow task run; the server's time too) -> the call began here.
    const steps = await Promise.all(
      [...evictedAt.keys()].map(async (name) => {
        const start = starts.find((s) => s.name === name && s.at > setAt)!;
        const { events } = await client.workflow.getHandle(`${taskQueue}-${name}`).fetchHistory();
        const signal = events!.find((e) => e.workflowExecutionSignaledEventAttributes);
        const signaledAt =
          Number(signal!.eventTime!.seconds) * 1000 + Math.floor(signal!.eventTime!.nanos! / 1e6);
        return {
          signaledAt,
          scheduled: start.scheduledAt! - signaledAt,
          begun: start.begunAt! - start.scheduledAt!,
        };
      }),
    );
    // Resumed on the signal, not on a timer started before it.
    for (const step of steps) expect(step.scheduled).toBeGreaterThanOrEqual(0);
    const since = (xs: number[]) => xs.filter((at) => at >= setAtWall).map((at) => at - setAtWall);
    const freedMs = [...finished.values()].filter((at) => at > setAt).map((at) => at - setAt);
    const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(
      `slotwise: resume steps (ms): own signal -> next call scheduled ${list(steps.map((s) => s.scheduled))}; ` +
        `scheduled -> begun ${list(steps.map((s) => s.begun))}; signal -> begun ${list(steps.map((s) => s.scheduled + s.begun))}. ` +
        `After the first signal was sent: signals recorded at ${list(since(steps.map((s) => s.signaledAt)))}; waits finished at ${list(freedMs.sort((a, b) => a - b))}; ` +
        `slots released at ${list(since(slotTimeline.released))}; reserved for a poll at ${list(since(slotTimeline.reserved))}; ` +
        `used by a task at ${list(since(slotTimeline.used))}; waits began at ${list(since(starts.map((s) => s.begunAt ?? 0)))}`,
    );
    console.log(
      `slotwise: ${capacityEvictions().length} resumes, all from the evicted call's checkpoint, started ` +
        `${resumeMs.map((ms) => ms.toFixed(0)).join(', ')} ms after the flag; all 20 waits done ${allDoneMs.toFixed(0)} ms after it`,
    );
  });

  it('evictableWait() evictions use up no attempt: 1 real failure and 3 TTL evictions under maximumAttempts 2 complete', async () => {
    const client = await testClient();
    const name = 'attempts-ok';
    const handle = await client.workflow.start('evictableFlagWorkflow', {
      taskQueue,
      workflowId: `${taskQueue}-${name}`,
      args: [
        {
          name,
          failFirst: 1,
          ttlMs: 300,
          retryDelayMs: 50,
          maximumAttempts: 2,
          resumeOnSignal: false,
        } satisfies EvictableFlagInput,
      ],
    });
    await until(
      '3 TTL evictions',
      () => evictions.filter((e) => e.workflowId === handle.workflowId).length >= 3,
    );
    flags.add(name);
    expect(await handle.result()).toMatch(/^attempts-ok after \d+ polls$/);
  });

  it('evictableWait() still fails after exactly maximumAttempts real failures, evictions in between', async () => {
    const client = await testClient();
    const name = 'attempts-out';
    // Fails, waits and is evicted once, then fails twice more: the second real failure ends it.
    failuresLeft.set(name, 1);
    const handle = await client.workflow.start('evictableFlagWorkflow', {
      taskQueue,
      workflowId: `${taskQueue}-${name}`,
      args: [
        {
          name,
          ttlMs: 300,
          retryDelayMs: 1_000,
          maximumAttempts: 2,
          resumeOnSignal: false,
        } satisfies EvictableFlagInput,
      ],
    });
    await until('one TTL eviction', () => evictions.some((e) => e.workflowId === handle.workflowId));
    failuresLeft.set(name, 2);
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause?.cause).toBeInstanceOf(ApplicationFailure);
    expect(((error as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined)?.type).toBe(
      'RealFailure',
    );
    expect(starts.filter((s) => s.name === name).map((s) => s.kind)).toEqual(['wait', 'wait', 'wait']);
    expect(failuresLeft.get(name)).toBe(1);
  });
});
