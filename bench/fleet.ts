// Fleet budgets (FleetSlotSupplier) measured on a real dev server with Worker processes.
//
//   npx tsx bench/fleet.ts            # 2 rounds (the lead records on a quiet machine)
//   npx tsx bench/fleet.ts --quick    # 1 round, smaller workloads: a smoke run, not for recording
//
// Scenarios, each with 3 Worker processes (child processes) on 3 task queues, every process polling
// all 3 queues; activities report their start and end to a counter in this process:
// 1. contention: fleet slots 5, 90 activities of 200 ms. Most at once (must be 5), the share of the
//    time at 5 while work was queued (target >= 0.9), the time it took, and what each reservation
//    waited for its permit: with a spare lease (no round trip) and without (p50/p99). Baseline: the
//    same workload through one process with a local FixedSlotSupplier(5).
// 2. overhead: a fleet that does not bind (120 slots) against a local FixedSlotSupplier(40) in each
//    process, same workload (300 activities of 50 ms): tasks per second, ratio (target >= 0.9).
// 3. kill -9: fleet slots 5, lease TTL 4 s, activities of 1 s; one process holding leases is killed:
//    how long until the manager took its leases back, against the TTL.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { type DevServer, startDevServer } from '../src/dev-server/dev-server.js';
import { fleetManagerId, fleetStateQuery } from '../src/workflows/fleet/definitions.js';
import type { FleetStateSnapshot } from '../src/workflows/fleet/types.js';
import { shareAtLevel, startConcurrencyCounter } from '../test/integration/fleet/concurrency-counter.js';
import type { FleetChildConfig } from '../test/integration/fleet/fleet-child-protocol.js';
import { type FleetChild, startFleetChild } from '../test/integration/fleet/fleet-children.js';
import { parseBenchArgs } from './lib/args.js';
import { BENCH_DIR, hostCpuBusy, machineInfo, RESULTS_DIR } from './lib/results.js';

const args = parseBenchArgs();
const rounds = args.quick ? 1 : args.rounds === 3 ? 2 : args.rounds;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };

interface Env {
  server: DevServer;
  client: Client;
  bundlePath: string;
}

const quantile = (values: number[], q: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round1 = (n: number) => Math.round(n * 10) / 10;
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

let runCounter = 0;

/** Starts 3 processes, runs one workflow per queue, stops the processes; returns what was measured. */
async function runWorkload(
  env: Env,
  options: {
    supplier: (fleet: string) => FleetChildConfig['supplier'];
    tasksPerQueue: number;
    workMs: number;
    level?: number;
    kill?: { afterMs?: number };
    /** Worker processes. @default 3 */
    processes?: number;
  },
) {
  const fleet = `bench-fleet-${process.pid}-${++runCounter}`;
  const queues = [0, 1, 2].map((i) => `${fleet}-q${i}`);
  const counter = await startConcurrencyCounter();
  const children: FleetChild[] = await Promise.all(
    Array.from({ length: options.processes ?? 3 }, () =>
      startFleetChild({
        address: env.server.address,
        bundlePath: env.bundlePath,
        taskQueues: queues,
        counterUrl: counter.url,
        activityPollers: 2,
        supplier: options.supplier(fleet),
      }),
    ),
  );
  try {
    // Warm up: every queue has run a workflow task and an activity (the fleet's manager is started).
    await Promise.all(
      queues.map((taskQueue) =>
        env.client.workflow.execute('fleetWorkWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-warm`,
          args: [{ tasks: 1, workMs: 1, startToCloseMs: 60_000 }],
        }),
      ),
    );
    const t0 = counter.now();
    const startToCloseMs = options.kill ? 3_000 : 60_000;
    const work = Promise.all(
      queues.map((taskQueue, i) =>
        env.client.workflow.execute('fleetWorkWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-work`,
          args: [
            { tasks: options.tasksPerQueue, workMs: options.workMs, startToCloseMs, firstIndex: i * 1000 },
          ],
        }),
      ),
    );
    let takeover: { leases: number; ms: number } | undefined;
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
        () => fleetState(env, fleet),
        (state) => {
          const dead = state.holders.find((h) => h.id === holderId);
          if (dead) leases = dead.held;
          return dead === undefined;
        },
      );
      takeover = { leases, ms: counter.now() - killedAt };
    }
    await work;
    const timeline = counter.timeline.filter(([t]) => t >= t0);
    const firstStart = timeline.find(([, n]) => n > 0)?.[0] ?? t0;
    const lastStart = Math.max(
      ...timeline.filter(([, n], i, all) => i > 0 && n > all[i - 1]![1]).map(([t]) => t),
    );
    const seconds = (counter.now() - firstStart) / 1000;
    const latencies = (await Promise.all(children.map((c) => c.stop()))).flat();
    const state =
      options.supplier(fleet).kind === 'fleet'
        ? await until(
            () => fleetState(env, fleet),
            (s) => s.leased === 0,
            30_000,
          ).catch(() => undefined)
        : undefined;
    return {
      tasks: options.tasksPerQueue * 3,
      seconds,
      tasksPerSecond: (options.tasksPerQueue * 3) / seconds,
      max: counter.max,
      shareAtLevel:
        options.level === undefined
          ? null
          : shareAtLevel(counter.timeline, options.level, firstStart, lastStart),
      acquire: {
        spareP50: quantile(
          latencies.filter((l) => l.spare).map((l) => l.ms),
          0.5,
        ),
        spareP99: quantile(
          latencies.filter((l) => l.spare).map((l) => l.ms),
          0.99,
        ),
        spareCount: latencies.filter((l) => l.spare).length,
        roundTripP50: quantile(
          latencies.filter((l) => !l.spare).map((l) => l.ms),
          0.5,
        ),
        roundTripP99: quantile(
          latencies.filter((l) => !l.spare).map((l) => l.ms),
          0.99,
        ),
        roundTripCount: latencies.filter((l) => !l.spare).length,
      },
      leasesAfterStop: state?.leased ?? null,
      managerStats: state?.stats ?? null,
      takeover,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop(5_000)));
    await counter.close();
  }
}

async function fleetState(env: Env, fleet: string): Promise<FleetStateSnapshot> {
  return env.client.workflow.getHandle(fleetManagerId(fleet)).query(fleetStateQuery);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-bench-fleet-'));
  const server = await startDevServer({ logFile: join(dir, 'server.log'), log: () => {} });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(BENCH_DIR, 'fleet-workflows.ts'),
    logger: quiet,
  });
  const bundlePath = join(dir, 'bundle.js');
  writeFileSync(bundlePath, code);
  const env: Env = { server, client, bundlePath };
  const idle = await hostCpuBusy(1000);
  const results: Record<string, unknown>[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const managerTaskQueue = `bench-fleet-managers-${round}`;
      const contention = await runWorkload(env, {
        supplier: (fleet) => ({ kind: 'fleet', fleet, slots: 5, managerTaskQueue, lingerMs: 500 }),
        tasksPerQueue: args.quick ? 10 : 30,
        workMs: 200,
        level: 5,
      });
      // The same workload through one process with a local FixedSlotSupplier(5): what this machine
      // allows at all (polls, dispatch), against which the fleet's share at 5 is read.
      const baseline = await runWorkload(env, {
        supplier: () => ({ kind: 'fixed', slots: 5 }),
        processes: 1,
        tasksPerQueue: args.quick ? 10 : 30,
        workMs: 200,
        level: 5,
      });
      console.log(
        `round ${round} baseline: the same through one process with FixedSlotSupplier(5): most at once ${baseline.max}, at 5 for ${round1((baseline.shareAtLevel ?? 0) * 100)} % while queued, ${round1(baseline.seconds)} s`,
      );
      console.log(
        `round ${round} contention: ${contention.tasks} x 200 ms under a fleet of 5: most at once ${contention.max}, at 5 for ${round1((contention.shareAtLevel ?? 0) * 100)} % while queued, ${round1(contention.seconds)} s; acquire with a spare lease p50 ${round1(contention.acquire.spareP50)} ms p99 ${round1(contention.acquire.spareP99)} ms (n=${contention.acquire.spareCount}), with a round trip p50 ${round1(contention.acquire.roundTripP50)} ms p99 ${round1(contention.acquire.roundTripP99)} ms (n=${contention.acquire.roundTripCount}); leases after stop ${contention.leasesAfterStop}`,
      );
      const overheadTasks = args.quick ? 30 : 100;
      const order = round % 2 === 0 ? ['fixed', 'fleet'] : ['fleet', 'fixed'];
      const overhead: Record<string, Awaited<ReturnType<typeof runWorkload>>> = {};
      for (const kind of order) {
        overhead[kind] = await runWorkload(env, {
          supplier: (fleet) =>
            kind === 'fleet'
              ? { kind: 'fleet', fleet, slots: 120, managerTaskQueue, lingerMs: 1_000 }
              : { kind: 'fixed', slots: 40 },
          tasksPerQueue: overheadTasks,
          workMs: 50,
        });
      }
      const ratio = overhead.fleet!.tasksPerSecond / overhead.fixed!.tasksPerSecond;
      console.log(
        `round ${round} overhead: ${overhead.fleet!.tasks} x 50 ms: fleet(120, not binding) ${round1(overhead.fleet!.tasksPerSecond)} tasks/s, local FixedSlotSupplier(40) per process ${round1(overhead.fixed!.tasksPerSecond)} tasks/s, ratio ${Math.round(ratio * 100) / 100}; fleet acquire with a spare lease p50 ${round1(overhead.fleet!.acquire.spareP50)} ms p99 ${round1(overhead.fleet!.acquire.spareP99)} ms (n=${overhead.fleet!.acquire.spareCount}), with a round trip p50 ${round1(overhead.fleet!.acquire.roundTripP50)} ms p99 ${round1(overhead.fleet!.acquire.roundTripP99)} ms (n=${overhead.fleet!.acquire.roundTripCount}); FixedSlotSupplier acquire p50 ${round1(overhead.fixed!.acquire.spareP50)} ms`,
      );
      const kill = await runWorkload(env, {
        supplier: (fleet) => ({
          kind: 'fleet',
          fleet,
          slots: 5,
          managerTaskQueue,
          leaseTtlMs: 4_000,
          lingerMs: 200,
        }),
        tasksPerQueue: 10,
        workMs: 1_000,
        kill: {},
      });
      console.log(
        `round ${round} kill -9: ${kill.takeover?.leases} leases back ${Math.round(kill.takeover?.ms ?? Number.NaN)} ms after the kill (TTL 4000 ms); most at once ${kill.max}`,
      );
      results.push({ round, contention, baseline, overhead, overheadRatio: ratio, kill });
    }
  } finally {
    await connection.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const output = {
    scenario: 'fleet',
    quick: args.quick,
    rounds,
    machine: machineInfo(),
    idleHostCpuBusy: idle,
    results,
  };
  if (args.write) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, args.quick ? 'fleet.quick.json' : 'fleet.json');
    writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
}

await main();
process.exit(0);
