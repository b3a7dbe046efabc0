// Scenario 4: CPU target tracking under a 1-core cgroup quota.
//
// The Worker runs in a cgroup limited to one core. Activities burn CPU in worker threads (so the
// process can demand more than one core), each at about a quarter core. CpuSlotSupplier (target
// 0.8, learned and with a declared cost, long and short tasks) against Temporal's resource-based
// tuner with targetCpuUsage 0.8: mean and spread of the cgroup's utilization over time, and
// throughput. Also records which of them sees the quota.
import { type CgroupRunResult, probeCpuQuota, runInCgroup, workerPreconditions } from './lib/cgroup-run.js';
import { calibrateBurn } from './lib/cpu-burner.js';
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
import { fmt, fmtSummary, mean, median, ratioSummary, stdev, summarize } from './lib/stats.js';
import type { Contender } from './lib/suppliers.js';

const TARGET = 0.8;
/** The goal: a mean within this of the target... */
const MEAN_TOLERANCE = 0.05;
/** ...and an rms error at most this share of the built-in's in the same run. */
const RMS_RATIO = 0.5;
const QUOTA_CORES = 1;
const WINDOW_S = 0.5;

/** A task profile: `cycles` x (burn `BURN_MS` + sleep `SLEEP_MS`), about a quarter core while it runs. */
interface Profile {
  id: 'long' | 'short';
  cycles: number;
}

const BURN_MS = 20;
const SLEEP_MS = 60;
const TASK_CORES = BURN_MS / (BURN_MS + SLEEP_MS);
const PROFILES: Profile[] = [
  { id: 'long', cycles: 38 }, // ~3 s per task: longer than CpuSlotSupplier's 1.5 s settle time
  { id: 'short', cycles: 10 }, // 0.8 s per task: shorter than the settle time
];

interface CpuContender extends Contender {
  profile: Profile;
}

function profileSeconds(p: Profile): number {
  return (p.cycles * (BURN_MS + SLEEP_MS)) / 1000;
}

function contenders(profiles: readonly Profile[]): CpuContender[] {
  const out: CpuContender[] = [];
  for (const profile of profiles) {
    const tag = `${profile.id}, ${profileSeconds(profile).toFixed(1)} s tasks`;
    out.push({
      id: `slotwise-cpu-learned-${profile.id}`,
      label: `CpuSlotSupplier ${TARGET}, no cost (${tag})`,
      builtIn: false,
      profile,
      spec: { kind: 'slotwise-cpu', options: { targetUtilization: TARGET } },
    });
    out.push(
      {
        id: `slotwise-cpu-cost-${profile.id}`,
        label: `CpuSlotSupplier ${TARGET}, cost ${TASK_CORES} (${tag})`,
        builtIn: false,
        profile,
        spec: {
          kind: 'slotwise-cpu',
          options: { targetUtilization: TARGET, costs: { default: { cpu: TASK_CORES } } },
        },
      },
      {
        id: `builtin-resource-${profile.id}`,
        label: `Temporal resource-based ${TARGET} (${tag})`,
        builtIn: true,
        profile,
        spec: { kind: 'resource-based', targetCpuUsage: TARGET, targetMemoryUsage: 0.95 },
      },
    );
  }
  return out;
}

/** Utilization of the quota per `WINDOW_S` window, from the cgroup's CPU counter: [t, ratio]. */
function utilization(r: CgroupRunResult): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let prev = r.series.find((p) => p.cpuMs !== null);
  if (!prev) return out;
  for (const p of r.series) {
    if (p.cpuMs === null || p.t - prev.t < WINDOW_S) continue;
    out.push([p.t, (p.cpuMs - prev.cpuMs!) / ((p.t - prev.t) * 1000) / QUOTA_CORES]);
    prev = p;
  }
  return out;
}

interface Tracking {
  meanUtil: number;
  sdUtil: number;
  /** Root mean square of (utilization - target): distance from the target, oscillation included. */
  rmsError: number;
  /** Share of windows at >= 95% of the quota (throttled). */
  saturated: number;
  tasksPerMin: number;
}

function tracking(r: CgroupRunResult, steadyFromS: number): Tracking {
  const u = utilization(r).filter(([t]) => t >= steadyFromS && t <= r.seconds);
  const values = u.map(([, v]) => v);
  const ends = r.events.filter((e) => e.type === 'end').map((e) => (e.t - r.t0) / 1000);
  const inWindow = ends.filter((t) => t >= steadyFromS && t <= r.seconds).length;
  return {
    meanUtil: mean(values),
    sdUtil: stdev(values),
    rmsError: values.length
      ? Math.sqrt(values.reduce((a, v) => a + (v - TARGET) ** 2, 0) / values.length)
      : Number.NaN,
    saturated: values.length ? values.filter((v) => v >= 0.95).length / values.length : Number.NaN,
    tasksPerMin: (inWindow / Math.max(1e-9, r.seconds - steadyFromS)) * 60,
  };
}

/** Scenario 4: how closely CPU use tracks a 0.8 target under a 1-core cgroup quota. */
export const cpuTracking: Scenario = {
  name: 'cpu-tracking',
  title: '4 CPU tracking',
  run: runCpuTracking,
};

async function runCpuTracking(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, log } = ctx;
  const env = await ctx.env();
  const durationMs = args.quick ? 4000 : 15_000;
  const steadyFromS = args.quick ? 1.5 : 4;
  const perMs = calibrateBurn();
  const burnIterations = Math.round(perMs * BURN_MS);
  // Quick: the short tasks only; the long ones run the same code, and a 4 s run holds one of them.
  const profiles = args.quick ? PROFILES.filter((p) => p.id === 'short') : PROFILES;
  const list = contenders(profiles);
  const settings = {
    quotaCores: QUOTA_CORES,
    target: TARGET,
    durationMs,
    steadyFromS,
    task: { burnMs: BURN_MS, sleepMs: SLEEP_MS, burnIterations, coresWhenAlone: TASK_CORES },
    profiles: profiles.map((p) => ({ ...p, seconds: profileSeconds(p), cpuMsPerTask: p.cycles * BURN_MS })),
    windowS: WINDOW_S,
  };
  const runs: CgroupRunResult[] = [];
  // Before each round: can the cgroup get its quota at all on this (shared) machine right now?
  const quotaProbes: number[] = [];
  for (let round = 0; round < args.rounds; round++) {
    const got = await probeCpuQuota(QUOTA_CORES, args.quick ? 1000 : 2000);
    quotaProbes.push(got);
    log(`round ${round + 1}: a busy loop in the cgroup got ${fmt(got, 2)} of its ${QUOTA_CORES}-core quota`);
    for (const c of rotate(list, round)) {
      const r = await runInCgroup({
        env,
        contender: c,
        round,
        cgroup: { cpuQuotaCores: QUOTA_CORES },
        workflow: {
          type: 'burstWorkflow',
          input: {
            activity: 'burnCpu',
            count: 400,
            args: { cycles: c.profile.cycles, burnIterations, sleepMs: SLEEP_MS },
          },
        },
        durationMs,
      });
      runs.push(r);
      const t = tracking(r, steadyFromS);
      log(
        `round ${round + 1} ${c.label}: utilization ${fmt(t.meanUtil, 3)} +- ${fmt(t.sdUtil, 3)} of the quota, ${fmt(t.tasksPerMin, 0)} tasks/min`,
      );
    }
  }

  const byC = (id: string) => runs.filter((r) => r.contender === id).sort((a, b) => a.round - b.round);
  const refOf = (c: CpuContender) =>
    byC(`builtin-resource-${c.profile.id}`).map((r) => tracking(r, steadyFromS));
  const rows = list.map((c) => {
    const ref = refOf(c);
    const ts = byC(c.id).map((r) => tracking(r, steadyFromS));
    return [
      c.label,
      fmtSummary(summarize(ts.map((t) => t.meanUtil)), 3),
      fmtSummary(summarize(ts.map((t) => t.sdUtil)), 3),
      fmtSummary(summarize(ts.map((t) => t.rmsError)), 3),
      fmtSummary(summarize(ts.map((t) => t.saturated * 100)), 0, '%'),
      fmtSummary(summarize(ts.map((t) => t.tasksPerMin)), 0),
      c.builtIn
        ? '1'
        : fmtSummary(
            ratioSummary(
              ts.map((t) => t.tasksPerMin),
              ref.map((t) => t.tasksPerMin),
            ),
            2,
          ),
      sawQuota(c, byC(c.id)),
    ];
  });

  const verdicts: ScenarioReport['verdicts'] = [];
  const figures: ScenarioReport['figures'] = [];
  for (const c of list.filter((x) => !x.builtIn)) {
    const ref = refOf(c);
    const refErr = median(ref.map((t) => t.rmsError));
    const ts = byC(c.id).map((r) => tracking(r, steadyFromS));
    const err = median(ts.map((t) => t.rmsError));
    const tpmRatio = ratioSummary(
      ts.map((t) => t.tasksPerMin),
      ref.map((t) => t.tasksPerMin),
    ).median;
    const meanUtil = median(ts.map((t) => t.meanUtil));
    verdicts.push({
      target: `${c.label}: mean utilization within +-${MEAN_TOLERANCE} of the ${TARGET} target`,
      met: Math.abs(meanUtil - TARGET) <= MEAN_TOLERANCE,
      note: `median of the rounds' means ${fmt(meanUtil, 3)} [${ts.map((t) => fmt(t.meanUtil, 3)).join(', ')}]; built-in ${fmt(median(ref.map((t) => t.meanUtil)), 3)}`,
    });
    verdicts.push({
      target: `${c.label}: rms error around ${TARGET} <= ${RMS_RATIO} of the built-in's`,
      met: err <= RMS_RATIO * refErr,
      note: `median rms error ${fmt(err, 3)} vs built-in ${fmt(refErr, 3)} (ratio ${fmt(err / refErr, 2)}); spread (sd) ${fmt(median(ts.map((t) => t.sdUtil)), 3)} vs ${fmt(median(ref.map((t) => t.sdUtil)), 3)}; tasks/min ratio ${fmt(tpmRatio, 2)}`,
    });
    figures.push(
      {
        id: `mean-util/${c.id}`,
        label: `${c.label}: mean utilization`,
        value: median(ts.map((t) => t.meanUtil)),
        unit: 'ratio',
        digits: 3,
      },
      {
        id: `rms-error/${c.id}`,
        label: `${c.label}: rms error around ${TARGET}`,
        value: err,
        unit: 'ratio',
        digits: 3,
      },
    );
  }
  for (const c of list.filter((x) => x.builtIn)) {
    const ts = byC(c.id).map((r) => tracking(r, steadyFromS));
    figures.push(
      {
        id: `mean-util/${c.id}`,
        label: `${c.label}: mean utilization`,
        value: median(ts.map((t) => t.meanUtil)),
        unit: 'ratio',
        digits: 3,
      },
      {
        id: `rms-error/${c.id}`,
        label: `${c.label}: rms error around ${TARGET}`,
        value: median(ts.map((t) => t.rmsError)),
        unit: 'ratio',
        digits: 3,
      },
    );
  }

  // Preconditions: without them the utilization above says nothing about the suppliers.
  const noCounter = runs.filter((r) => !r.series.some((p) => p.cpuMs !== null));
  const starved = quotaProbes.filter((got) => got < 0.9);
  const preconditions = [
    machineAllows(
      `the cgroup can get its ${QUOTA_CORES}-core quota on this machine (a busy loop in it gets >= 0.9 of the quota before each round)`,
      starved.length === 0,
      `got ${quotaProbes.map((g) => fmt(g, 2)).join(', ')} of the quota${starved.length ? ': the host was too busy to measure tracking' : ''}`,
    ),
    precondition(
      "the cgroup's CPU counter was read in every run",
      noCounter.length === 0,
      noCounter.length === 0
        ? `${runs.length} runs`
        : noCounter.map((r) => `${r.contender} round ${r.round + 1}`).join(', '),
    ),
    ...workerPreconditions(runs),
  ];

  const lastRound = args.rounds - 1;
  const charts = profiles.map((profile) => ({
    name: `cpu-tracking-${profile.id}`,
    spec: {
      title: `Scenario 4 (${profile.id} tasks, ${((profile.cycles * (BURN_MS + SLEEP_MS)) / 1000).toFixed(1)} s each): cgroup CPU use / ${QUOTA_CORES}-core quota, ${WINDOW_S} s windows, target ${TARGET} (round ${lastRound + 1})`,
      xLabel: 'seconds since 400 CPU tasks were scheduled',
      yLabel: 'CPU used / quota',
      yRange: [0, 1.2] as [number, number],
      series: list
        .filter((c) => c.profile.id === profile.id)
        .map((c) => {
          const r = runs.find((x) => x.contender === c.id && x.round === lastRound);
          return { label: c.label, points: r ? utilization(r) : [] };
        }),
      rules: [
        { axis: 'y' as const, at: 1, label: 'quota', color: '#000' },
        { axis: 'y' as const, at: TARGET, label: `target ${TARGET}`, color: '#777' },
        { axis: 'x' as const, at: steadyFromS, label: 'steady state from here', color: '#aaa' },
      ],
    },
  }));

  return {
    settings: { ...settings, quotaProbes },
    preconditions,
    tables: [
      {
        title: `Scenario 4 - CPU target tracking: worker in a cgroup with a ${QUOTA_CORES}-core quota, 400 tasks of N x (${BURN_MS} ms burn + ${SLEEP_MS} ms sleep) in worker threads (N = ${profiles.map((p) => `${p.cycles}: ${p.id}`).join(', ')}), ${durationMs / 1000} s runs; median [min..max] of ${args.rounds} interleaved rounds`,
        headers: [
          'activity supplier',
          'mean util',
          'sd util',
          'rms error',
          'time at quota',
          'tasks/min',
          'vs built-in',
          'quota seen?',
        ],
        rows,
        notes: [
          `util = cgroup CPU time / (wall time x ${QUOTA_CORES} core), per ${WINDOW_S} s window, over t >= ${steadyFromS} s (after ramp-up); time at quota = windows >= 0.95; rms error = sqrt(mean((util - ${TARGET})^2)), which counts oscillation as well as offset.`,
          'tasks/min = completions in the steady window (the work per task is fixed); a supplier that runs hundreds of tasks at once completes few of them in a short window even at full CPU. "vs built-in" compares within the same task profile.',
          'quota seen?: slotwise = usable cores and source its CpuMonitor reported; built-in = its own cpu usage % (resource_slots_cpu_usage) next to the true cgroup utilization.',
        ],
      },
    ],
    verdicts,
    figures,
    charts,
    data: runs.map(({ events, supplierSamples, coreSamples, series, ...rest }) => ({
      ...rest,
      tracking: tracking({ events, supplierSamples, coreSamples, series, ...rest }, steadyFromS),
      utilization: utilization({ events, supplierSamples, coreSamples, series, ...rest }),
      coreCpuPercent: coreSamples.map((c) => [(c.t - rest.t0) / 1000, c.cpuPercent]),
      supplier: supplierSamples
        .filter((_, i) => i % 2 === 0)
        .map((x) => [
          (x.t - rest.t0) / 1000,
          x.supplier?.issued,
          x.supplier?.readings?.cpu?.utilization,
          x.supplier?.readings?.cpu?.usableCores,
        ]),
    })),
  };
}

function sawQuota(c: Contender, rs: CgroupRunResult[]): string {
  if (c.spec.kind === 'slotwise-cpu') {
    const cores = rs.flatMap((r) =>
      r.supplierSamples.map((x) => x.supplier?.readings?.cpu?.usableCores ?? Number.NaN),
    );
    const m = median(cores);
    return Number.isFinite(m) ? `yes: ${fmt(m, 2)} core${m === 1 ? '' : 's'}` : 'no reading';
  }
  if (c.spec.kind === 'resource-based') {
    const seen: number[] = [];
    const truth: number[] = [];
    for (const r of rs) {
      const u = utilization(r);
      for (const s of r.coreSamples) {
        const t = (s.t - r.t0) / 1000;
        if (s.cpuPercent === undefined || t < 2) continue;
        const near = u.find(([ut]) => Math.abs(ut - t) <= WINDOW_S);
        if (!near) continue;
        seen.push(s.cpuPercent / 100);
        truth.push(near[1]);
      }
    }
    return seen.length
      ? `no: reads ${fmt(median(seen), 2)} when quota use is ${fmt(median(truth), 2)}`
      : 'no gauge';
  }
  return '-';
}

if (isMain(import.meta.url)) runAsScript(cpuTracking);
