// Scenario 5: reaction to an outside process that suddenly takes most of the memory.
//
// The Worker runs in a memory-limited cgroup and serves a steady stream of small memory tasks.
// Part-way through, another process in the same cgroup (a sidecar, say) allocates most of the
// limit and keeps it. From then on no new task should be admitted: the time from the step to the
// last admission says how fast each supplier reacts. slotwise MemorySlotSupplier against
// Temporal's resource-based tuner with the same target (both with minimum slots 0, so that "stop
// admitting" is possible at all).
import { spawn } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { type CgroupRunResult, runInCgroup, workerPreconditions } from './lib/cgroup-run.js';
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
import { fmt, fmtSummary, median, summarize } from './lib/stats.js';
import type { Contender } from './lib/suppliers.js';
import { PALETTE } from './lib/svg-chart.js';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const TARGET = 0.8;
/** The goal: no admission later than this after the working set crosses the target. */
const LAST_ADMISSION_S = 0.25;

/** When the outside process grabbed its memory, relative to the run's t0 (seconds). */
interface Step {
  hogStartS: number;
  hogReadyS: number | null;
  /** Bytes the hog had allocated and touched when it became ready or the run ended. */
  hogBytesHeld: number;
  /** How the hog ended before holding its memory: `null` while it runs or once it is ready. */
  hogEnd: 'killed at the end of the run' | `exited (${string})` | null;
  /** First parent poll at or above the target after the hog started. */
  crossedS: number | null;
}

interface Reaction {
  step: Step;
  /** Admissions in the 2 s before the step: 0 means the supplier had stopped already (not a reaction). */
  admissionsBeforeStep: number;
  admissionsAfterCross: number;
  /**
   * Permits the slotwise supplier issued after the crossing (`null` for Temporal's, whose grants are
   * not visible): admissions after the crossing beyond these ran on permits pollers held before it.
   */
  grantsAfterCross: number | null;
  /** Seconds from crossing the target to the last admission (negative: stopped before). */
  lastAdmissionAfterCrossS: number | null;
  /**
   * Seconds from crossing the target to the last permit the slotwise supplier issued (negative:
   * stopped before; `null` for Temporal's, whose grants are not visible, or with no grant at all).
   */
  lastGrantAfterCrossS: number | null;
  /** No admission in the last `quietS` of the window. */
  stopped: boolean;
  oom: boolean;
}

function contenders(taskBytes: number): Contender[] {
  return [
    {
      id: 'slotwise-memory',
      label: `MemorySlotSupplier ${TARGET}, minSlots 0, cost declared`,
      builtIn: false,
      spec: {
        kind: 'slotwise-memory',
        options: {
          scope: 'cgroup',
          targetUtilization: TARGET,
          minSlots: 0,
          costs: { default: { memoryBytes: taskBytes } },
        },
      },
    },
    {
      id: 'builtin-resource',
      label: `Temporal resource-based mem ${TARGET}, minimumSlots 0`,
      builtIn: true,
      spec: { kind: 'resource-based', targetMemoryUsage: TARGET, targetCpuUsage: 1, minimumSlots: 0 },
    },
  ];
}

// CommonJS for `node -e`: allocate and touch `bytes` (reporting progress), say so on stdout, then
// hold until killed.
const HOG = `
const bytes = Number(process.argv[1]);
const chunks = [];
for (let done = 0; done < bytes; done += 64 * 1024 * 1024) {
  const b = Buffer.allocUnsafe(Math.min(64 * 1024 * 1024, bytes - done));
  b.fill(7);
  chunks.push(b);
  process.stdout.write('held ' + (done + b.length) + '\\n');
}
process.stdout.write('ready\\n');
setInterval(() => chunks.length, 1000);
`;

/** Scenario 5: how fast admission stops once another process takes most of the memory. */
export const reaction: Scenario = {
  name: 'reaction',
  title: '5 reaction',
  run: runReaction,
};

async function runReaction(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, log } = ctx;
  const env = await ctx.env();
  // Sizes the machine can fault in within the window: a VM here maps fresh pages at ~210 MB/s in
  // all, and a stream of 64 MiB tasks every 200 ms (320 MB/s) left the sidecar 0.56 GiB of its
  // 3.3 GiB after 39 s, so the step never happened.
  const limitBytes = 2 * GIB;
  const taskBytes = 16 * MIB;
  const holdMs = 1000;
  const intervalMs = 200;
  const stepAtMs = args.quick ? 3000 : 6000;
  const windowMs = args.quick ? 4000 : 9000;
  const quietS = 2;
  const hogBytes = 1480 * MIB; // with the worker's own ~0.15 GiB, above the 0.8 target even with no task running
  const list = contenders(taskBytes);
  const settings = {
    limitBytes,
    taskBytes,
    holdMs,
    intervalMs,
    stepAtMs,
    windowMs,
    hogBytes,
    target: TARGET,
    quietS,
  };
  const runs: Array<CgroupRunResult & { reaction: Reaction }> = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const c of rotate(list, round)) {
      const step: Step = {
        hogStartS: Number.NaN,
        hogReadyS: null,
        hogBytesHeld: 0,
        hogEnd: null,
        crossedS: null,
      };
      let scheduled = 0;
      const r = await runInCgroup({
        env,
        contender: c,
        round,
        cgroup: { memoryLimitBytes: limitBytes },
        // Started from here, one single-activity workflow every intervalMs: workflow timers on the
        // dev server fire about once a second, too coarse to pace a stream.
        workflow: null,
        scheduled: () => scheduled,
        durationMs: stepAtMs + windowMs + 30_000,
        during: ({ t0, cgroup, taskQueue }) => {
          let hog: ReturnType<typeof spawn> | undefined;
          let stopped = false;
          const handles: WorkflowHandle[] = [];
          const driver = setInterval(() => {
            const index = scheduled++;
            env.client.workflow
              .start('burstWorkflow', {
                taskQueue,
                workflowId: `${taskQueue}-${index}`,
                args: [
                  { activity: 'holdMemory', count: 1, first: index, args: { bytes: taskBytes, holdMs } },
                ],
              })
              .then(
                (h) => handles.push(h),
                () => {},
              );
          }, intervalMs);
          const finished = (async () => {
            await new Promise((r) => setTimeout(r, stepAtMs));
            if (stopped) return;
            const [command, hogArgs] = cgroup.wrap(process.execPath, ['-e', HOG, String(hogBytes)]);
            step.hogStartS = (Date.now() - t0) / 1000;
            const h = spawn(command, hogArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
            hog = h;
            await new Promise<void>((resolve, reject) => {
              h.stdout?.on('data', (d: Buffer) => {
                for (const m of d.toString().matchAll(/held (\d+)/g)) step.hogBytesHeld = Number(m[1]);
                if (d.toString().includes('ready') && step.hogReadyS === null) {
                  step.hogReadyS = (Date.now() - t0) / 1000;
                  resolve();
                }
              });
              h.on('exit', (code, signal) => {
                if (step.hogReadyS === null) {
                  step.hogEnd = stopped ? 'killed at the end of the run' : `exited (${code ?? signal})`;
                }
                reject(new Error(`the memory hog exited early (${code ?? signal})`));
              });
            });
            // The window is measured from the moment the other process holds all its memory.
            await new Promise((r) => setTimeout(r, windowMs));
          })();
          return {
            finished,
            cleanup() {
              stopped = true;
              clearInterval(driver);
              hog?.kill('SIGKILL');
            },
            async afterStop() {
              await Promise.all(handles.map((h) => h.terminate('benchmark run ended').catch(() => {})));
            },
          };
        },
      });
      const reaction = react(r, step, limitBytes, quietS);
      runs.push({ ...r, reaction });
      log(
        `round ${round + 1} ${c.label}: crossed target at ${fmt(step.crossedS ?? Number.NaN, 2)} s, ` +
          `last admission ${reaction.lastAdmissionAfterCrossS === null ? 'none after' : `${fmt(reaction.lastAdmissionAfterCrossS, 2)} s after`}, ` +
          `${reaction.admissionsAfterCross} admissions after, ${reaction.stopped ? 'stopped' : 'KEPT ADMITTING'}${reaction.oom ? ', OOM' : ''}`,
      );
    }
  }
  const byC = (id: string) => runs.filter((r) => r.contender === id).sort((a, b) => a.round - b.round);
  const windowAfter = (r: (typeof runs)[number]) => r.seconds - (r.reaction.step.crossedS ?? r.seconds);
  const rows = list.map((c) => {
    const rs = byC(c.id);
    const stopped = rs.filter((r) => r.reaction.stopped).length;
    // A run that kept admitting has no "last admission": count it as the whole window (a lower bound).
    const times = rs.map((r) =>
      r.reaction.stopped ? Math.max(0, r.reaction.lastAdmissionAfterCrossS ?? 0) : windowAfter(r),
    );
    const idle = rs.filter((r) => r.reaction.admissionsBeforeStep === 0).length;
    return [
      c.label,
      `${rs.length - idle}/${rs.length}`,
      `${stopped}/${rs.length}`,
      `${stopped === rs.length ? '' : '>= '}${fmtSummary(summarize(times), 2, ' s')}`,
      fmtSummary(summarize(rs.map((r) => r.reaction.admissionsAfterCross)), 0),
      rs.every((r) => r.reaction.grantsAfterCross === null)
        ? '-'
        : fmtSummary(summarize(rs.map((r) => r.reaction.grantsAfterCross ?? Number.NaN)), 0),
      fmtSummary(summarize(rs.map((r) => r.peakWorkingSetBytes / limitBytes)), 3),
      `${rs.filter((r) => r.reaction.oom).length}/${rs.length}`,
      fmtSummary(
        summarize(rs.map((r) => (r.reaction.step.hogReadyS ?? Number.NaN) - r.reaction.step.hogStartS)),
        2,
        ' s',
      ),
    ];
  });
  const ours = byC('slotwise-memory');
  const ref = byC('builtin-resource');
  const oursT = median(ours.map((r) => Math.max(0, r.reaction.lastAdmissionAfterCrossS ?? 0)));
  const worstLast = Math.max(...ours.map((r) => r.reaction.lastAdmissionAfterCrossS ?? 0));
  const grantsAfter = ours.map((r) => r.reaction.grantsAfterCross);
  const verdicts: ScenarioReport['verdicts'] = [
    {
      // The goal: the supplier's last admission <= 250 ms after the crossing, and no admission after
      // that beyond permits pollers already held. A supplier admits by issuing a permit; an activity
      // that starts later on a permit its poller held since before the crossing is the SDK's poll,
      // shown in the next line.
      target: `slotwise: last permit issued <= ${LAST_ADMISSION_S * 1000} ms after the working set crosses the target, in every run`,
      met:
        ours.length > 0 &&
        ours.every((r) => r.reaction.stopped && (r.reaction.lastGrantAfterCrossS ?? 0) <= LAST_ADMISSION_S),
      note: `last permit issued ${ours.map((r) => (r.reaction.lastGrantAfterCrossS === null ? '-' : `${fmt(r.reaction.lastGrantAfterCrossS, 2)} s`)).join(', ')} after crossing (negative: before it)`,
    },
    {
      target: `slotwise: last activity start <= ${LAST_ADMISSION_S * 1000} ms after the crossing (starts on permits pollers held before count too)`,
      met: ours.length > 0 && ours.every((r) => r.reaction.stopped) && worstLast <= LAST_ADMISSION_S,
      note: `last activity start ${ours.map((r) => (r.reaction.lastAdmissionAfterCrossS === null ? '-' : `${fmt(r.reaction.lastAdmissionAfterCrossS, 2)} s`)).join(', ')} after crossing (negative: it had stopped before)`,
    },
    {
      target:
        'slotwise: no permit issued after the crossing (admissions after it ran on permits pollers held before)',
      met: ours.length > 0 && grantsAfter.every((n) => n === 0),
      note: `permits issued after crossing: ${grantsAfter.map((n) => n ?? '-').join(', ')}; admissions after crossing: ${ours.map((r) => r.reaction.admissionsAfterCross).join(', ')}`,
    },
    {
      target: 'slotwise stops admitting after the step, sooner than the built-in',
      met:
        ours.every((r) => r.reaction.stopped) &&
        (ref.some((r) => !r.reaction.stopped) ||
          oursT < median(ref.map((r) => Math.max(0, r.reaction.lastAdmissionAfterCrossS ?? 0)))),
      note: `slotwise stopped in ${ours.filter((r) => r.reaction.stopped).length}/${ours.length} runs (median ${fmt(oursT, 2)} s after crossing); built-in stopped in ${ref.filter((r) => r.reaction.stopped).length}/${ref.length} (${ref.filter((r) => r.reaction.admissionsBeforeStep === 0).length} of them had stopped before the step)`,
    },
  ];
  const figures: ScenarioReport['figures'] = list.flatMap((c) => {
    const rs = byC(c.id);
    return [
      {
        id: `stopped-runs/${c.id}`,
        label: `${c.label}: runs that stopped admitting`,
        value: rs.filter((r) => r.reaction.stopped).length,
        unit: 'runs',
        digits: 0,
      },
      {
        id: `admissions-after/${c.id}`,
        label: `${c.label}: admissions after crossing the target`,
        value: median(rs.map((r) => r.reaction.admissionsAfterCross)),
        unit: 'tasks',
        digits: 0,
      },
      {
        id: `oom-runs/${c.id}`,
        label: `${c.label}: OOM-killed runs`,
        value: rs.filter((r) => r.reaction.oom).length,
        unit: 'runs',
        digits: 0,
      },
    ];
  });

  // Preconditions: the step has to happen, and each supplier has to be admitting when it does.
  const runName = (r: (typeof runs)[number]) => `${r.contender} round ${r.round + 1}`;
  const noHog = runs.filter((r) => r.reaction.step.hogReadyS === null);
  const hogDied = noHog.filter((r) => r.reaction.step.hogEnd?.startsWith('exited'));
  const hogSlow = noHog.filter((r) => !r.reaction.step.hogEnd?.startsWith('exited'));
  const noCross = runs.filter((r) => r.reaction.step.crossedS === null);
  const idleBefore = runs.filter((r) => r.reaction.admissionsBeforeStep === 0);
  const hogDetail = (r: (typeof runs)[number]) =>
    `${runName(r)}: ${r.reaction.step.hogEnd ?? 'still allocating'} with ${fmt(r.reaction.step.hogBytesHeld / GIB, 2)} GiB held, ${r.oomKills ?? 0} OOM kills, peak ${fmt(r.peakWorkingSetBytes / limitBytes, 2)} of the limit`;
  const hogFill = `in ${fmtSummary(summarize(runs.map((r) => (r.reaction.step.hogReadyS ?? Number.NaN) - r.reaction.step.hogStartS)), 2, ' s')}`;
  const preconditions = [
    ...workerPreconditions(runs),
    precondition(
      `the other process was not killed before it held its ${fmt(hogBytes / GIB, 1)} GiB (worker + sidecar fit in the limit)`,
      hogDied.length === 0,
      hogDied.length === 0 ? 'never' : hogDied.map(hogDetail).join(', '),
    ),
    machineAllows(
      `the other process held its ${fmt(hogBytes / GIB, 1)} GiB before the run's time ran out`,
      hogSlow.length === 0,
      hogSlow.length === 0 ? hogFill : hogSlow.map(hogDetail).join(', '),
    ),
    precondition(
      `the working set crossed the ${TARGET} target after the step in every run where the step happened`,
      noCross.every((r) => r.reaction.step.hogReadyS === null),
      noCross.length === 0
        ? `at ${fmtSummary(summarize(runs.map((r) => r.reaction.step.crossedS ?? Number.NaN)), 2, ' s')}`
        : noCross
            .map((r) => `${runName(r)}: peak ${fmt(r.peakWorkingSetBytes / limitBytes, 2)} of the limit`)
            .join(', '),
    ),
    machineAllows(
      'every supplier was admitting the stream in the 2 s before the step (else there is no reaction to time)',
      idleBefore.length === 0,
      idleBefore.length === 0
        ? `${runs.length} runs`
        : `no admissions in ${idleBefore.map(runName).join(', ')}`,
    ),
  ];

  const lastRound = args.rounds - 1;
  const series = list.flatMap((c, i) => {
    const r = runs.find((x) => x.contender === c.id && x.round === lastRound);
    if (!r) return [];
    const starts = r.events.filter((e) => e.type === 'start').map((e) => (e.t - r.t0) / 1000);
    const color = PALETTE[(i * 3) % PALETTE.length]!;
    const short = c.builtIn ? 'built-in resource-based' : 'slotwise MemorySlotSupplier';
    return [
      {
        label: `${short}: working set / limit`,
        color,
        points: r.series
          .filter((p) => p.workingSetBytes !== null)
          .map((p) => [p.t, p.workingSetBytes! / limitBytes] as const),
      },
      {
        label: `${short}: admissions (activity starts)`,
        color,
        points: starts.map((t) => [t, 0.04 + 0.05 * i] as const),
        markers: true,
      },
    ];
  });
  const stepT = runs.find((x) => x.round === lastRound)?.reaction.step.hogStartS ?? stepAtMs / 1000;
  const chart = {
    title: `Scenario 5: a sidecar takes ${fmt(hogBytes / GIB, 1)} GiB of a ${limitBytes / GIB} GiB cgroup at ~${fmt(stepT, 1)} s; ${taskBytes / MIB} MiB tasks every ${intervalMs} ms (round ${lastRound + 1})`,
    xLabel: 'seconds since the task stream started',
    yLabel: 'working set / limit',
    yRange: [0, 1.1] as [number, number],
    series,
    rules: [
      { axis: 'y' as const, at: 1, label: 'limit', color: '#000' },
      { axis: 'y' as const, at: TARGET, label: `target ${TARGET}`, color: '#777' },
      { axis: 'x' as const, at: stepT, label: 'step', color: '#5a5a5a' },
    ],
  };

  return {
    settings,
    preconditions,
    tables: [
      {
        title: `Scenario 5 - reaction: steady ${taskBytes / MIB} MiB tasks every ${intervalMs} ms in a ${limitBytes / GIB} GiB cgroup; at ${stepAtMs / 1000} s another process takes ${fmt(hogBytes / GIB, 1)} GiB and keeps it; median [min..max] of ${args.rounds} interleaved rounds`,
        headers: [
          'activity supplier',
          'admitting before',
          'stopped',
          'target crossed -> last admission',
          'admissions after',
          'permits issued after',
          'peak WS/limit',
          'OOM',
          'hog fill time',
        ],
        rows,
        notes: [
          'Admission = an activity starting. "target crossed" = first parent poll (50 ms) with working set >= target after the other process started.',
          `stopped = no admission in the last ${quietS} s of the ${windowMs / 1000} s window that starts once the other process holds all its memory; a run that kept admitting counts as the whole window (">=").`,
          "Permits reserved by pollers before the step can still receive a task after it: that part of the delay is core's, for any supplier. permits issued after = permits the slotwise supplier issued after the crossing (Temporal's grants are not visible).",
          'admitting before = runs with admissions in the 2 s before the step; a run that had already stopped (the built-in also gates on host CPU, which other jobs on this machine keep busy) shows no reaction at all.',
        ],
      },
    ],
    verdicts,
    figures,
    charts: [{ name: 'reaction', spec: chart }],
    data: runs.map(({ events, supplierSamples, coreSamples, series, grants, ...rest }) => ({
      ...rest,
      grants: grants.map((t) => (t - rest.t0) / 1000),
      admissions: events.filter((e) => e.type === 'start').map((e) => (e.t - rest.t0) / 1000),
      series: series.filter((_, i) => i % 2 === 0).map((p) => [p.t, p.workingSetBytes]),
      coreMemPercent: coreSamples.map((c) => [(c.t - rest.t0) / 1000, c.memPercent]),
      supplier: supplierSamples.map((x) => [
        (x.t - rest.t0) / 1000,
        x.supplier?.issued,
        x.supplier?.readings?.memory?.ratio,
      ]),
    })),
  };
}

function react(r: CgroupRunResult, step: Step, limitBytes: number, quietS: number): Reaction {
  const cross = r.series.find(
    (p) => p.t >= step.hogStartS && p.workingSetBytes !== null && p.workingSetBytes / limitBytes >= TARGET,
  );
  step.crossedS = cross?.t ?? null;
  const starts = r.events.filter((e) => e.type === 'start').map((e) => (e.t - r.t0) / 1000);
  const ref = step.crossedS ?? step.hogReadyS ?? step.hogStartS;
  const after = starts.filter((t) => t >= ref);
  const lastBeforeEnd = starts.filter((t) => t <= r.seconds);
  const last = lastBeforeEnd.length ? Math.max(...lastBeforeEnd) : null;
  const oom = (r.oomKills ?? 0) > 0 || (r.workerDied && r.exit?.signal === 'SIGKILL' && !r.exit.killedByUs);
  return {
    step,
    admissionsBeforeStep: starts.filter((t) => t >= step.hogStartS - 2 && t < step.hogStartS).length,
    admissionsAfterCross: after.length,
    grantsAfterCross: r.grants.length === 0 ? null : r.grants.filter((t) => (t - r.t0) / 1000 >= ref).length,
    lastAdmissionAfterCrossS: last === null ? null : last - ref,
    lastGrantAfterCrossS:
      r.grants.length === 0 ? null : Math.max(...r.grants.map((t) => (t - r.t0) / 1000)) - ref,
    stopped: !r.workerDied && (last === null || last < r.seconds - quietS),

    oom,
  };
}

if (isMain(import.meta.url)) runAsScript(reaction);
