// Scenario 2: throughput through a real Worker on the dev server.
//
// 2000 short activities through 50 and through 500 activity slots: slotwise FixedSlotSupplier against
// Temporal's fixed-size supplier, same server, interleaved rounds, each Worker in its own process.
// Tasks per second and schedule-to-start latency (activity start minus the attempt's scheduled time,
// from activity info).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { startDevServer } from '../src/dev-server/dev-server.js';
import { spawnWorkerChild } from './lib/child-worker.js';
import { coresBusy, cpuMicrosPerTask, loopUtilization } from './lib/cpu-time.js';
import { runAsScript } from './lib/runner.js';
import {
  isMain,
  machineAllows,
  pairedOrder,
  type Scenario,
  type ScenarioContext,
  type ScenarioReport,
} from './lib/scenario.js';
import { fmt, fmtSummary, median, quantile, ratioSummary, summarize } from './lib/stats.js';
import type { Contender } from './lib/suppliers.js';
import { type BenchEnv, uniqueQueue } from './lib/temporal.js';

/** One run of one contender. */
interface ThroughputRun {
  contender: string;
  round: number;
  tasks: number;
  completed: number;
  /** The run did not finish within its time limit. */
  hung: boolean;
  seconds: number;
  tasksPerSecond: number;
  scheduleToStartP50Ms: number;
  scheduleToStartP99Ms: number;
  scheduleToStartMaxMs: number;
  /**
   * The Worker process's CPU time (user + system, every thread) from the first workflow started to
   * the last result, per completed activity, in microseconds (`NaN` when it could not be read).
   */
  cpuUsPerTask: number;
  /** That CPU time over the same wall time: cores the Worker process kept busy. */
  cpuCores: number;
  /** The Worker's main-thread event-loop utilization over the same window (0..1). */
  loopBusy: number;
}

/** Activity slots: 50 (the issue's first case) and 500, where per-permit cost matters more. */
const SLOT_COUNTS = [50, 500] as const;

export interface ThroughputContender extends Contender {
  /** Let core dispatch activities eagerly (see bench/lib/workflows.ts). */
  eager: boolean;
  slots: number;
  /** Wire the Worker without slotwiseWorkerOptions() (the SDK's own path). @default false */
  raw?: boolean;
  /**
   * A bare custom supplier (bench/lib/suppliers.ts `FloorSlotSupplier`): what any custom supplier
   * costs a Worker, measured beside slotwise and the built-in. Reported, never given a target.
   */
  floor?: boolean;
}

/** slotwise FixedSlotSupplier and Temporal fixed-size at each slot count, eager dispatch off and on. */
export const THROUGHPUT_CONTENDERS: ThroughputContender[] = SLOT_COUNTS.flatMap((slots) =>
  [false, true].flatMap((eager) => {
    const tag = `${slots}${eager ? '-eager' : ''}`;
    const suffix = eager ? ', eager on' : '';
    return [
      {
        id: `slotwise-fixed-${tag}`,
        // slotwiseWorkerOptions() turns eager reservations off: the workflow asks, core does not.
        label: `slotwise FixedSlotSupplier(${slots})${eager ? ', eager asked' : ''}`,
        builtIn: false,
        eager,
        slots,
        spec: { kind: 'slotwise-fixed', slots },
      },
      {
        id: `builtin-fixed-${tag}`,
        label: `Temporal fixed-size(${slots})${suffix}`,
        builtIn: true,
        eager,
        slots,
        spec: { kind: 'fixed-size', numSlots: slots },
      },
      // Without eager dispatch only: the floor is wired raw, as users of a plain custom supplier would
      // wire it, and with eager on that path stalls (bench finding 1).
      ...(eager
        ? []
        : [
            {
              id: `floor-fixed-${tag}`,
              label: `bare custom supplier(${slots}) (floor)`,
              builtIn: false,
              floor: true,
              eager,
              slots,
              spec: { kind: 'custom-floor', slots },
            } satisfies ThroughputContender,
          ]),
    ] satisfies ThroughputContender[];
  }),
);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `fresh`: every measured run gets a dev server of its own (the run's workflow bundle is reused), so
 * no run sees the histories of the runs before it; `shared`: all runs use the run's server.
 */
export const SERVER_MODE_ENV = 'BENCH_THROUGHPUT_SERVER';

/** A new in-memory dev server with a client, using `base`'s workflow bundle; `close()` stops it. */
export async function freshServerEnv(base: BenchEnv): Promise<BenchEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-bench-tp-'));
  const server = await startDevServer({ logFile: join(dir, 'temporal-dev-server.log'), log: () => {} }).catch(
    (error: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    },
  );
  try {
    const connection = await Connection.connect({ address: server.address });
    return {
      address: server.address,
      client: new Client({ connection }),
      bundlePath: base.bundlePath,
      async close() {
        await connection.close();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Runs `tasks` activities, spread over `workflows` workflows started at once, through a Worker in a
 * child process (a hung Worker cannot take the benchmark down with it); gives up after `limitMs`.
 */
export async function runOnce(
  env: BenchEnv,
  contender: ThroughputContender,
  tasks: number,
  workflows: number,
  workMs: number,
  limitMs: number,
): Promise<Omit<ThroughputRun, 'contender' | 'round'>> {
  const taskQueue = uniqueQueue(`tp-${contender.id}`);
  const child = await spawnWorkerChild({
    env,
    spec: contender.spec,
    raw: contender.raw ?? false,
    taskQueue,
    sampleMs: 1000,
    // One IPC message per permit, sent by the slotwise Worker only: work the built-in did not do.
    reportGrants: false,
  });
  const handles: WorkflowHandle[] = [];
  try {
    await Promise.race([
      child.ready,
      sleep(90_000).then(() => {
        throw new Error(`${contender.label}: worker not ready after 90 s`);
      }),
    ]);
    const perWorkflow = Math.ceil(tasks / workflows);
    const cpu0 = await child.cpuUsage('start');
    const t0 = performance.now();
    for (let w = 0; w < workflows && w * perWorkflow < tasks; w++) {
      handles.push(
        await env.client.workflow.start('burstWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-${w}`,
          args: [
            {
              activity: 'quick',
              count: Math.min(perWorkflow, tasks - w * perWorkflow),
              first: w * perWorkflow,
              args: { workMs },
              eager: contender.eager,
            },
          ],
        }),
      );
    }
    let hung = false;
    await Promise.race([
      Promise.all(handles.map((h) => h.result())),
      child.exited.then(() => {
        throw new Error(`${contender.label}: the worker exited during the run: ${child.errors.join('; ')}`);
      }),
      sleep(limitMs).then(() => {
        hung = true;
      }),
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = await child.cpuUsage('end');
    const starts = child.events.filter((e) => e.type === 'start');
    const completed = child.events.filter((e) => e.type === 'end').length;
    const s2s = starts.map((e) => e.t - (e.scheduledMs ?? e.t));
    return {
      tasks,
      completed,
      hung,
      seconds,
      tasksPerSecond: hung ? completed / seconds : tasks / seconds,
      scheduleToStartP50Ms: quantile(s2s, 0.5),
      scheduleToStartP99Ms: quantile(s2s, 0.99),
      scheduleToStartMaxMs: s2s.length ? Math.max(...s2s) : Number.NaN,
      cpuUsPerTask: cpuMicrosPerTask(cpu0, cpu1, completed),
      cpuCores: coresBusy(cpu0, cpu1, seconds),
      loopBusy: loopUtilization(cpu0, cpu1),
    };
  } finally {
    await child.stop(3000);
    await Promise.all(handles.map((h) => h.terminate('benchmark run ended').catch(() => {})));
  }
}

/** Scenario 2: tasks/s and schedule-to-start, slotwise FixedSlotSupplier against fixed-size. */
export const throughput: Scenario = {
  name: 'throughput',
  title: '2 throughput',
  run: runThroughput,
};

async function runThroughput(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, log } = ctx;
  const env = await ctx.env();
  const tasks = args.quick ? 100 : 2000;
  const workflows = args.quick ? 5 : 20;
  const workMs = 10;
  const limitMs = args.quick ? 60_000 : 90_000;
  // Quick: the 50-slot contenders only; the 500-slot ones run the same code with a larger number.
  const list = args.quick
    ? THROUGHPUT_CONTENDERS.filter((c) => c.slots === SLOT_COUNTS[0])
    : THROUGHPUT_CONTENDERS;
  const slotCounts = [...new Set(list.map((c) => c.slots))];
  // Warm-up: JIT, server caches, one Worker each; not recorded (and skipped by the smoke run).
  if (!args.quick) {
    for (const c of THROUGHPUT_CONTENDERS) await runOnce(env, c, 200, 10, workMs, limitMs);
  }
  const refOf = (id: string) => id.replace(/^(slotwise|floor)-/, 'builtin-');
  // A server given with --address cannot be started afresh.
  const freshServers = process.env[SERVER_MODE_ENV] === 'fresh' && args.address === null;
  const runs: ThroughputRun[] = [];
  for (let round = 0; round < args.rounds; round++) {
    // Each built-in reference runs right beside the contenders measured against it (slotwise, and
    // the floor where there is one), each taking every place in the group in turn.
    const pairs = list
      .filter((c) => c.builtIn)
      .map((b) => list.filter((x) => x.id === b.id || (!x.builtIn && refOf(x.id) === b.id)));
    for (const c of pairedOrder(pairs, round)) {
      const runEnv = freshServers ? await freshServerEnv(env) : env;
      let r: Awaited<ReturnType<typeof runOnce>>;
      try {
        r = await runOnce(runEnv, c, tasks, workflows, workMs, limitMs);
      } finally {
        if (runEnv !== env) await runEnv.close();
      }
      runs.push({ contender: c.id, round, ...r });
      log(
        `round ${round + 1} ${c.label}: ${r.hung ? `HUNG (${r.completed}/${tasks} done in ${limitMs / 1000} s), ` : ''}${fmt(r.tasksPerSecond, 0)} tasks/s, schedule-to-start p50 ${fmt(r.scheduleToStartP50Ms, 0)} ms p99 ${fmt(r.scheduleToStartP99Ms, 0)} ms, Worker CPU ${fmt(r.cpuUsPerTask, 0)} us/task (${fmt(r.cpuCores, 2)} cores, main loop busy ${fmt(r.loopBusy, 2)})`,
      );
    }
  }
  // Eager dispatch with one large workflow task and a full supplier: core asks tryReserveSlot for
  // every activity the workflow task schedules (it stops after 3 granted, never after a refusal);
  // past 128 calls in one completion the Worker used to stop for good.
  const hangTasks = args.quick ? 200 : 400;
  const hangSlots = 2;
  const hangLimitMs = args.quick ? 8000 : 20_000;
  const hangChecks: Array<{ contender: string; completed: number; hung: boolean; seconds: number }> = [];
  const hangContenders: ThroughputContender[] = [
    {
      id: 'slotwise-fixed-eager-raw',
      label: `slotwise FixedSlotSupplier(${hangSlots}), eager on, Worker options as given`,
      builtIn: false,
      eager: true,
      slots: hangSlots,
      raw: true,
      spec: { kind: 'slotwise-fixed', slots: hangSlots },
    },
    {
      id: 'slotwise-fixed-eager',
      label: `slotwise FixedSlotSupplier(${hangSlots}), eager on, slotwiseWorkerOptions()`,
      builtIn: false,
      eager: true,
      slots: hangSlots,
      spec: { kind: 'slotwise-fixed', slots: hangSlots },
    },
    {
      id: 'builtin-fixed-eager',
      label: `Temporal fixed-size(${hangSlots}), eager on`,
      builtIn: true,
      eager: true,
      slots: hangSlots,
      spec: { kind: 'fixed-size', numSlots: hangSlots },
    },
  ];
  for (const c of hangContenders) {
    const r = await runOnce(env, c, hangTasks, 1, workMs, hangLimitMs);
    hangChecks.push({ contender: c.id, completed: r.completed, hung: r.hung, seconds: r.seconds });
    log(
      `one workflow scheduling ${hangTasks} activities, ${c.label}: ${r.hung ? `HUNG: ${r.completed}/${hangTasks} done after ${hangLimitMs / 1000} s` : `done in ${fmt(r.seconds, 1)} s`}`,
    );
  }

  const of = (id: string, key: keyof ThroughputRun) =>
    runs
      .filter((r) => r.contender === id)
      .sort((a, b) => a.round - b.round)
      .map((r) => r[key] as number);
  const ratios = Object.fromEntries(
    list
      .filter((c) => !c.builtIn)
      .map((c) => [
        c.id,
        {
          tp: ratioSummary(of(c.id, 'tasksPerSecond'), of(refOf(c.id), 'tasksPerSecond')),
          p50: ratioSummary(of(c.id, 'scheduleToStartP50Ms'), of(refOf(c.id), 'scheduleToStartP50Ms')),
          p99: ratioSummary(of(c.id, 'scheduleToStartP99Ms'), of(refOf(c.id), 'scheduleToStartP99Ms')),
          cpu: ratioSummary(of(c.id, 'cpuUsPerTask'), of(refOf(c.id), 'cpuUsPerTask')),
        },
      ]),
  );
  const rows = list.map((c) => {
    const r = ratios[c.id];
    const hung = runs.filter((x) => x.contender === c.id && x.hung).length;
    return [
      c.label,
      fmtSummary(summarize(of(c.id, 'tasksPerSecond')), 0),
      fmtSummary(summarize(of(c.id, 'scheduleToStartP50Ms')), 0),
      fmtSummary(summarize(of(c.id, 'scheduleToStartP99Ms')), 0),
      `${hung}/${args.rounds}`,
      r ? fmtSummary(r.tp, 3) : '1',
      r ? fmtSummary(r.p50, 2) : '1',
      r ? fmtSummary(r.p99, 2) : '1',
      fmtSummary(summarize(of(c.id, 'cpuUsPerTask')), 0),
      r ? fmtSummary(r.cpu, 3) : '1',
      fmtSummary(summarize(of(c.id, 'loopBusy')), 2),
    ];
  });
  const slotwiseHang = hangChecks.find((h) => h.contender === 'slotwise-fixed-eager');
  const rawHang = hangChecks.find((h) => h.contender === 'slotwise-fixed-eager-raw');
  const builtinHang = hangChecks.find((h) => h.contender === 'builtin-fixed-eager');
  const builtinRuns = runs.filter((r) => r.contender.startsWith('builtin-'));
  const builtinHung = builtinRuns.filter((r) => r.hung);
  const ours = list.filter((c) => !c.builtIn && !c.floor);
  const floors = list.filter((c) => c.floor);
  /** slotwise / the floor, per round, where the same slots and eager setting have a floor. */
  const overFloor = ours.flatMap((c) => {
    const f = floors.find((x) => refOf(x.id) === refOf(c.id));
    return f
      ? [
          {
            c,
            tp: ratioSummary(of(c.id, 'tasksPerSecond'), of(f.id, 'tasksPerSecond')),
            cpu: ratioSummary(of(c.id, 'cpuUsPerTask'), of(f.id, 'cpuUsPerTask')),
          },
        ]
      : [];
  });
  return {
    settings: {
      tasks,
      slotCounts,
      workflows,
      workMs,
      workflowTaskSlots: 20,
      server: freshServers ? 'fresh per run' : 'shared',
      limitMs,
      hangTasks,
      hangSlots,
      hangLimitMs,
    },
    preconditions: [
      machineAllows(
        `every Temporal fixed-size run completes its ${tasks} activities within ${limitMs / 1000} s (the reference works)`,
        builtinHung.length === 0,
        builtinHung.length === 0
          ? `${builtinRuns.length} runs completed`
          : builtinHung.map((r) => `${r.contender} round ${r.round + 1}: ${r.completed}/${tasks}`).join(', '),
      ),
      machineAllows(
        `Temporal fixed-size(${hangSlots}) completes the one-workflow check within ${hangLimitMs / 1000} s (the reference works)`,
        builtinHang !== undefined && !builtinHang.hung,
        describeHang(builtinHang, hangTasks, hangLimitMs),
      ),
    ],
    tables: [
      {
        title: `Scenario 2 - throughput: ${tasks} activities (${workMs} ms each) through ${slotCounts.join(' and ')} slots, real Worker (own process) + dev server; median [min..max] of ${args.rounds} interleaved rounds`,
        headers: [
          'activity supplier',
          'tasks/s',
          's2s p50 ms',
          's2s p99 ms',
          'hung',
          'tasks/s ratio',
          'p50 ratio',
          'p99 ratio',
          'Worker CPU us/task',
          'CPU ratio',
          'main loop busy',
        ],
        rows,
        notes: [
          'ratio = slotwise (or the floor) / built-in with the same slots and eager setting, per round (they run back to back, each first in turn), median [min..max]; tasks/s: higher is better, schedule-to-start (s2s) and CPU: lower is better.',
          `the floor = a bare custom supplier (a count and a queue of waiters, nothing else; bench/lib/suppliers.ts FloorSlotSupplier), wired as the SDK documents, without slotwise: it pays what every custom supplier pays (core calling into the JS thread at reserve, mark used and release, the bridge's wrapping of each permit) and almost nothing of its own.${
            overFloor.length
              ? ` slotwise / the floor, median [min..max] per round: ${overFloor
                  .map((o) => `${o.c.label} tasks/s ${fmtSummary(o.tp, 3)}, CPU ${fmtSummary(o.cpu, 3)}`)
                  .join('; ')}.`
              : ''
          }`,
          "Worker CPU us/task = the Worker process's CPU time (process.cpuUsage(): user + system, every thread: JS, core's Rust threads, GC) from the first workflow started to the last result, over the activities completed. It counts the Worker's own work per activity, whatever the dev server's speed, so it shows a per-activity cost where tasks/s (bound by the server on this machine) is too noisy to. It includes the benchmark's own two IPC messages per activity (start and end), the same for every contender.",
          "main loop busy = the Worker's main-thread event-loop utilization over the same window: every call core makes into a custom supplier (reserve, mark used, release) waits for that loop, the built-in's do not.",
          `All ${tasks} activities are scheduled at once (${workflows} workflows x ${Math.ceil(tasks / workflows)}), so schedule-to-start is mostly time spent in the backlog.`,
          'Workflow, local-activity and Nexus slots are Temporal fixed-size for both; only the activity supplier differs.',
          'eager on = allowEagerDispatch (the SDK default): core then calls tryReserveSlot once per scheduled activity; for a custom supplier each call blocks a Rust thread on the JS event loop.',
          `hung = runs that did not finish within ${limitMs / 1000} s (tasks/s then counts what completed).`,
          `One workflow scheduling ${hangTasks} activities with eager on, ${hangSlots} slots: slotwise wired with slotwiseWorkerOptions() ${describeHang(slotwiseHang, hangTasks, hangLimitMs)}; with the Worker options as given ${describeHang(rawHang, hangTasks, hangLimitMs)}; built-in ${describeHang(builtinHang, hangTasks, hangLimitMs)}.`,
          'slotwise Workers are wired as slotwise tells users to, with slotwiseWorkerOptions(): eager activity reservations off (maxEagerActivityReservationsPerWorkflowTask 0) and slotwise\'s activity interceptor added. So the "eager on" rows compare slotwise without eager dispatch against the built-in with it.',
        ],
      },
    ],
    verdicts: [
      ...ours.map((c) => {
        const tp = ratios[c.id]!.tp;
        return {
          target: `${c.label} >= 0.95 of fixed-size(${c.slots})${c.eager ? ', eager on' : ''} tasks/s`,
          met: tp.median >= 0.95,
          note: `median ratio ${fmt(tp.median, 3)} (rounds ${fmt(tp.min, 3)}..${fmt(tp.max, 3)})`,
        };
      }),
      {
        target: `a workflow scheduling ${hangTasks} activities at once completes (eager on, ${hangSlots} slots, slotwiseWorkerOptions())`,
        met: slotwiseHang ? !slotwiseHang.hung : null,
        note: `slotwise ${describeHang(slotwiseHang, hangTasks, hangLimitMs)}; built-in ${describeHang(builtinHang, hangTasks, hangLimitMs)}`,
      },
      {
        target: "the same with the Worker options as given (the SDK's own eager path; for comparison)",
        met: null,
        note: `slotwise ${describeHang(rawHang, hangTasks, hangLimitMs)}`,
      },
      ...floors.map((f) => {
        const tp = ratios[f.id]!.tp;
        return {
          target: `${f.label}, the same measure (what any custom supplier pays; for comparison)`,
          met: null,
          note: `median ratio ${fmt(tp.median, 3)} (rounds ${fmt(tp.min, 3)}..${fmt(tp.max, 3)})`,
        };
      }),
    ],
    figures: [
      ...list.map((c) => ({
        id: `tasks-per-s/${c.id}`,
        label: `${c.label}: tasks/s`,
        value: median(of(c.id, 'tasksPerSecond')),
        unit: 'tasks/s',
        digits: 0,
      })),
      ...[...ours, ...floors].map((c) => ({
        id: `tasks-per-s-ratio/${c.id}`,
        label: `${c.label}: tasks/s / built-in`,
        value: ratios[c.id]!.tp.median,
        unit: 'ratio',
        digits: 3,
      })),
      ...list.map((c) => ({
        id: `cpu-us-per-task/${c.id}`,
        label: `${c.label}: Worker CPU per activity`,
        value: median(of(c.id, 'cpuUsPerTask')),
        unit: 'us',
        digits: 0,
      })),
      ...[...ours, ...floors].map((c) => ({
        id: `cpu-ratio/${c.id}`,
        label: `${c.label}: Worker CPU per activity / built-in`,
        value: ratios[c.id]!.cpu.median,
        unit: 'ratio',
        digits: 3,
      })),
      ...overFloor.flatMap(({ c, tp, cpu }) => {
        return [
          {
            id: `tasks-per-s-over-floor/${c.id}`,
            label: `${c.label}: tasks/s / the floor`,
            value: tp.median,
            unit: 'ratio',
            digits: 3,
          },
          {
            id: `cpu-over-floor/${c.id}`,
            label: `${c.label}: Worker CPU per activity / the floor`,
            value: cpu.median,
            unit: 'ratio',
            digits: 3,
          },
        ];
      }),
    ],
    data: { runs, hangChecks },
  };
}

function describeHang(
  check: { hung: boolean; completed: number; seconds: number } | undefined,
  tasks: number,
  limitMs: number,
): string {
  if (!check) return 'not run';
  return check.hung
    ? `HUNG (${check.completed}/${tasks} after ${limitMs / 1000} s)`
    : `completed in ${fmt(check.seconds, 1)} s`;
}

if (isMain(import.meta.url)) runAsScript(throughput);
