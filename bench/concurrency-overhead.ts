// Scenario 7: the cost of withConcurrency() when its limits do not bind.
//
//   npx tsx bench/concurrency-overhead.ts            # the scenario alone (rounds as the runner says)
//   npx tsx bench/concurrency-overhead.ts --quick    # 20 runs over 2 keys, and 20 over 8 keys and 4
//                                                    # shards, one round: a smoke run
//
// N workflows of one short activity each, started at once, with and without withConcurrency() around
// the activity (maxRuns = N, so no run ever waits for another), same server, same in-process Worker
// (with the slotwise concurrency activities), rounds interleaved: odd rounds run the plain workflows
// first, even rounds withConcurrency first. Seconds from the first start to the last result, and the
// ratio withConcurrency / plain of the same round. Three groups: 10 keys on one controller, 40 keys
// over 4 controller shards, and 200 keys (one per run) on one controller.
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { concurrencyActivities } from '../src/activities/concurrency-activities.js';
import { slotwiseWorkerOptions } from '../src/worker/slotwise-worker-options.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../src/workflows/concurrency/signals.js';
import type { ConcurrencyStats } from '../src/workflows/concurrency/types.js';
import { BENCH_DIR } from './lib/results.js';
import { runAsScript } from './lib/runner.js';
import {
  isMain,
  machineAllows,
  precondition,
  type Scenario,
  type ScenarioContext,
  type ScenarioReport,
} from './lib/scenario.js';
import { fmt, fmtSummary, summarize } from './lib/stats.js';
import { errorsOnlyLogger, uniqueQueue } from './lib/temporal.js';

/** The issue's target: withConcurrency() at most this many times the plain workflows' time. */
const TARGET_RATIO = 1.3;
/** A round whose workflows have not all finished by then failed (something is stuck). */
const ROUND_LIMIT_MS = 300_000;

interface Case {
  id: string;
  runs: number;
  keys: number;
  shards: number;
  workMs: number;
}

interface CaseRound {
  round: number;
  plainSeconds: number;
  limitedSeconds: number;
  ratio: number;
  /** Both kinds returned what each workflow should (its activity's result), all of them. */
  completed: { plain: number; limited: number };
  /** The controllers' counters after the round, summed over shards. */
  stats: ConcurrencyStats;
  /** Continue-as-new generations of the controllers after the round, summed over shards. */
  generations: number;
  /** Grants per controller shard after the round (one entry without shards). */
  grantedPerShard: number[];
  /** What the controllers' histories hold after the round, summed over shards and their runs. */
  controllerEvents: ControllerEventCounts;
}

/** Events of the controllers' histories that cost them work: the inputs and the tasks that took them. */
interface ControllerEventCounts {
  workflowTasks: number;
  acquireUpdates: number;
  releaseSignals: number;
  /** Every other signal (single requests and releases of runs that fell back to signals). */
  otherSignals: number;
}

function casesOf(quick: boolean): Case[] {
  // The quick form keeps one sharded case (8 keys: 2 per shard), so the smoke run exercises shards too.
  if (quick)
    return [
      { id: 'quick', runs: 20, keys: 2, shards: 1, workMs: 50 },
      { id: 'quick-4-shards', runs: 20, keys: 8, shards: 4, workMs: 50 },
    ];
  return [
    { id: '10-keys', runs: 200, keys: 10, shards: 1, workMs: 100 },
    { id: '40-keys-4-shards', runs: 200, keys: 40, shards: 4, workMs: 100 },
    // A key per run on one controller: does the overhead grow with the keys a controller serves?
    { id: '200-keys', runs: 200, keys: 200, shards: 1, workMs: 100 },
  ];
}

async function measure(ctx: ScenarioContext): Promise<ScenarioReport> {
  try {
    // The Worker runs in this process: keep its INFO lines out of the report.
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Another scenario of this run already made the process's Runtime: its logger stays.
  }
  const env = await ctx.env();
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(BENCH_DIR, 'concurrency-workflows.ts'),
    logger: errorsOnlyLogger,
  });
  const connection = await NativeConnection.connect({ address: env.address });
  const taskQueue = uniqueQueue('bench-concurrency');
  try {
    // As users wire it: slotwiseWorkerOptions() adds the release sink for the concurrency activities.
    const worker = await Worker.create(
      slotwiseWorkerOptions({
        connection,
        taskQueue,
        workflowBundle: { code },
        activities: {
          ...concurrencyActivities,
          async work(ms: number) {
            await Context.current().sleep(ms);
            return ms;
          },
        },
      }),
    );
    const cases = casesOf(ctx.args.quick);
    const results = new Map<string, CaseRound[]>(cases.map((c) => [c.id, []]));
    await worker.runUntil(async () => {
      // Bundle loaded, pollers up, the first workflow tasks' costs paid before anything is timed.
      const warmUp = { ...cases[0]!, runs: 5 };
      await timeKind(env.client, taskQueue, warmUp, 'plain', `${taskQueue}-warm-up`);
      await timeKind(env.client, taskQueue, warmUp, 'limited', `${taskQueue}-warm-up`);
      for (let round = 1; round <= ctx.args.rounds; round++) {
        for (const c of cases) {
          const r = await measureRound(env.client, taskQueue, c, round);
          results.get(c.id)!.push(r);
          ctx.log(
            `round ${round} ${c.runs} runs over ${c.keys} keys${c.shards > 1 ? ` (${c.shards} shards)` : ''}: plain ${fmt(r.plainSeconds)} s, withConcurrency ${fmt(r.limitedSeconds)} s, ratio ${fmt(r.ratio)}; controller granted ${r.stats.granted}, released ${r.stats.released}, reclaimed ${r.stats.reclaimed}, continued as new ${r.generations}x; controller workflow tasks ${r.controllerEvents.workflowTasks} for ${r.controllerEvents.acquireUpdates} acquire updates, ${r.controllerEvents.releaseSignals} release signals, ${r.controllerEvents.otherSignals} other signals`,
          );
        }
      }
    });
    return report(cases, results, ctx.args.rounds);
  } finally {
    await connection.close();
  }
}

async function measureRound(client: Client, taskQueue: string, c: Case, round: number): Promise<CaseRound> {
  const group = `${taskQueue}-${c.id}-${round}`;
  const order: Array<'plain' | 'limited'> = round % 2 === 1 ? ['plain', 'limited'] : ['limited', 'plain'];
  const seconds: Record<string, number> = {};
  const completed: Record<string, number> = {};
  for (const kind of order) {
    const timed = await timeKind(client, taskQueue, c, kind, group);
    seconds[kind] = timed.seconds;
    completed[kind] = timed.completed;
  }
  const query = () =>
    Promise.all(
      Array.from({ length: c.shards }, (_, index) =>
        client.workflow
          .getHandle(concurrencyControllerId(group, c.shards > 1 ? { index, count: c.shards } : undefined))
          .query(concurrencyStateQuery),
      ),
    );
  // The last releases were sent before their runs completed; give the controllers a moment to apply them.
  let snapshots = await query();
  for (let tries = 0; tries < 40 && snapshots.reduce((n, s) => n + s.stats.released, 0) < c.runs; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    snapshots = await query();
  }
  const stats: ConcurrencyStats = { granted: 0, released: 0, cancelled: 0, rejected: 0, reclaimed: 0 };
  const controllerEvents: ControllerEventCounts = {
    workflowTasks: 0,
    acquireUpdates: 0,
    releaseSignals: 0,
    otherSignals: 0,
  };
  for (let index = 0; index < c.shards; index++) {
    const shard = c.shards > 1 ? { index, count: c.shards } : undefined;
    const counts = await controllerEventsOf(client, concurrencyControllerId(group, shard));
    for (const k of Object.keys(counts) as Array<keyof ControllerEventCounts>)
      controllerEvents[k] += counts[k];
  }
  for (const s of snapshots)
    for (const k of Object.keys(stats) as Array<keyof ConcurrencyStats>) stats[k]! += s.stats[k] ?? 0;
  return {
    round,
    plainSeconds: seconds.plain!,
    limitedSeconds: seconds.limited!,
    ratio: seconds.limited! / seconds.plain!,
    completed: { plain: completed.plain!, limited: completed.limited! },
    stats,
    generations: snapshots.reduce((sum, s) => sum + s.generation, 0),
    grantedPerShard: snapshots.map((s) => s.stats.granted),
    controllerEvents,
  };
}

/** Counts over every run of the controller `workflowId`, the latest first, back through its continue-as-new chain. */
async function controllerEventsOf(client: Client, workflowId: string): Promise<ControllerEventCounts> {
  const counts: ControllerEventCounts = {
    workflowTasks: 0,
    acquireUpdates: 0,
    releaseSignals: 0,
    otherSignals: 0,
  };
  for (let runId: string | undefined, runs = 0; runs < 100; runs++) {
    const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    for (const event of events ?? []) {
      if (event.workflowTaskCompletedEventAttributes) counts.workflowTasks++;
      else if (event.workflowExecutionUpdateAcceptedEventAttributes) counts.acquireUpdates++;
      else if (event.workflowExecutionSignaledEventAttributes) {
        if (event.workflowExecutionSignaledEventAttributes.signalName === 'slotwise.concurrency.releaseBatch')
          counts.releaseSignals++;
        else counts.otherSignals++;
      }
    }
    runId = events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  return counts;
}

/** Starts `c.runs` workflows of `kind` at once; seconds until the last result, and how many returned right. */
async function timeKind(
  client: Client,
  taskQueue: string,
  c: Case,
  kind: 'plain' | 'limited',
  group: string,
): Promise<{ seconds: number; completed: number }> {
  const began = performance.now();
  const handles = await Promise.all(
    Array.from({ length: c.runs }, (_, i) =>
      kind === 'plain'
        ? client.workflow.start('plainRunWorkflow', {
            taskQueue,
            workflowId: `${group}-plain-${i}`,
            args: [c.workMs],
          })
        : client.workflow.start('limitedRunWorkflow', {
            taskQueue,
            workflowId: `${group}-limited-${i}`,
            args: [
              c.workMs,
              {
                group,
                key: `key-${i % c.keys}`,
                maxRuns: c.runs,
                ...(c.shards > 1 ? { controller: { shards: c.shards } } : {}),
              },
            ],
          }),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${kind} workflows of ${group} not all done after ${ROUND_LIMIT_MS} ms`)),
      ROUND_LIMIT_MS,
    );
  });
  try {
    const values = await Promise.race([
      Promise.all(handles.map((h) => h.result() as Promise<number>)),
      limit,
    ]);
    return {
      seconds: (performance.now() - began) / 1000,
      completed: values.filter((v) => v === c.workMs).length,
    };
  } finally {
    clearTimeout(timer);
  }
}

function report(cases: Case[], results: Map<string, CaseRound[]>, rounds: number): ScenarioReport {
  const summaries = cases.map((c) => {
    const rs = results.get(c.id)!;
    return {
      c,
      rs,
      plain: summarize(rs.map((r) => r.plainSeconds)),
      limited: summarize(rs.map((r) => r.limitedSeconds)),
      ratio: summarize(rs.map((r) => r.ratio)),
    };
  });
  const all = summaries.flatMap((s) => s.rs.map((r) => ({ c: s.c, r })));
  const incomplete = all.filter(({ c, r }) => r.completed.plain !== c.runs || r.completed.limited !== c.runs);
  const unclean = all.filter(
    ({ c, r }) => r.stats.granted !== c.runs || r.stats.released !== c.runs || r.stats.reclaimed !== 0,
  );
  const idleShards = all.filter(({ c, r }) => c.shards > 1 && r.grantedPerShard.some((n) => n === 0));
  const spread = summaries.map((s) => s.plain.max / s.plain.min);
  const label = (c: Case) => `${c.runs} runs / ${c.keys} keys${c.shards > 1 ? ` / ${c.shards} shards` : ''}`;
  return {
    settings: {
      cases,
      targetRatio: TARGET_RATIO,
      worker: 'in-process, default slots, concurrencyActivities',
    },
    preconditions: [
      precondition(
        'every workflow returned its activity result, with and without withConcurrency()',
        incomplete.length === 0,
        incomplete.length === 0
          ? `all ${all.reduce((n, { c }) => n + 2 * c.runs, 0)} runs`
          : incomplete
              .map(
                ({ c, r }) =>
                  `${c.id} round ${r.round}: ${r.completed.plain}+${r.completed.limited}/${2 * c.runs}`,
              )
              .join(', '),
      ),
      precondition(
        'the limits did not bind and every grant was given back by its run: granted = released = runs, none reclaimed',
        unclean.length === 0,
        all
          .map(
            ({ c, r }) =>
              `${c.id} round ${r.round}: granted ${r.stats.granted}, released ${r.stats.released}, reclaimed ${r.stats.reclaimed}`,
          )
          .join('; '),
      ),
      precondition(
        'every shard of a sharded case granted runs (the group was spread over its controllers)',
        idleShards.length === 0,
        all
          .filter(({ c }) => c.shards > 1)
          .map(({ c, r }) => `${c.id} round ${r.round}: granted per shard ${r.grantedPerShard.join(', ')}`)
          .join('; '),
      ),
      machineAllows(
        'the plain rounds of a case agree within 2x (else the machine, not withConcurrency, decides the ratio)',
        spread.every((x) => x <= 2),
        summaries.map((s, i) => `${s.c.id}: max/min ${fmt(spread[i]!)}`).join(', '),
      ),
    ],
    tables: [
      {
        title: `Scenario 7 - withConcurrency() overhead when limits do not bind (in-process Worker + dev server); median [min..max] of ${rounds} rounds`,
        headers: ['case', 'plain s', 'withConcurrency s', 'ratio', 'target'],
        rows: summaries.map((s) => [
          label(s.c),
          fmtSummary(s.plain),
          fmtSummary(s.limited),
          fmtSummary(s.ratio),
          `<= ${TARGET_RATIO}`,
        ]),
        notes: [
          `Each workflow runs one activity of ${cases[0]!.workMs} ms; withConcurrency() uses maxRuns = runs, so no run waits for another: what it adds is asking (a local activity; a Worker process gathers the requests to one controller made at the same time into one update), releasing (through the Worker sink slotwiseWorkerOptions() adds: nothing in the run's history; a process's releases to one controller go as one signal) and the controller's own workflow tasks on the same Worker.`,
          'Ratio = withConcurrency seconds / plain seconds of the same round; rounds alternate which goes first.',
        ],
      },
      {
        title: 'Scenario 7 - what the controllers took per round (their histories, summed over shards)',
        headers: ['case', 'controller workflow tasks', 'acquire updates', 'release signals', 'other signals'],
        rows: summaries.map((s) => {
          const per = (k: keyof ControllerEventCounts) => s.rs.map((r) => r.controllerEvents[k]).join(', ');
          return [
            label(s.c),
            per('workflowTasks'),
            per('acquireUpdates'),
            per('releaseSignals'),
            per('otherSignals'),
          ];
        }),
        notes: [
          'Every update and signal that reaches a controller costs it history events, and a workflow task unless it arrives while one is pending; other signals are runs that asked or released by signal (their activity ran out of time).',
        ],
      },
    ],
    verdicts: summaries.map((s) => ({
      target: `withConcurrency() <= ${TARGET_RATIO}x the plain workflows, limits not binding (${label(s.c)})`,
      met: s.ratio.median <= TARGET_RATIO,
      note: `median ratio ${fmt(s.ratio.median)} (rounds ${fmt(s.ratio.min)}..${fmt(s.ratio.max)})`,
    })),
    figures: summaries.flatMap((s) => [
      {
        id: `ratio/${s.c.id}`,
        label: `withConcurrency / plain, ${label(s.c)}`,
        value: s.ratio.median,
        unit: 'ratio',
      },
      { id: `plain-s/${s.c.id}`, label: `plain, ${label(s.c)}`, value: s.plain.median, unit: 's' },
      {
        id: `limited-s/${s.c.id}`,
        label: `withConcurrency, ${label(s.c)}`,
        value: s.limited.median,
        unit: 's',
      },
    ]),
    data: { cases: summaries.map((s) => ({ case: s.c, rounds: s.rs })) },
  };
}

/** Scenario 7: withConcurrency() overhead when its limits do not bind. */
export const concurrencyOverhead: Scenario = {
  name: 'concurrency-overhead',
  title: '7 withConcurrency overhead',
  run: measure,
};

if (isMain(import.meta.url)) runAsScript(concurrencyOverhead);
