// Scenario 6: fleet budgets (FleetSlotSupplier) across Worker processes on the dev server.
//
//   npx tsx bench/fleet.ts            # scenario 6 alone (rounds as the runner says)
//   npx tsx bench/fleet.ts --quick    # smaller workloads: a smoke run, not for recording
//   npx tsx bench/run-all.ts --only fleet-overhead   # scenario 6b
//
// Every run starts 3 Worker processes (child processes) on 3 task queues, every process polling all
// 3 queues; the activities report their start and end to a counter in this process, so concurrency
// is what the activities themselves saw. Two scenarios, each with its own preconditions: 6 (`fleet`)
// is the fleet at its limit (1.), valid only where the machine can feed 5 slots at all; 6b
// (`fleet-overhead`) is what a fleet that does not bind costs and a crash (2. and 3.). Per round:
// 1. contention: fleet slots 5, 90 activities of 200 ms. Most at once (must be 5), the share of the
//    time at 5 while work was queued (target >= 0.9), and what each reservation waited for its
//    permit: with a spare lease (no round trip) and without (p50/p99). For reference, the same
//    workload through one process with a local FixedSlotSupplier(5): what this machine allows at all.
// 2. overhead: a fleet that does not bind (300 slots) against a local FixedSlotSupplier(100) in each
//    process, same workload (900 activities of 50 ms): tasks per second, ratio (target >= 0.9).
//    Interleaved: odd rounds run the fleet first, even rounds the fixed supplier.
// 3. kill -9: fleet slots 5, lease TTL 4 s, activities of 1 s; one process holding leases with work
//    on them is killed: how long until the manager took its leases back, against the TTL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import { DEV_SERVER_DYNAMIC_CONFIG, type DevServer, startDevServer } from '../src/dev-server/dev-server.js';
import { hostFleetManagers } from '../src/fleet/manager-host.js';
import { fleetManagerId, fleetStateQuery } from '../src/workflows/fleet/definitions.js';
import type { FleetStateSnapshot } from '../src/workflows/fleet/types.js';
import type { FleetChildConfig } from './lib/fleet/child-protocol.js';
import { type FleetChild, startFleetChild } from './lib/fleet/children.js';
import {
  type ActivityInterval,
  dispatchGaps,
  everyGroupWindow,
  meanLevel,
  shareAtLevel,
  startConcurrencyCounter,
  timelineOf,
} from './lib/fleet/concurrency-counter.js';
import {
  type HeldLeases,
  heldLeases,
  idleOnDryQueues,
  idlePollsAt,
  type QueueDrain,
  queueDrains,
  startSkew,
} from './lib/fleet/drain.js';
import { BENCH_DIR } from './lib/results.js';
import { runAsScript } from './lib/runner.js';
import {
  isMain,
  machineAllows,
  precondition,
  type Scenario,
  type ScenarioContext,
  type ScenarioReport,
  type Verdict,
} from './lib/scenario.js';
import { fmt, fmtSummary, quantile, summarize } from './lib/stats.js';
import { errorsOnlyLogger, uniqueQueue } from './lib/temporal.js';

const FLEET_SLOTS = 5;
/**
 * Dynamic config of the dev server this scenario starts (unless `--address` names one): one read and
 * one write partition per task queue. The server's default is 4 of each: a task goes to a random
 * partition and a poll to the partition with the fewest polls, and a poll on a partition with no
 * task of its own waits until a task is forwarded from another partition, at most 10 per second per
 * partition (`matching.forwarderMaxRatePerSecond`). With 5 permits over 3 task queues (12
 * partitions) polls often land where no task is, and every supplier's dispatch gap grew with that
 * forwarding (bench/README.md, finding 12).
 */
export const FLEET_BENCH_DYNAMIC_CONFIG: Readonly<Record<string, string>> = {
  ...DEV_SERVER_DYNAMIC_CONFIG,
  'matching.numTaskqueueReadPartitions': '1',
  'matching.numTaskqueueWritePartitions': '1',
};
const KILL_TTL_MS = 4_000;
/**
 * Scenario 6b's fleet that does not bind, and the local supplier per process it is compared with. An
 * idle Worker holds 11 activity permits (core reserves ahead of its polls), so a process of 3
 * Workers holds 33 while it waits for tasks, and more while tasks flow (peaks of 50-60 a process):
 * a fleet of 120 (40 a process) was contended for much of each run, one of 180 now and then. 100 a
 * process leaves room for the running tasks and the reservations waiting.
 */
const OVERHEAD_FIXED_SLOTS = 100;
const OVERHEAD_FLEET_SLOTS = 3 * OVERHEAD_FIXED_SLOTS;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(read: () => Promise<T> | T, check: (value: T) => boolean, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

interface Where {
  address: string;
  client: Client;
  /** Bundle of bench/fleet-workflows.ts (the test workload and the lease manager). */
  bundlePath: string;
  /** Hosts the lease managers of a task queue in this process too (they answer after the children stopped). */
  hostManagers(taskQueue: string): void;
}

/** What one workload run measured. */
interface WorkloadRun {
  tasks: number;
  completed: number;
  seconds: number;
  tasksPerSecond: number;
  /** Most activities running at once, as the activities reported. */
  max: number;
  /** Share of the time from the first start to the last start at `level` (null: not asked). */
  shareAtLevel: number | null;
  /**
   * The same over the part of that window in which every task queue still had work (from the latest
   * first start of a queue to the earliest last start): no poller waits on a queue that ran dry there.
   * `ofWindow`: that part's share of the whole window. Null: no level asked, or no such part.
   */
  everyQueue: { shareAtLevel: number; running: number; ofWindow: number } | null;
  /**
   * Where the `level` permits' time went over the same window (null: no level asked), as shares of
   * `level` permits: `running` (the activities' own work, time-averaged concurrency / level), `used` (a
   * task held the permit: running plus delivery, completion and reporting), `issued` (a poller or a task
   * held it). The rest, 1 - issued, no poller held (no poll asked for it, or a lease was not here).
   * `gaps`: from an activity's end to the start of the one that took its place, anywhere (ms).
   */
  occupancy: {
    running: number;
    used: number;
    issued: number;
    gaps: { p50: number; p90: number; p99: number; mean: number; count: number };
    /** The share at `level` if the permits' busy times were independent: running^level. */
    independentShare: number;
  } | null;
  acquire: {
    spareP50: number;
    spareP99: number;
    spareCount: number;
    roundTripP50: number;
    roundTripP99: number;
    roundTripCount: number;
  };
  /**
   * How the task queues drained (runs with a level; see bench/lib/fleet/drain.ts), times from the
   * first start: each queue's first and last start, its starts per process, its pollers' permit time
   * without a task after its last start (parked on a dry queue) as a share of `level` permits over
   * the window; the most starts one queue was ahead of another; the leases each process held
   * (fleet runs); the leases the manager granted from the start of the work until it completed.
   */
  drain: {
    queues: Array<QueueDrain & { idleAfterDry: number }>;
    /** The processes, in the order of `startsByProcess` and `held`. */
    pids: number[];
    /** Pollers without a task on each queue (in queue order) when the work was started. */
    pollsAtStart: number[];
    /**
     * While every queue had work (see `everyQueue`): shares of `level` permits held by a poller
     * without a task (no queue was dry, so a poll waited for the server only), and held by no poller.
     */
    whileEvery: { pollerWithoutTask: number; notHeld: number } | null;
    skew: number;
    held: Array<HeldLeases | null>;
    grants: number | null;
  } | null;
  /** Leases the manager still counted after every process stopped (null: not a fleet). */
  leasesAfterStop: number | null;
  /**
   * Fleet runs: the share of the processes' state samples from the start of the work to its end in
   * which the manager had capped the process (the fleet was contended: demand, idle polls included,
   * exceeded its slots). Null: not a fleet.
   */
  contended: number | null;
  /**
   * The processes' demand at its peak: the sum over the processes of the most permits each had out
   * or waited for (issued + waiting reservations, idle polls included) in its state samples from the
   * first activity start to the end of the work.
   */
  peakDemand: number;
  /** Leases of the killed process, and how long after the kill the manager had taken them back. */
  takeover?: { leases: number; ms: number };
}

/** Starts the processes, runs one workflow per queue, stops the processes; returns what was measured. */
async function runWorkload(
  where: Where,
  options: {
    supplier: (fleet: string) => FleetChildConfig['supplier'];
    tasksPerQueue: number;
    workMs: number;
    level?: number;
    kill?: boolean;
    /** Worker processes. @default 3 */
    processes?: number;
  },
): Promise<WorkloadRun> {
  const fleet = uniqueQueue('bench-fleet');
  const queues = [0, 1, 2].map((i) => `${fleet}-q${i}`);
  const counter = await startConcurrencyCounter();
  const children: FleetChild[] = await Promise.all(
    Array.from({ length: options.processes ?? 3 }, () =>
      startFleetChild({
        address: where.address,
        bundlePath: where.bundlePath,
        taskQueues: queues,
        counterUrl: counter.url,
        activityPollers: 2,
        supplier: options.supplier(fleet),
      }),
    ),
  );
  try {
    // Warm up: every queue has run a workflow task and an activity (the fleet's manager runs).
    await Promise.all(
      queues.map((taskQueue) =>
        where.client.workflow.execute('fleetWorkWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-warm`,
          args: [{ tasks: 1, workMs: 1, startToCloseMs: 60_000 }],
        }),
      ),
    );
    const isFleet = options.supplier(fleet).kind === 'fleet';
    const grantedBefore = isFleet ? (await fleetState(where.client, fleet)).stats.granted : null;
    const t0 = counter.now();
    const startToCloseMs = options.kill ? 3_000 : 60_000;
    const work = Promise.all(
      queues.map(
        (taskQueue, i) =>
          where.client.workflow.execute('fleetWorkWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-work`,
            args: [
              { tasks: options.tasksPerQueue, workMs: options.workMs, startToCloseMs, firstIndex: i * 1000 },
            ],
          }) as Promise<number>,
      ),
    );
    let takeover: WorkloadRun['takeover'];
    if (options.kill) {
      const victim = children[0]!;
      await until(
        () => victim.state,
        (s) => (s?.fleet?.held ?? 0) >= 1 && (s?.used ?? 0) >= 1,
      );
      const holderId = victim.state!.fleet!.holderId;
      victim.kill();
      const killedAt = counter.now();
      await victim.exited;
      counter.dropProcess(victim.pid);
      let leases = 0;
      await until(
        () => fleetState(where.client, fleet),
        (state) => {
          const dead = state.holders.find((h) => h.id === holderId);
          if (dead) leases = dead.held;
          return dead === undefined;
        },
      );
      takeover = { leases, ms: counter.now() - killedAt };
    }
    const completed = (await work).reduce((sum, n) => sum + n, 0);
    const grants =
      grantedBefore === null ? null : (await fleetState(where.client, fleet)).stats.granted - grantedBefore;
    const timeline = counter.timeline.filter(([t]) => t >= t0);
    const firstStart = timeline.find(([, n]) => n > 0)?.[0] ?? t0;
    const lastStart = Math.max(
      ...timeline.filter(([, n], i, all) => i > 0 && n > all[i - 1]![1]).map(([t]) => t),
    );
    const seconds = (counter.now() - firstStart) / 1000;
    const workEnd = counter.now();
    const during = (c: FleetChild) =>
      c.states.filter(({ at }) => {
        const t = counter.fromAbsolute(at);
        return t >= firstStart && t <= workEnd;
      });
    const peakDemand = children.reduce(
      (sum, c) => sum + Math.max(0, ...during(c).map(({ state }) => state.issued + state.waiting)),
      0,
    );
    const samples = isFleet ? children.flatMap(during) : [];
    const contended = isFleet
      ? samples.filter(({ state }) => state.fleet !== undefined && state.fleet.cap !== null).length /
        Math.max(1, samples.length)
      : null;
    // Activity ids are `<workflow id>/<index>/<attempt>`, one workflow per queue.
    const window =
      options.level === undefined
        ? null
        : everyGroupWindow(
            counter.intervals.filter((i) => i.start >= t0),
            (i) => i.id.split('/')[0]!,
          );
    const everyQueue =
      window === null || options.level === undefined
        ? null
        : {
            shareAtLevel: shareAtLevel(counter.timeline, options.level, window.from, window.to),
            running: meanLevel(counter.timeline, window.from, window.to) / options.level,
            ofWindow: lastStart > firstStart ? (window.to - window.from) / (lastStart - firstStart) : 0,
          };
    const latencies = (await Promise.all(children.map((c) => c.stop()))).flat();
    const level = options.level;
    let occupancy: WorkloadRun['occupancy'] = null;
    if (level !== undefined) {
      const slotEvents = children.flatMap((c) => c.slotEvents);
      const shareOf = (kind: 'issued' | 'used') =>
        meanLevel(
          timelineOf(
            slotEvents.filter(([, k]) => k === kind).map(([t, , d]) => [counter.fromAbsolute(t), d]),
          ),
          firstStart,
          lastStart,
        ) / level;
      const gaps = dispatchGaps(counter.intervals, lastStart);
      const running = meanLevel(counter.timeline, firstStart, lastStart) / level;
      occupancy = {
        running,
        used: shareOf('used'),
        issued: shareOf('issued'),
        gaps: {
          p50: quantile(gaps, 0.5),
          p90: quantile(gaps, 0.9),
          p99: quantile(gaps, 0.99),
          mean: gaps.reduce((sum, g) => sum + g, 0) / gaps.length,
          count: gaps.length,
        },
        independentShare: running ** level,
      };
    }
    let drain: WorkloadRun['drain'] = null;
    if (level !== undefined) {
      const queueOf = (i: ActivityInterval) => i.id.split('/')[0]!.replace(/-work$/, '');
      const intervals = counter.intervals.filter((i) => i.start >= t0);
      const pids = children.map((c) => c.pid);
      const drains = queueDrains(intervals, queueOf, queues, pids);
      const events = children.flatMap((c) => c.slotEvents);
      const idle = idleOnDryQueues(events, counter.fromAbsolute, drains, lastStart);
      const span = (lastStart - firstStart) * level;
      drain = {
        queues: drains.map((d) => ({
          ...d,
          first: d.first - firstStart,
          last: d.last - firstStart,
          idleAfterDry: span > 0 ? idle.get(d.queue)! / span : 0,
        })),
        pids,
        pollsAtStart: idlePollsAt(events, counter.fromAbsolute, queues, t0),
        whileEvery:
          window === null
            ? null
            : (() => {
                const mean = (kind: 'issued' | 'used') =>
                  meanLevel(
                    timelineOf(
                      events.filter(([, k]) => k === kind).map(([t, , d]) => [counter.fromAbsolute(t), d]),
                    ),
                    window.from,
                    window.to,
                  ) / level;
                const issued = mean('issued');
                return { pollerWithoutTask: issued - mean('used'), notHeld: 1 - issued };
              })(),
        skew: startSkew(intervals, queueOf, queues),
        held: children.map((c) =>
          isFleet
            ? heldLeases(
                c.states.map(({ at, state }) => [counter.fromAbsolute(at), state.fleet?.held ?? 0] as const),
                firstStart,
                lastStart,
              )
            : null,
        ),
        grants,
      };
    }
    const spare = latencies.filter((l) => l.spare).map((l) => l.ms);
    const roundTrip = latencies.filter((l) => !l.spare).map((l) => l.ms);
    const state = isFleet
      ? await until(
          () => fleetState(where.client, fleet),
          (s) => s.leased === 0,
          30_000,
        ).catch(() => fleetState(where.client, fleet)) // leases left: reported, not thrown
      : undefined;
    const tasks = options.tasksPerQueue * 3;
    return {
      tasks,
      completed,
      seconds,
      tasksPerSecond: completed / seconds,
      max: counter.max,
      shareAtLevel:
        options.level === undefined
          ? null
          : shareAtLevel(counter.timeline, options.level, firstStart, lastStart),
      everyQueue,
      acquire: {
        spareP50: quantile(spare, 0.5),
        spareP99: quantile(spare, 0.99),
        spareCount: spare.length,
        roundTripP50: quantile(roundTrip, 0.5),
        roundTripP99: quantile(roundTrip, 0.99),
        roundTripCount: roundTrip.length,
      },
      occupancy,
      drain,
      leasesAfterStop: state?.leased ?? null,
      contended,
      peakDemand,
      ...(takeover ? { takeover } : {}),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop(5_000)));
    await counter.close();
  }
}

/** One line: where the permits' time went in a run with a level, and the dispatch gaps. */
function describeOccupancy(run: WorkloadRun): string {
  const o = run.occupancy;
  if (o === null) return 'no breakdown';
  const pct = (v: number) => `${fmt(v * 100, 1)} %`;
  const every = run.everyQueue;
  const whileEvery =
    every === null
      ? 'no part of the window had work on every queue'
      : `while every queue had work (${pct(every.ofWindow)} of the window): at ${FLEET_SLOTS} ${pct(every.shareAtLevel)}, time-averaged concurrency / ${FLEET_SLOTS} ${fmt(every.running, 3)}`;
  return `${whileEvery}; permit time: running ${pct(o.running)} (time-averaged concurrency / ${FLEET_SLOTS}), task outside its work ${pct(o.used - o.running)}, held by a poller without a task ${pct(o.issued - o.used)}, not held by a poller ${pct(1 - o.issued)}; dispatch gap (an activity's end to its successor's start, n=${o.gaps.count}) p50 ${fmt(o.gaps.p50, 1)} ms p90 ${fmt(o.gaps.p90, 1)} ms p99 ${fmt(o.gaps.p99, 1)} ms mean ${fmt(o.gaps.mean, 1)} ms; share at ${FLEET_SLOTS} if the ${FLEET_SLOTS} permits were busy independently (running^${FLEET_SLOTS}): ${fmt(o.independentShare, 3)}`;
}

/** One line: how the task queues drained in a run with a level (see {@link WorkloadRun.drain}). */
function describeDrain(run: WorkloadRun): string {
  const d = run.drain;
  if (d === null) return 'no drain figures';
  const queues = d.queues
    .map(
      (q) =>
        `${q.queue.slice(-2)} starts +${fmt(q.first, 0)}..+${fmt(q.last, 0)} ms, by process [${q.startsByProcess.join(', ')}], parked on it dry ${fmt(q.idleAfterDry * 100, 1)} %`,
    )
    .join('; ');
  const held = d.held.every((h) => h === null)
    ? ''
    : `; leases held per process mean [${d.held.map((h) => (h === null ? '-' : fmt(h.mean, 2))).join(', ')}] min [${d.held.map((h) => h?.min ?? '-').join(', ')}] max [${d.held.map((h) => h?.max ?? '-').join(', ')}]`;
  const grants = d.grants === null ? '' : `; manager grants during the work ${d.grants}`;
  const every =
    d.whileEvery === null
      ? ''
      : `; while every queue had work, permits held by a poller without a task ${fmt(d.whileEvery.pollerWithoutTask * 100, 1)} %, by no poller ${fmt(d.whileEvery.notHeld * 100, 1)} %`;
  return `pollers without a task per queue at the start [${d.pollsAtStart.join(', ')}]${every}; ${queues}; most starts one queue was ahead ${d.skew}${held}${grants}`;
}

function fleetState(client: Client, fleet: string): Promise<FleetStateSnapshot> {
  return client.workflow.getHandle(fleetManagerId(fleet)).query(fleetStateQuery);
}

/** What scenario 6 measures: the fleet at its limit (`fleet`), or its cost and a crash (`fleet-overhead`). */
type Part = 'contention' | 'overhead';

interface ContentionRound {
  round: number;
  contention: WorkloadRun;
  baseline: WorkloadRun;
}

interface OverheadRound {
  round: number;
  overhead: { fleet: WorkloadRun; fixed: WorkloadRun; ratio: number };
  kill: WorkloadRun;
}

interface Sizes {
  contentionPerQueue: number;
  overheadPerQueue: number;
  killPerQueue: number;
  server: { started: string; dynamicConfig: Readonly<Record<string, string>> | string };
}

async function measure(ctx: ScenarioContext, part: Part): Promise<ScenarioReport> {
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-bench-fleet-'));
  let server: DevServer | undefined;
  let clientConnection: Connection | undefined;
  try {
    // Its own dev server with one partition per task queue (FLEET_BENCH_DYNAMIC_CONFIG), unless the
    // run was given a server, whose settings then apply.
    if (ctx.args.address === null) {
      server = await startDevServer({
        dynamicConfig: { ...FLEET_BENCH_DYNAMIC_CONFIG },
        logFile: join(dir, 'temporal-dev-server.log'),
        log: (line) => ctx.log(line),
      });
      clientConnection = await Connection.connect({ address: server.address });
    }
    const env =
      server && clientConnection
        ? { address: server.address, client: new Client({ connection: clientConnection }) }
        : await ctx.env();
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(BENCH_DIR, 'fleet-workflows.ts'),
      logger: errorsOnlyLogger,
    });
    const bundlePath = join(dir, 'bundle.js');
    writeFileSync(bundlePath, code);
    const connection = await NativeConnection.connect({ address: env.address });
    const hosts: Array<() => Promise<void>> = [];
    try {
      return await measureWith(ctx, part, {
        address: env.address,
        client: env.client,
        bundlePath,
        hostManagers: (taskQueue) => {
          hosts.push(
            hostFleetManagers({
              connection,
              namespace: 'default',
              taskQueue,
              workflowBundle: { codePath: bundlePath },
              logger: errorsOnlyLogger,
            }),
          );
        },
      });
    } finally {
      for (const stop of hosts.reverse()) await stop();
      await connection.close();
    }
  } finally {
    await clientConnection?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureWith(ctx: ScenarioContext, part: Part, where: Where): Promise<ScenarioReport> {
  const { args } = ctx;
  const sizes: Sizes = {
    contentionPerQueue: args.quick ? 10 : 30,
    overheadPerQueue: args.quick ? 10 : 300,
    killPerQueue: args.quick ? 5 : 10,
    server:
      args.address === null
        ? { started: 'by this scenario', dynamicConfig: FLEET_BENCH_DYNAMIC_CONFIG }
        : { started: `given: ${args.address}`, dynamicConfig: 'as configured there' },
  };
  const contentionRounds: ContentionRound[] = [];
  const overheadRounds: OverheadRound[] = [];
  for (let round = 1; round <= args.rounds; round++) {
    const managerTaskQueue = uniqueQueue('bench-fleet-managers');
    where.hostManagers(managerTaskQueue);
    if (part === 'contention')
      contentionRounds.push(await contentionRound(ctx, where, round, managerTaskQueue, sizes));
    else overheadRounds.push(await overheadRound(ctx, where, round, managerTaskQueue, sizes));
  }
  return part === 'contention'
    ? contentionReport(args.rounds, contentionRounds, sizes)
    : overheadReport(args.rounds, overheadRounds, sizes);
}

async function contentionRound(
  ctx: ScenarioContext,
  where: Where,
  round: number,
  managerTaskQueue: string,
  sizes: Sizes,
): Promise<ContentionRound> {
  const contention = await runWorkload(where, {
    supplier: (fleet) => ({ kind: 'fleet', fleet, slots: FLEET_SLOTS, managerTaskQueue, lingerMs: 500 }),
    tasksPerQueue: sizes.contentionPerQueue,
    workMs: 200,
    level: FLEET_SLOTS,
  });
  ctx.log(
    `round ${round} contention: ${contention.completed}/${contention.tasks} x 200 ms under a fleet of ${FLEET_SLOTS}: most at once ${contention.max}, at ${FLEET_SLOTS} for ${fmt((contention.shareAtLevel ?? 0) * 100, 1)} % while queued; acquire with a spare lease (n=${contention.acquire.spareCount}), waiting for a lease p50 ${fmt(contention.acquire.roundTripP50, 1)} ms p99 ${fmt(contention.acquire.roundTripP99, 1)} ms (n=${contention.acquire.roundTripCount}); leases after stop ${contention.leasesAfterStop}`,
  );
  ctx.log(`round ${round} contention: ${describeOccupancy(contention)}`);
  ctx.log(`round ${round} contention drain: ${describeDrain(contention)}`);
  const baseline = await runWorkload(where, {
    supplier: () => ({ kind: 'fixed', slots: FLEET_SLOTS }),
    processes: 1,
    tasksPerQueue: sizes.contentionPerQueue,
    workMs: 200,
    level: FLEET_SLOTS,
  });
  ctx.log(
    `round ${round} reference: one process with FixedSlotSupplier(${FLEET_SLOTS}): most at once ${baseline.max}, at ${FLEET_SLOTS} for ${fmt((baseline.shareAtLevel ?? 0) * 100, 1)} % while queued`,
  );
  ctx.log(`round ${round} reference: ${describeOccupancy(baseline)}`);
  ctx.log(`round ${round} reference drain: ${describeDrain(baseline)}`);
  return { round, contention, baseline };
}

async function overheadRound(
  ctx: ScenarioContext,
  where: Where,
  round: number,
  managerTaskQueue: string,
  sizes: Sizes,
): Promise<OverheadRound> {
  const order: Array<'fleet' | 'fixed'> = round % 2 === 0 ? ['fixed', 'fleet'] : ['fleet', 'fixed'];
  const overhead: Partial<Record<'fleet' | 'fixed', WorkloadRun>> = {};
  for (const kind of order) {
    overhead[kind] = await runWorkload(where, {
      supplier: (fleet) =>
        kind === 'fleet'
          ? { kind: 'fleet', fleet, slots: OVERHEAD_FLEET_SLOTS, managerTaskQueue, lingerMs: 1_000 }
          : { kind: 'fixed', slots: OVERHEAD_FIXED_SLOTS },
      tasksPerQueue: sizes.overheadPerQueue,
      workMs: 50,
    });
  }
  const ratio = overhead.fleet!.tasksPerSecond / overhead.fixed!.tasksPerSecond;
  ctx.log(
    `round ${round} overhead: ${overhead.fleet!.tasks} x 50 ms: fleet(${OVERHEAD_FLEET_SLOTS}, not binding) ${fmt(overhead.fleet!.tasksPerSecond, 1)} tasks/s, FixedSlotSupplier(${OVERHEAD_FIXED_SLOTS}) per process ${fmt(overhead.fixed!.tasksPerSecond, 1)} tasks/s, ratio ${fmt(ratio, 3)}; fleet peak demand ${overhead.fleet!.peakDemand}, capped in ${fmt((overhead.fleet!.contended ?? 0) * 100, 1)} % of the samples; fleet acquire with a spare lease p50 ${fmt(overhead.fleet!.acquire.spareP50, 3)} ms p99 ${fmt(overhead.fleet!.acquire.spareP99, 3)} ms (n=${overhead.fleet!.acquire.spareCount}), waiting for the manager p50 ${fmt(overhead.fleet!.acquire.roundTripP50, 1)} ms p99 ${fmt(overhead.fleet!.acquire.roundTripP99, 1)} ms (n=${overhead.fleet!.acquire.roundTripCount})`,
  );
  const kill = await runWorkload(where, {
    supplier: (fleet) => ({
      kind: 'fleet',
      fleet,
      slots: FLEET_SLOTS,
      managerTaskQueue,
      leaseTtlMs: KILL_TTL_MS,
      lingerMs: 200,
    }),
    tasksPerQueue: sizes.killPerQueue,
    workMs: 1_000,
    kill: true,
  });
  ctx.log(
    `round ${round} kill -9: ${kill.takeover?.leases} leases back ${fmt(kill.takeover?.ms ?? Number.NaN, 0)} ms after the kill (TTL ${KILL_TTL_MS} ms); most at once ${kill.max}; ${kill.completed}/${kill.tasks} completed`,
  );
  return { round, overhead: { fleet: overhead.fleet!, fixed: overhead.fixed!, ratio }, kill };
}

/** Runs that did not complete every activity, and fleet runs that left leases at the manager. */
function completeness<R extends { round: number }>(
  rounds: R[],
  runsOf: (r: R) => WorkloadRun[],
): { incomplete: string[]; leftover: string[]; verdict: Verdict } {
  const incomplete = rounds.flatMap((r) =>
    runsOf(r)
      .filter((w) => w.completed !== w.tasks)
      .map((w) => `round ${r.round}: ${w.completed}/${w.tasks}`),
  );
  const leftover = rounds.flatMap((r) =>
    runsOf(r)
      .filter((w) => w.leasesAfterStop !== null && w.leasesAfterStop !== 0)
      .map((w) => `round ${r.round}: ${w.leasesAfterStop}`),
  );
  return {
    incomplete,
    leftover,
    verdict: {
      target: 'all activities complete and leases return to 0',
      met: incomplete.length === 0 && leftover.length === 0,
      note:
        incomplete.length + leftover.length === 0
          ? 'every run completed; 0 leases after every fleet run'
          : `incomplete: ${incomplete.join(', ') || 'none'}; leases left: ${leftover.join(', ') || 'none'}`,
    },
  };
}

function serverNote(sizes: Sizes): string {
  return `Server: ${sizes.server.started === 'by this scenario' ? 'a dev server of its own with one read and one write partition per task queue (the server default is 4: a poll on a partition with no task waits for one forwarded from another partition, at most 10 per second; bench/README.md, scenario 6)' : `${sizes.server.started}, with its own partition settings`}.`;
}

function contentionReport(roundCount: number, rounds: ContentionRound[], sizes: Sizes): ScenarioReport {
  const of = (pick: (r: ContentionRound) => number) => rounds.map(pick);
  const share = summarize(of((r) => r.contention.shareAtLevel ?? Number.NaN));
  const baselineShare = summarize(of((r) => r.baseline.shareAtLevel ?? Number.NaN));
  /** Summary over the rounds of `value` of a part of one run that a run may lack (NaN where it does). */
  const partOf =
    <K extends 'occupancy' | 'everyQueue'>(part: K) =>
    (pick: (r: ContentionRound) => WorkloadRun, value: (p: NonNullable<WorkloadRun[K]>) => number) =>
      summarize(
        of((r) => {
          const p = pick(r)[part];
          return p === null ? Number.NaN : value(p as NonNullable<WorkloadRun[K]>);
        }),
      );
  const occupancyOf = partOf('occupancy');
  const everyOf = partOf('everyQueue');
  const occupancyRows = (name: string, pick: (r: ContentionRound) => WorkloadRun): string[][] => [
    [
      `${name}: share at ${FLEET_SLOTS} while every queue had work / that part of the window`,
      `${fmtSummary(
        everyOf(pick, (e) => e.shareAtLevel),
        3,
      )} / ${fmtSummary(
        everyOf(pick, (e) => e.ofWindow),
        3,
      )}`,
      '',
    ],
    [
      `${name}: time-averaged concurrency / ${FLEET_SLOTS}`,
      fmtSummary(
        occupancyOf(pick, (o) => o.running),
        3,
      ),
      '',
    ],
    [
      `${name}: permits held by a task outside its work`,
      fmtSummary(
        occupancyOf(pick, (o) => o.used - o.running),
        3,
      ),
      '',
    ],
    [
      `${name}: permits held by a poller without a task`,
      fmtSummary(
        occupancyOf(pick, (o) => o.issued - o.used),
        3,
      ),
      '',
    ],
    [
      `${name}: permits not held by any poller`,
      fmtSummary(
        occupancyOf(pick, (o) => 1 - o.issued),
        3,
      ),
      '',
    ],
    [
      `${name}: dispatch gap p50 / p90 ms`,
      `${fmtSummary(
        occupancyOf(pick, (o) => o.gaps.p50),
        1,
      )} / ${fmtSummary(
        occupancyOf(pick, (o) => o.gaps.p90),
        1,
      )}`,
      '',
    ],
  ];
  const maxFleet = Math.max(...rounds.map((r) => r.contention.max));
  const { verdict: complete } = completeness(rounds, (r) => [r.contention, r.baseline]);
  const fullP50 = summarize(of((r) => r.contention.acquire.roundTripP50));
  const fullP99 = summarize(of((r) => r.contention.acquire.roundTripP99));
  const contended = rounds.map((r) => r.contention.max);
  return {
    settings: {
      server: sizes.server,
      processes: 3,
      taskQueues: 3,
      activityPollersPerWorker: 2,
      fleetSlots: FLEET_SLOTS,
      contention: { activities: sizes.contentionPerQueue * 3, workMs: 200, lingerMs: 500 },
    },
    preconditions: [
      // The machine's: whether three processes ever run 5 at once depends on dispatch latency (a busy
      // CI host reached 3 with every lease granted correctly), not on the script.
      machineAllows(
        `the contention workload kept the fleet at its limit (${FLEET_SLOTS} running) at least once per round`,
        contended.every((m) => m >= FLEET_SLOTS),
        `most at once per round: ${contended.join(', ')}`,
      ),
      machineAllows(
        `one process with a local FixedSlotSupplier(${FLEET_SLOTS}) keeps ${FLEET_SLOTS} running >= 0.9 of the time (the machine can feed ${FLEET_SLOTS} slots at all)`,
        baselineShare.min >= 0.9,
        `share at ${FLEET_SLOTS}: ${fmtSummary(baselineShare, 3)}`,
      ),
    ],
    tables: [
      {
        title: `Scenario 6 - fleet budget at its limit: 3 Worker processes (own processes) x 3 task queues + dev server; median [min..max] of ${roundCount} rounds`,
        headers: ['measure', 'value', 'target'],
        rows: [
          [`most running at once, fleet of ${FLEET_SLOTS}`, String(maxFleet), `<= ${FLEET_SLOTS}`],
          [
            `share of queued time at ${FLEET_SLOTS} (${sizes.contentionPerQueue * 3} x 200 ms)`,
            fmtSummary(share, 3),
            '>= 0.9',
          ],
          [
            `same, one process, local FixedSlotSupplier(${FLEET_SLOTS})`,
            fmtSummary(baselineShare, 3),
            'reference',
          ],
          ...occupancyRows('fleet', (r) => r.contention),
          ...occupancyRows(`local FixedSlotSupplier(${FLEET_SLOTS})`, (r) => r.baseline),
          [`acquire in the full fleet of ${FLEET_SLOTS} p50 ms`, fmtSummary(fullP50, 1), ''],
          [`acquire in the full fleet of ${FLEET_SLOTS} p99 ms`, fmtSummary(fullP99, 1), ''],
        ],
        notes: [
          serverNote(sizes),
          'While every queue had work: from the latest first start of a queue to the earliest last start of one. Outside it a queue has run dry, and each poller of that queue holds a permit while it waits for a task that does not come (a poll waits up to a minute).',
          'Concurrency is what the activities reported to a counter in the bench process (start and end of each), not what the suppliers said.',
          'Share at the limit: from the first activity start to the last, the fraction of time the fleet ran exactly its limit (the time work was queued).',
          `Where the ${FLEET_SLOTS} permits' time went over the same window, from the activities' counter and each process's reserve/markUsed/release times: the activities' own work (time-averaged concurrency / ${FLEET_SLOTS}), a task holding the permit outside its work (delivery, reporting, completion), a poller holding it with no task yet, or no poller holding it (no poll asked for it, or the lease was elsewhere or with the manager). Dispatch gap: from an activity's end to the start of the activity that took its place.`,
          `What the workload allows at all: a permit is busy at most work / (work + gap) of the time, 200 / 205 = 0.976 for a 5 ms gap; ${FLEET_SLOTS} permits whose gaps fall independently are all busy 0.976^${FLEET_SLOTS} = 0.88 of the time, so >= 0.9 at ${FLEET_SLOTS} needs a gap under 4.3 ms per 200 ms task (a completion and a poll round trip through the server), or gaps that line up.`,
          'Every process polls all 3 queues with 2 pollers per Worker, and core reserves permits ahead of its polls: a permit held by a poller of a queue that has run dry does nothing until that poll ends. The one-process FixedSlotSupplier reference has the same pollers and says how much of the gap is that.',
        ],
      },
    ],
    verdicts: [
      {
        target: `never more than ${FLEET_SLOTS} activities at once across the 3 processes`,
        met: maxFleet <= FLEET_SLOTS,
        note: `most at once ${maxFleet}`,
      },
      {
        target: `at ${FLEET_SLOTS} for >= 0.9 of the time while work is queued`,
        met: share.median >= 0.9,
        note: `median ${fmt(share.median, 3)} (rounds ${fmt(share.min, 3)}..${fmt(share.max, 3)}); one local process: ${fmt(baselineShare.median, 3)}; time-averaged concurrency / ${FLEET_SLOTS}: fleet ${fmt(
          occupancyOf(
            (r) => r.contention,
            (o) => o.running,
          ).median,
          3,
        )}, local ${fmt(
          occupancyOf(
            (r) => r.baseline,
            (o) => o.running,
          ).median,
          3,
        )}`,
      },
      complete,
    ],
    figures: [
      {
        id: 'share-at-limit',
        label: `share of queued time at ${FLEET_SLOTS}`,
        value: share.median,
        unit: 'ratio',
        digits: 3,
      },
      {
        id: 'reference-share-at-limit',
        label: `one process, FixedSlotSupplier(${FLEET_SLOTS}): share of queued time at ${FLEET_SLOTS}`,
        value: baselineShare.median,
        unit: 'ratio',
        digits: 3,
      },
    ],
    data: { rounds },
  };
}

function overheadReport(roundCount: number, rounds: OverheadRound[], sizes: Sizes): ScenarioReport {
  const of = (pick: (r: OverheadRound) => number) => rounds.map(pick);
  const ratio = summarize(of((r) => r.overhead.ratio));
  const takeoverMs = summarize(of((r) => r.kill.takeover?.ms ?? Number.NaN));
  const maxKill = Math.max(...rounds.map((r) => r.kill.max));
  const { verdict: complete } = completeness(rounds, (r) => [r.overhead.fleet, r.overhead.fixed, r.kill]);
  // Acquire latency in the fleet that does not bind: a reservation either finds a spare lease or
  // waits for the manager's answer (a round trip) or for a permit of its own process to come back.
  const latency = (pick: (w: WorkloadRun) => number) => summarize(of((r) => pick(r.overhead.fleet)));
  const acquire = {
    spareP50: latency((w) => w.acquire.spareP50),
    spareP99: latency((w) => w.acquire.spareP99),
    roundTripP50: latency((w) => w.acquire.roundTripP50),
    roundTripP99: latency((w) => w.acquire.roundTripP99),
  };
  const n = (pick: (w: WorkloadRun) => number) => rounds.reduce((sum, r) => sum + pick(r.overhead.fleet), 0);
  const fleetTps = summarize(of((r) => r.overhead.fleet.tasksPerSecond));
  const fixedTps = summarize(of((r) => r.overhead.fixed.tasksPerSecond));
  const killed = rounds.map((r) => r.kill.takeover?.leases ?? 0);
  const contended = summarize(of((r) => r.overhead.fleet.contended ?? Number.NaN));
  return {
    settings: {
      server: sizes.server,
      processes: 3,
      taskQueues: 3,
      activityPollersPerWorker: 2,
      overhead: {
        activities: sizes.overheadPerQueue * 3,
        workMs: 50,
        fleetSlots: OVERHEAD_FLEET_SLOTS,
        fixedSlotsPerProcess: OVERHEAD_FIXED_SLOTS,
      },
      kill: {
        activities: sizes.killPerQueue * 3,
        workMs: 1_000,
        fleetSlots: FLEET_SLOTS,
        leaseTtlMs: KILL_TTL_MS,
        lingerMs: 200,
      },
    },
    preconditions: [
      // The script's: a fleet sized so that it does not bind. (Idle Workers hold 11 permits each.)
      precondition(
        `the fleet of ${OVERHEAD_FLEET_SLOTS} did not bind: the processes' peak demand (permits out and reservations waiting, summed) stayed below it in every round`,
        rounds.every((r) => r.overhead.fleet.peakDemand < OVERHEAD_FLEET_SLOTS),
        `peak demand per round: ${rounds.map((r) => r.overhead.fleet.peakDemand).join(', ')}`,
      ),
      precondition(
        'the killed process held at least one lease when it died',
        killed.every((k) => k >= 1),
        `leases it held per round: ${killed.join(', ')}`,
      ),
    ],
    tables: [
      {
        title: `Scenario 6b - fleet budget overhead and kill -9: 3 Worker processes (own processes) x 3 task queues + dev server; median [min..max] of ${roundCount} rounds`,
        headers: ['measure', 'value', 'target'],
        rows: [
          ['acquire with a spare lease p50 ms', fmtSummary(acquire.spareP50, 3), 'no round trip'],
          ['acquire with a spare lease p99 ms', fmtSummary(acquire.spareP99, 3), ''],
          ['acquire with no spare lease p50 ms', fmtSummary(acquire.roundTripP50, 1), ''],
          ['acquire with no spare lease p99 ms', fmtSummary(acquire.roundTripP99, 1), ''],
          [`fleet(${OVERHEAD_FLEET_SLOTS}, not binding) tasks/s`, fmtSummary(fleetTps, 1), ''],
          [`FixedSlotSupplier(${OVERHEAD_FIXED_SLOTS}) per process tasks/s`, fmtSummary(fixedTps, 1), ''],
          [
            `fleet: peak demand (permits out and waiting, all processes)`,
            fmtSummary(summarize(of((r) => r.overhead.fleet.peakDemand)), 0),
            `< ${OVERHEAD_FLEET_SLOTS}`,
          ],
          ['fleet capped (contended), share of state samples', fmtSummary(contended, 3), ''],
          ['tasks/s ratio fleet / fixed', fmtSummary(ratio, 3), '>= 0.9'],
          [
            `most running at once in the kill run, fleet of ${FLEET_SLOTS}`,
            String(maxKill),
            `<= ${FLEET_SLOTS}`,
          ],
          [
            `kill -9: leases back after ms (TTL ${KILL_TTL_MS})`,
            fmtSummary(takeoverMs, 0),
            `<= ${KILL_TTL_MS}`,
          ],
        ],
        notes: [
          serverNote(sizes),
          `Acquire = reserveSlot() from call to permit, in the fleet that does not bind: ${n((w) => w.acquire.spareCount)} found a spare lease and ${n((w) => w.acquire.roundTripCount)} found none (they waited for the lease manager's answer or for a permit of their own process to be released), over all rounds.`,
          `An idle Worker holds 11 activity permits whatever its poller count (core reserves ahead of its polls; SDK 1.24), so the 9 Workers hold about 99 of the fleet of ${OVERHEAD_FLEET_SLOTS} while they wait for tasks, and about 33 of each process's ${OVERHEAD_FIXED_SLOTS} local permits. Peak demand: per process the most permits out plus reservations waiting in its state reports (every 100 ms) from the first activity start to the end of the work, summed. Capped: the manager had capped the process when it reported its state; with demand below the fleet that is only the moment extra leases (asked ahead) go back because another process's demand grew.`,
          "kill -9: from the SIGKILL to the lease manager no longer listing the process. The manager drops a holder at the first of its ticks (TTL / 8 each) at least 7/8 TTL after its last renewal reached it, so at most one TTL after that renewal plus the manager's workflow-task latency, which a busy machine stretches; a renewal sent just before the kill puts the takeover at that bound.",
        ],
      },
    ],
    verdicts: [
      {
        target: `never more than ${FLEET_SLOTS} activities at once across the 3 processes, a process killed`,
        met: maxKill <= FLEET_SLOTS,
        note: `most at once ${maxKill}`,
      },
      complete,
      {
        target: `kill -9 of a lease holder: its leases back within the TTL (${KILL_TTL_MS} ms)`,
        met: takeoverMs.max <= KILL_TTL_MS,
        note: `median ${fmt(takeoverMs.median, 0)} ms (rounds ${fmt(takeoverMs.min, 0)}..${fmt(takeoverMs.max, 0)})`,
      },
      {
        target: 'throughput with a fleet that does not bind >= 0.9x a local FixedSlotSupplier',
        met: ratio.median >= 0.9,
        note: `median ratio ${fmt(ratio.median, 3)} (rounds ${fmt(ratio.min, 3)}..${fmt(ratio.max, 3)})`,
      },
      {
        target: 'permit acquire latency with and without a spare lease (p50/p99)',
        met: null,
        note: `spare p50 ${fmt(acquire.spareP50.median, 3)} ms p99 ${fmt(acquire.spareP99.median, 3)} ms; no spare p50 ${fmt(acquire.roundTripP50.median, 1)} ms p99 ${fmt(acquire.roundTripP99.median, 1)} ms`,
      },
    ],
    figures: [
      {
        id: 'tasks-per-s-ratio',
        label: 'fleet / FixedSlotSupplier tasks/s',
        value: ratio.median,
        unit: 'ratio',
        digits: 3,
      },
      {
        id: 'acquire-spare-p50',
        label: 'acquire with a spare lease p50',
        value: acquire.spareP50.median,
        unit: 'ms',
        digits: 3,
      },
      {
        id: 'acquire-spare-p99',
        label: 'acquire with a spare lease p99',
        value: acquire.spareP99.median,
        unit: 'ms',
        digits: 3,
      },
      {
        id: 'acquire-wait-p50',
        label: 'acquire with no spare lease p50',
        value: acquire.roundTripP50.median,
        unit: 'ms',
        digits: 1,
      },
      {
        id: 'acquire-wait-p99',
        label: 'acquire with no spare lease p99',
        value: acquire.roundTripP99.median,
        unit: 'ms',
        digits: 1,
      },
      {
        id: 'kill-takeover-ms',
        label: 'kill -9: leases back after',
        value: takeoverMs.median,
        unit: 'ms',
        digits: 0,
      },
      {
        id: 'fleet-tasks-per-s',
        label: `fleet(${OVERHEAD_FLEET_SLOTS}) tasks/s`,
        value: fleetTps.median,
        unit: 'tasks/s',
        digits: 1,
      },
      {
        id: 'fixed-tasks-per-s',
        label: `FixedSlotSupplier(${OVERHEAD_FIXED_SLOTS}) per process tasks/s`,
        value: fixedTps.median,
        unit: 'tasks/s',
        digits: 1,
      },
    ],
    data: { rounds },
  };
}

/** Scenario 6: a fleet budget at its limit across Worker processes (the machine must feed its slots). */
export const fleet: Scenario = {
  name: 'fleet',
  title: '6 fleet budget',
  run: (ctx) => measure(ctx, 'contention'),
};

/** Scenario 6b: what a fleet budget that does not bind costs, and a lease holder killed. */
export const fleetOverhead: Scenario = {
  name: 'fleet-overhead',
  title: '6b fleet overhead',
  run: (ctx) => measure(ctx, 'overhead'),
};

if (isMain(import.meta.url)) runAsScript(fleet);
