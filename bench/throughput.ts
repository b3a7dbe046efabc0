// Scenario 2: throughput through a real Worker on the dev server.
//
// 2000 short activities through 50 activity slots: slotwise FixedSlotSupplier against Temporal's
// fixed-size supplier, same server, interleaved rounds, each Worker in its own process. Tasks per second and
// schedule-to-start latency (activity start minus the attempt's scheduled time, from activity info).
import type { WorkflowHandle } from '@temporalio/client';
import { spawnWorkerChild } from './lib/child-worker.js';
import { runAsScript } from './lib/runner.js';
import { isMain, precondition, rotate, type Scenario, type ScenarioContext } from './lib/scenario.js';
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
}

const SLOTS = 50;

interface ThroughputContender extends Contender {
  /** Let core dispatch activities eagerly (see bench/lib/workflows.ts). */
  eager: boolean;
}

export const THROUGHPUT_CONTENDERS: ThroughputContender[] = [
  {
    id: 'slotwise-fixed',
    label: 'slotwise FixedSlotSupplier(50)',
    builtIn: false,
    eager: false,
    spec: { kind: 'slotwise-fixed', slots: SLOTS },
  },
  {
    id: 'builtin-fixed',
    label: 'Temporal fixed-size(50)',
    builtIn: true,
    eager: false,
    spec: { kind: 'fixed-size', numSlots: SLOTS },
  },
  {
    id: 'slotwise-fixed-eager',
    label: 'slotwise FixedSlotSupplier(50), eager on',
    builtIn: false,
    eager: true,
    spec: { kind: 'slotwise-fixed', slots: SLOTS },
  },
  {
    id: 'builtin-fixed-eager',
    label: 'Temporal fixed-size(50), eager on',
    builtIn: true,
    eager: true,
    spec: { kind: 'fixed-size', numSlots: SLOTS },
  },
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `tasks` activities, spread over `workflows` workflows started at once, through a Worker in a
 * child process (a hung Worker cannot take the benchmark down with it); gives up after `limitMs`.
 */
async function runOnce(
  env: BenchEnv,
  contender: ThroughputContender,
  tasks: number,
  workflows: number,
  workMs: number,
  limitMs: number,
): Promise<Omit<ThroughputRun, 'contender' | 'round'>> {
  const taskQueue = uniqueQueue(`tp-${contender.id}`);
  const child = await spawnWorkerChild({ env, spec: contender.spec, taskQueue, sampleMs: 1000 });
  const handles: WorkflowHandle[] = [];
  try {
    await Promise.race([
      child.ready,
      sleep(90_000).then(() => {
        throw new Error(`${contender.label}: worker not ready after 90 s`);
      }),
    ]);
    const perWorkflow = Math.ceil(tasks / workflows);
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
  async run(ctx: ScenarioContext) {
    const { args, log } = ctx;
    const env = await ctx.env();
    const tasks = args.quick ? 400 : 2000;
    const workflows = 20;
    const workMs = 10;
    // Warm-up: JIT, server caches, one Worker each; not recorded.
    const limitMs = args.quick ? 30_000 : 60_000;
    for (const c of THROUGHPUT_CONTENDERS) await runOnce(env, c, Math.min(200, tasks), 10, workMs, limitMs);
    const runs: ThroughputRun[] = [];
    for (let round = 0; round < args.rounds; round++) {
      for (const c of rotate(THROUGHPUT_CONTENDERS, round)) {
        const r = await runOnce(env, c, tasks, workflows, workMs, limitMs);
        runs.push({ contender: c.id, round, ...r });
        log(
          `round ${round + 1} ${c.label}: ${r.hung ? `HUNG (${r.completed}/${tasks} done in ${limitMs / 1000} s), ` : ''}${fmt(r.tasksPerSecond, 0)} tasks/s, schedule-to-start p50 ${fmt(r.scheduleToStartP50Ms, 0)} ms p99 ${fmt(r.scheduleToStartP99Ms, 0)} ms`,
        );
      }
    }
    // Eager dispatch with one large workflow task and a full supplier: core asks tryReserveSlot for
    // every activity the workflow task schedules (it stops after 3 granted, never after a refusal).
    const hangTasks = 400;
    const hangSlots = 2;
    const hangLimitMs = args.quick ? 15_000 : 20_000;
    const hangChecks: Array<{ contender: string; completed: number; hung: boolean; seconds: number }> = [];
    const hangContenders: ThroughputContender[] = [
      {
        id: 'slotwise-fixed-eager',
        label: `slotwise FixedSlotSupplier(${hangSlots}), eager on`,
        builtIn: false,
        eager: true,
        spec: { kind: 'slotwise-fixed', slots: hangSlots },
      },
      {
        id: 'builtin-fixed-eager',
        label: `Temporal fixed-size(${hangSlots}), eager on`,
        builtIn: true,
        eager: true,
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
    const pairs: Record<string, string> = {
      'slotwise-fixed': 'builtin-fixed',
      'slotwise-fixed-eager': 'builtin-fixed-eager',
    };
    const ratios = Object.fromEntries(
      Object.entries(pairs).map(([ours, ref]) => [
        ours,
        {
          tp: ratioSummary(of(ours, 'tasksPerSecond'), of(ref, 'tasksPerSecond')),
          p50: ratioSummary(of(ours, 'scheduleToStartP50Ms'), of(ref, 'scheduleToStartP50Ms')),
          p99: ratioSummary(of(ours, 'scheduleToStartP99Ms'), of(ref, 'scheduleToStartP99Ms')),
        },
      ]),
    );
    const rows = THROUGHPUT_CONTENDERS.map((c) => {
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
      ];
    });
    const main = ratios['slotwise-fixed']!.tp;
    const eager = ratios['slotwise-fixed-eager']!.tp;
    const slotwiseHang = hangChecks.find((h) => h.contender === 'slotwise-fixed-eager');
    const builtinHang = hangChecks.find((h) => h.contender === 'builtin-fixed-eager');
    const builtinHung = runs.filter((r) => r.contender.startsWith('builtin-') && r.hung);
    return {
      settings: {
        tasks,
        slots: SLOTS,
        workflows,
        workMs,
        workflowTaskSlots: 20,
        limitMs,
        hangTasks,
        hangSlots,
      },
      preconditions: [
        precondition(
          `every Temporal fixed-size run completes its ${tasks} activities (the reference works)`,
          builtinHung.length === 0,
          builtinHung.length === 0
            ? `${runs.filter((r) => r.contender.startsWith('builtin-')).length} runs completed`
            : `${builtinHung.map((r) => `${r.contender} round ${r.round + 1}: ${r.completed}/${tasks}`).join(', ')} after ${limitMs / 1000} s`,
        ),
        precondition(
          `Temporal fixed-size(${hangSlots}) completes the one-workflow check (the reference works)`,
          builtinHang !== undefined && !builtinHang.hung,
          builtinHang?.hung
            ? `${builtinHang.completed}/${hangTasks} after ${hangLimitMs / 1000} s`
            : `completed in ${fmt(builtinHang?.seconds ?? Number.NaN, 1)} s`,
        ),
      ],
      tables: [
        {
          title: `Scenario 2 - throughput: ${tasks} activities (${workMs} ms each) through ${SLOTS} slots, real Worker (own process) + dev server; median [min..max] of ${args.rounds} interleaved rounds`,
          headers: [
            'activity supplier',
            'tasks/s',
            's2s p50 ms',
            's2s p99 ms',
            'hung',
            'tasks/s ratio',
            'p50 ratio',
            'p99 ratio',
          ],
          rows,
          notes: [
            'ratio = slotwise / built-in with the same eager setting, per round, median [min..max]; tasks/s: higher is better, schedule-to-start (s2s): lower is better.',
            `All ${tasks} activities are scheduled at once (${workflows} workflows x ${Math.ceil(tasks / workflows)}), so schedule-to-start is mostly time spent in the backlog.`,
            'Workflow, local-activity and Nexus slots are Temporal fixed-size for both; only the activity supplier differs.',
            'eager on = allowEagerDispatch (the SDK default): core then calls tryReserveSlot once per scheduled activity; for a custom supplier each call blocks a Rust thread on the JS event loop.',
            `hung = runs that did not finish within ${limitMs / 1000} s (tasks/s then counts what completed).`,
            `One workflow scheduling ${hangTasks} activities with eager on, ${hangSlots} slots: slotwise ${slotwiseHang?.hung ? `HUNG (${slotwiseHang.completed}/${hangTasks} after ${hangLimitMs / 1000} s)` : 'completed'}, built-in ${builtinHang?.hung ? `HUNG (${builtinHang.completed}/${hangTasks})` : `completed in ${fmt(builtinHang?.seconds ?? Number.NaN, 1)} s`}.`,
          ],
        },
      ],
      verdicts: [
        {
          target: 'slotwise FixedSlotSupplier >= 0.95 of fixed-size tasks/s (eager dispatch off)',
          met: main.median >= 0.95,
          note: `median ratio ${fmt(main.median, 3)} (rounds ${fmt(main.min, 3)}..${fmt(main.max, 3)})`,
        },
        {
          target:
            'slotwise FixedSlotSupplier >= 0.95 of fixed-size tasks/s (eager dispatch on, the SDK default)',
          met: eager.median >= 0.95,
          note: `median ratio ${fmt(eager.median, 3)} (rounds ${fmt(eager.min, 3)}..${fmt(eager.max, 3)})`,
        },
        {
          target: `a workflow scheduling ${hangTasks} activities at once completes (eager on, ${hangSlots} slots)`,
          met: slotwiseHang ? !slotwiseHang.hung : null,
          note: `slotwise ${slotwiseHang?.hung ? `hung: ${slotwiseHang.completed}/${hangTasks} done after ${hangLimitMs / 1000} s` : 'completed'}; built-in ${builtinHang?.hung ? 'hung' : 'completed'}`,
        },
      ],
      figures: [
        ...THROUGHPUT_CONTENDERS.map((c) => ({
          id: `tasks-per-s/${c.id}`,
          label: `${c.label}: tasks/s`,
          value: median(of(c.id, 'tasksPerSecond')),
          unit: 'tasks/s',
          digits: 0,
        })),
        {
          id: 'ratio/eager-off',
          label: 'tasks/s ratio, eager off',
          value: main.median,
          unit: 'ratio',
          digits: 3,
        },
        {
          id: 'ratio/eager-on',
          label: 'tasks/s ratio, eager on',
          value: eager.median,
          unit: 'ratio',
          digits: 3,
        },
      ],
      data: { runs, hangChecks },
    };
  },
};

if (isMain(import.meta.url)) runAsScript(throughput);
