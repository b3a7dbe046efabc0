// Scenario 3: memory guard in a memory-limited cgroup.
//
// The Worker runs in its own cgroup with a hard memory limit. A burst of activities each allocates
// and touches a large buffer and holds it for a while. MemorySlotSupplier (cgroup scope, with and
// without a declared per-task cost, at targets 0.9 and 0.95) against Temporal's resource-based
// tuner at 0.9, a fixed size that looked safe (limit / task size) and the largest fixed size that
// never OOMed here. Peak working set / limit, OOM kills, activities running on average against what
// the target allows, tasks completed per minute.
import { type CgroupRunResult, runInCgroup, workerPreconditions } from './lib/cgroup-run.js';
import { allowedTasks, taskFootprint } from './lib/memory-footprint.js';
import { runAsScript } from './lib/runner.js';
import {
  isMain,
  machineAllows,
  precondition,
  rotate,
  type Scenario,
  type ScenarioContext,
  type ScenarioReport,
} from './lib/scenario.js';
import { fmt, fmtSummary, median, ratioSummary, summarize } from './lib/stats.js';
import type { Contender } from './lib/suppliers.js';
import type { BenchEnv } from './lib/temporal.js';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** Settings of one memory-guard run. */
export interface MemoryGuardSettings {
  limitBytes: number;
  taskBytes: number;
  holdMs: number;
  tasks: number;
  /** The target of the built-in and of the first pair of slotwise suppliers. */
  target: number;
  /** The higher target the throughput goals are measured at. */
  highTarget: number;
  /**
   * The targets slotwise's suppliers run at (each with and without a declared cost): both, or in the
   * quick form only the higher one, whose verdicts include the throughput goals.
   */
  slotwiseTargets: number[];
}

/**
 * The settings of a run. The quick (smoke) form halves the cgroup and the task, so that the burst
 * still presses on the limit in a few seconds per contender.
 */
export function memoryGuardSettings(quick: boolean): MemoryGuardSettings {
  return quick
    ? {
        limitBytes: 1 * GIB,
        taskBytes: 128 * MIB,
        holdMs: 1000,
        tasks: 8,
        target: 0.9,
        highTarget: 0.95,
        slotwiseTargets: [0.95],
      }
    : {
        limitBytes: 2 * GIB,
        taskBytes: 256 * MIB,
        holdMs: 2500,
        tasks: 21,
        target: 0.9,
        highTarget: 0.95,
        slotwiseTargets: [0.9, 0.95],
      };
}

/** A slotwise contender: its target, and whether it declares the task size. */
interface SlotwiseMemory {
  id: string;
  target: number;
  declared: boolean;
}

function slotwiseContenders(s: MemoryGuardSettings): SlotwiseMemory[] {
  return s.slotwiseTargets.flatMap((target) => [
    { id: `slotwise-memory-cost-${target}`, target, declared: true },
    { id: `slotwise-memory-learned-${target}`, target, declared: false },
  ]);
}

/**
 * @param declaredBytes the cost the declared-cost contenders declare: the task's footprint as
 *   calibration measured it (what `slotwise costs` would print), not the nominal buffer size.
 */
function contenders(s: MemoryGuardSettings, bestFixed: number, declaredBytes: number): Contender[] {
  const naive = Math.floor(s.limitBytes / s.taskBytes);
  return [
    ...slotwiseContenders(s).map(
      (c): Contender => ({
        id: c.id,
        label: `MemorySlotSupplier ${c.target}, ${c.declared ? 'cost declared' : 'no cost'}`,
        builtIn: false,
        spec: {
          kind: 'slotwise-memory',
          options: {
            scope: 'cgroup',
            targetUtilization: c.target,
            ...(c.declared ? { costs: { default: { memoryBytes: declaredBytes } } } : {}),
          },
        },
      }),
    ),
    {
      id: 'builtin-resource',
      label: `Temporal resource-based mem ${s.target}`,
      builtIn: true,
      spec: { kind: 'resource-based', targetMemoryUsage: s.target, targetCpuUsage: 1 },
    },
    {
      id: 'builtin-fixed-naive',
      label: `Temporal fixed-size ${naive} (limit/task)`,
      builtIn: true,
      spec: { kind: 'fixed-size', numSlots: naive },
    },
    {
      id: 'builtin-fixed-best',
      label: `Temporal fixed-size ${bestFixed} (largest w/o OOM)`,
      builtIn: true,
      spec: { kind: 'fixed-size', numSlots: bestFixed },
    },
  ];
}

/**
 * Activities running, averaged over time from the first start to the last one: while the burst still
 * has a backlog, so a full supplier runs as many as it allows the whole time. `NaN` with fewer than
 * two starts.
 */
function meanRunning(r: CgroupRunResult): number {
  const starts = r.events.filter((e) => e.type === 'start').map((e) => e.t);
  if (starts.length < 2) return Number.NaN;
  const from = Math.min(...starts);
  const to = Math.max(...starts);
  if (to <= from) return Number.NaN;
  const changes = [
    ...starts.map((t) => [t, 1] as const),
    ...r.events.filter((e) => e.type === 'end' || e.type === 'error').map((e) => [e.t, -1] as const),
  ].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let area = 0;
  let last = from;
  for (const [t, delta] of changes) {
    if (t > from) {
      const until = Math.min(t, to);
      if (until > last) area += running * (until - last);
      last = Math.max(last, until);
    }
    running += delta;
  }
  return area / (to - from);
}

function oomed(r: CgroupRunResult): boolean {
  return (r.oomKills ?? 0) > 0 || (r.workerDied && r.exit?.signal === 'SIGKILL' && !r.exit.killedByUs);
}

function tasksPerMinute(r: CgroupRunResult): number {
  const span = r.workflowCompleted && r.lastCompletionS ? r.lastCompletionS : r.seconds;
  return span > 0 ? (r.completed / span) * 60 : 0;
}

async function runOne(env: BenchEnv, s: MemoryGuardSettings, c: Contender, round: number, tasks = s.tasks) {
  return runInCgroup({
    env,
    contender: c,
    round,
    cgroup: { memoryLimitBytes: s.limitBytes },
    workflow: {
      type: 'burstWorkflow',
      input: { activity: 'holdMemory', count: tasks, args: { bytes: s.taskBytes, holdMs: s.holdMs } },
    },
    durationMs: Math.max(60_000, tasks * s.holdMs + 30_000),
  });
}

/**
 * The largest fixed size below limit/task size that completes `2 x size` tasks without an OOM kill
 * (one calibration run per size, from the top down).
 */
async function calibrateBestFixed(
  env: BenchEnv,
  s: MemoryGuardSettings,
  log: (line: string) => void,
): Promise<{
  best: number;
  found: boolean;
  /** The run of the size found, or `null`. */
  run: CgroupRunResult | null;
  tried: Array<{ slots: number; oom: boolean; finished: boolean }>;
}> {
  const tried: Array<{
    slots: number;
    oom: boolean;
    finished: boolean;
    completed: number;
    peakRatio: number;
  }> = [];
  for (let k = Math.floor(s.limitBytes / s.taskBytes) - 1; k >= 1; k--) {
    const c: Contender = {
      id: `calib-fixed-${k}`,
      label: `fixed ${k}`,
      builtIn: true,
      spec: { kind: 'fixed-size', numSlots: k },
    };
    const r = await runOne(env, s, c, -1, 2 * k);
    const bad = oomed(r) || !r.workflowCompleted;
    tried.push({
      slots: k,
      oom: oomed(r),
      finished: r.workflowCompleted,
      completed: r.completed,
      peakRatio: r.peakWorkingSetBytes / s.limitBytes,
    });
    log(
      `calibration fixed-size ${k}: ${bad ? 'OOM / incomplete' : 'ok'}, peak ${fmt(r.peakWorkingSetBytes / s.limitBytes, 3)} of limit`,
    );
    if (!bad) return { best: k, found: true, run: r, tried };
  }
  return { best: 1, found: false, run: null, tried };
}

/** Scenario 3: OOM kills and peak memory of a burst in a memory-limited cgroup. */
export const memoryGuard: Scenario = {
  name: 'memory-guard',
  title: '3 memory guard',
  run: runMemoryGuard,
};

async function runMemoryGuard(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, log } = ctx;
  const env = await ctx.env();
  const s = memoryGuardSettings(args.quick);
  const calibration = await calibrateBestFixed(env, s, log);
  const measured = calibration.run ? taskFootprint(calibration.run, s.holdMs, calibration.best) : null;
  // Whole MiB, rounded up: what a user would write in `costs:`.
  const footprint = measured === null ? s.taskBytes : Math.ceil(measured / MIB) * MIB;
  log(
    measured === null
      ? `task footprint: not measured (no calibration samples with every task holding); using the buffer size ${s.taskBytes / MIB} MiB`
      : `task footprint: ${fmt(measured / MIB, 1)} MiB (buffer ${s.taskBytes / MIB} MiB + its thread); declared and allowed use ${footprint / MIB} MiB`,
  );
  const list = contenders(s, calibration.best, footprint);
  const runs: CgroupRunResult[] = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const c of rotate(list, round)) {
      const r = await runOne(env, s, c, round);
      runs.push(r);
      log(
        `round ${round + 1} ${c.label}: peak ${fmt(r.peakWorkingSetBytes / s.limitBytes, 3)} of limit, ${oomed(r) ? 'OOM KILLED' : 'no OOM'}, ${r.completed}/${r.scheduled} done, ${fmt(tasksPerMinute(r), 1)} tasks/min`,
      );
    }
  }

  const byC = (id: string) => runs.filter((r) => r.contender === id).sort((a, b) => a.round - b.round);
  const best = byC('builtin-fixed-best');
  const bestTpm = best.map(tasksPerMinute);
  const rows = list.map((c) => {
    const rs = byC(c.id);
    const peaks = rs.map((r) => r.peakWorkingSetBytes / s.limitBytes);
    const kpeaks = rs.map((r) => (r.kernelPeakUsageBytes ?? Number.NaN) / s.limitBytes);
    const tpm = rs.map(tasksPerMinute);
    const ooms = rs.filter(oomed).length;
    const completed = rs.map((r) => r.completed);
    const seen = whatItSaw(c, rs);
    return [
      c.label,
      fmtSummary(summarize(peaks), 3),
      fmtSummary(summarize(kpeaks), 3),
      `${ooms}/${rs.length}`,
      `${fmt(median(completed), 0)}/${s.tasks}`,
      fmtSummary(summarize(rs.map(meanRunning)), 2),
      fmtSummary(summarize(tpm), 1),
      c.id === 'builtin-fixed-best' ? '1' : fmtSummary(ratioSummary(tpm, bestTpm), 2),
      seen,
    ];
  });

  // Verdicts against the issue's targets.
  const verdicts: ScenarioReport['verdicts'] = [];
  const figures: ScenarioReport['figures'] = [];
  for (const c of slotwiseContenders(s)) {
    const rs = byC(c.id);
    const label = list.find((x) => x.id === c.id)!.label;
    const ooms = rs.filter(oomed).length;
    const maxPeak = Math.max(...rs.map((r) => r.peakWorkingSetBytes / s.limitBytes));
    const ratio = ratioSummary(rs.map(tasksPerMinute), bestTpm);
    const fills = rs.map((r) => meanRunning(r) / allowedTasks(r, s.limitBytes, c.target, footprint));
    const fill = summarize(fills);
    const wantFill = c.declared ? 0.95 : 0.8;
    verdicts.push({
      target: `${label}: zero OOM kills and peak below the limit`,
      met: ooms === 0 && maxPeak < 1,
      note: `${ooms} OOM kills in ${rs.length} runs, highest peak ${fmt(maxPeak, 3)} of limit`,
    });
    verdicts.push({
      target: `${label}: time-averaged running tasks >= ${wantFill} of floor((${c.target} x limit - idle) / task footprint)`,
      met: fill.median >= wantFill,
      note: `median ${fmt(fill.median, 3)} [${fmt(fill.min, 3)}..${fmt(fill.max, 3)}]; allowed ${rs.map((r) => allowedTasks(r, s.limitBytes, c.target, footprint)).join(', ')}, ran ${rs.map((r) => fmt(meanRunning(r), 2)).join(', ')} on average`,
    });
    if (c.target === s.highTarget) {
      const wantTpm = c.declared ? 0.9 : 0.8;
      verdicts.push({
        target: `${label}: >= ${wantTpm} of the tasks/min of the best fixed size that never OOMs`,
        met: ratio.median >= wantTpm,
        note: `median ratio ${fmt(ratio.median, 2)} [${fmt(ratio.min, 2)}..${fmt(ratio.max, 2)}] vs fixed-size ${calibration.best}`,
      });
    }
    figures.push(
      { id: `oom-runs/${c.id}`, label: `${label}: OOM-killed runs`, value: ooms, unit: 'runs', digits: 0 },
      {
        id: `peak/${c.id}`,
        label: `${label}: highest peak / limit`,
        value: maxPeak,
        unit: 'ratio',
        digits: 3,
      },
      {
        id: `fill/${c.id}`,
        label: `${label}: running / allowed`,
        value: fill.median,
        unit: 'ratio',
        digits: 3,
      },
      {
        id: `tpm-ratio/${c.id}`,
        label: `${label}: tasks/min vs best fixed`,
        value: ratio.median,
        unit: 'ratio',
      },
    );
  }
  const rb = byC('builtin-resource');
  verdicts.push({
    target: 'built-in resource-based overshoots (for comparison)',
    met: null,
    note: `${rb.filter(oomed).length}/${rb.length} runs OOM-killed, highest peak ${fmt(Math.max(...rb.map((r) => r.peakWorkingSetBytes / s.limitBytes)), 3)} of limit`,
  });
  figures.push({
    id: 'oom-runs/builtin-resource',
    label: 'Temporal resource-based: OOM-killed runs',
    value: rb.filter(oomed).length,
    unit: 'runs',
    digits: 0,
  });
  const bestOoms = best.filter(oomed).length;
  if (bestOoms > 0) {
    verdicts.push({
      target: `fixed-size ${calibration.best} never OOMs`,
      met: false,
      note: `it OOMed in ${bestOoms}/${best.length} recorded runs after passing calibration: the "best fixed size" is not reliably safe here`,
    });
  }

  // Preconditions: without them the numbers above say nothing about the memory guard.
  const naive = byC('builtin-fixed-naive');
  const naivePressed = naive.filter((r) => oomed(r) || r.peakWorkingSetBytes / s.limitBytes >= 0.95);
  const wrongLimit = runs.filter((r) => r.limitBytes !== s.limitBytes);
  const preconditions = [
    precondition(
      'every cgroup had the memory limit set',
      wrongLimit.length === 0,
      wrongLimit.length === 0
        ? `${fmt(s.limitBytes / GIB, 2)} GiB in ${runs.length} runs`
        : wrongLimit
            .map((r) => `${r.contender} round ${r.round + 1}: ${r.limitBytes ?? 'no limit'}`)
            .join(', '),
    ),
    precondition(
      `the burst presses on the limit (fixed-size ${Math.floor(s.limitBytes / s.taskBytes)} OOMs or peaks >= 0.95 of it in every round)`,
      naive.length > 0 && naivePressed.length === naive.length,
      `${naivePressed.length}/${naive.length} rounds; peaks ${naive.map((r) => fmt(r.peakWorkingSetBytes / s.limitBytes, 3)).join(', ')}`,
    ),
    // A size that neither finished nor OOMed ran out of time: the machine's doing, not the script's.
    (calibration.tried.some((t) => !t.oom && !t.finished) ? machineAllows : precondition)(
      'calibration found a fixed size that finishes without an OOM kill',
      calibration.found,
      calibration.found
        ? `fixed-size ${calibration.best}`
        : calibration.tried.map((t) => `${t.slots}: ${t.oom ? 'OOM' : 'out of time'}`).join(', '),
    ),
    precondition(
      "calibration measured a task's footprint (samples with every running task holding its buffer)",
      measured !== null,
      measured === null
        ? 'no such samples: the declared cost and the allowed count fell back to the buffer size'
        : `${fmt(measured / MIB, 1)} MiB per task (buffer ${s.taskBytes / MIB} MiB)`,
    ),
    ...workerPreconditions(runs),
  ];

  // Chart: working set / limit over time, last round.
  const lastRound = args.rounds - 1;
  const chart = {
    title: `Scenario 3: cgroup working set / ${fmt(s.limitBytes / GIB, 0)} GiB limit, ${s.tasks} x ${s.taskBytes / MIB} MiB tasks held ${s.holdMs / 1000} s (round ${lastRound + 1})`,
    xLabel: 'seconds since the burst was scheduled',
    yLabel: 'working set / limit',
    yRange: [0, 1.1] as [number, number],
    series: list.map((c) => {
      const r = runs.find((x) => x.contender === c.id && x.round === lastRound);
      return {
        label: `${c.label}${r && oomed(r) ? ' (OOM killed)' : ''}`,
        points: (r?.series ?? [])
          .filter((p) => p.workingSetBytes !== null)
          .map((p) => [p.t, p.workingSetBytes! / s.limitBytes] as const),
      };
    }),
    rules: [
      { axis: 'y' as const, at: 1, label: 'limit', color: '#000' },
      { axis: 'y' as const, at: s.target, label: `target ${s.target}`, color: '#777' },
      { axis: 'y' as const, at: s.highTarget, label: `target ${s.highTarget}`, color: '#aaa' },
    ],
  };

  return {
    settings: {
      ...s,
      naiveFixed: Math.floor(s.limitBytes / s.taskBytes),
      bestFixed: calibration.best,
      calibration: calibration.tried,
      taskFootprintBytes: measured,
      declaredBytes: footprint,
    },
    preconditions,
    tables: [
      {
        title: `Scenario 3 - memory guard: worker in a cgroup with a ${fmt(s.limitBytes / GIB, 0)} GiB limit, burst of ${s.tasks} activities x ${s.taskBytes / MIB} MiB held ${s.holdMs / 1000} s; median [min..max] of ${args.rounds} interleaved rounds`,
        headers: [
          'activity supplier',
          'peak WS/limit',
          'kernel peak/limit',
          'OOM runs',
          'done',
          'running (avg)',
          'tasks/min',
          'vs best fixed',
          'what it read',
        ],
        rows,
        notes: [
          'WS = working set (usage - inactive_file), polled every 50 ms by the parent; kernel peak = memory.max_usage_in_bytes (v1) / memory.peak (v2).',
          `OOM runs = runs where the kernel OOM-killed the worker; "done" = activities completed before the run ended (or the worker died).`,
          `running (avg) = activities running, averaged over time from the first start to the last (while the burst has a backlog); slotwise allows floor((target x limit - idle working set) / task footprint).`,
          `task footprint = what one task adds to the working set: its ${s.taskBytes / MIB} MiB buffer plus the worker thread that holds it, measured in calibration as ${measured === null ? 'n/a (fell back to the buffer size)' : `${fmt(measured / MIB, 1)} MiB`}; "cost declared" declares it, rounded up to ${footprint / MIB} MiB, as a user would after reading \`slotwise costs\` (without its x1.2 margin).`,
          `tasks/min = completed / time to the last completion (or to the kill); "vs best fixed" = per-round ratio to fixed-size ${calibration.best}.`,
          `Fixed ${Math.floor(s.limitBytes / s.taskBytes)} is limit / task size, the size that looks safe on paper; fixed ${calibration.best} was the largest that finished ${2} x size tasks without OOM in calibration.`,
          'what it read: slotwise = the limit its cgroup reader found; built-in = the highest memory usage % core reported (resource_slots_mem_usage).',
        ],
      },
    ],
    verdicts,
    figures,
    charts: [{ name: 'memory-guard', spec: chart }],
    data: runs.map(({ events, supplierSamples, coreSamples, grants, ...rest }) => ({
      ...rest,
      grants: grants.map((t) => (t - rest.t0) / 1000),
      series: rest.series.filter((_, i) => i % 4 === 0),
      activityStarts: events.filter((e) => e.type === 'start').map((e) => (e.t - rest.t0) / 1000),
      coreMemPercent: coreSamples.map((c) => [(c.t - rest.t0) / 1000, c.memPercent]),
      supplierReadings: supplierSamples
        .filter((_, i) => i % 4 === 0)
        .map((x) => [(x.t - rest.t0) / 1000, x.supplier?.issued, x.supplier?.readings?.memory?.ratio]),
      meanRunning: meanRunning({ events, supplierSamples, coreSamples, grants, ...rest }),
    })),
  };
}

function whatItSaw(c: Contender, rs: CgroupRunResult[]): string {
  if (c.spec.kind === 'slotwise-memory') {
    const limits = rs.flatMap((r) =>
      r.supplierSamples.map((x) => x.supplier?.readings?.memory?.limitBytes ?? Number.NaN),
    );
    const lim = median(limits);
    return Number.isFinite(lim) ? `limit ${fmt(lim / GIB, 2)} GiB` : '-';
  }
  if (c.spec.kind === 'resource-based') {
    const mem = rs
      .flatMap((r) => r.coreSamples.map((x) => x.memPercent ?? Number.NaN))
      .filter(Number.isFinite);
    return mem.length ? `max ${fmt(Math.max(...mem), 1)}% used` : 'no gauge';
  }
  return '-';
}

if (isMain(import.meta.url)) runAsScript(memoryGuard);
