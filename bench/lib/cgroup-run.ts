import { spawn } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import type { ActivityEvent } from './activities.js';
import { BenchCgroup, type BenchCgroupOptions } from './cgroup.js';
import type { ChildMessage } from './child-protocol.js';
import { type ChildExit, type ChildWorker, spawnWorkerChild } from './child-worker.js';
import { machineAllows, type Precondition, precondition } from './scenario.js';
import type { Contender } from './suppliers.js';
import { type BenchEnv, uniqueQueue } from './temporal.js';
import type { BurstInput, PacedInput } from './workflows.js';

/** One reading of the cgroup taken by the parent. */
export interface CgroupPoint {
  /** Seconds since the workflow started. */
  t: number;
  usageBytes: number | null;
  workingSetBytes: number | null;
  /** CPU time of the cgroup so far, ms. */
  cpuMs: number | null;
}

/** What one contender did in one run inside its own cgroup. */
export interface CgroupRunResult {
  contender: string;
  round: number;
  /** Epoch ms when the workflow was started (t = 0 of the series). */
  t0: number;
  /** Seconds from t0 to the end of the run (completion, death or time limit). */
  seconds: number;
  scheduled: number;
  started: number;
  completed: number;
  /** Seconds from t0 to the last completion. */
  lastCompletionS: number | null;
  workflowCompleted: boolean;
  /** OOM kills the kernel counted in the cgroup. */
  oomKills: number | null;
  /** The worker died (any signal or code) before the run ended. */
  workerDied: boolean;
  exit: ChildExit | null;
  limitBytes: number | null;
  peakWorkingSetBytes: number;
  kernelPeakUsageBytes: number | null;
  series: CgroupPoint[];
  events: ActivityEvent[];
  supplierSamples: ChildWorker['samples'];
  coreSamples: ChildWorker['core'];
  /** When a slotwise supplier issued each permit (epoch ms); empty for Temporal's suppliers. */
  grants: number[];
  childCgroup: Extract<ChildMessage, { type: 'ready' }>['cgroup'] | null;
  errors: string[];
}

/** How to run one contender in a cgroup. */
export interface CgroupRunOptions {
  env: BenchEnv;
  contender: Contender;
  round: number;
  cgroup: Omit<BenchCgroupOptions, 'name'>;
  /** The workflow that brings the work, or `null` when `during` schedules it (see `scheduled`). */
  workflow:
    | { type: 'burstWorkflow'; input: BurstInput }
    | { type: 'pacedWorkflow'; input: PacedInput }
    | null;
  /** How many activities are scheduled, when `workflow` is `null`. */
  scheduled?: () => number;
  /** Stop after this long even if work remains (the run then ends "by time"). */
  durationMs: number;
  /** Parent-side polling interval of the cgroup. @default 50 */
  pollMs?: number;
  /**
   * Runs alongside from t0 (e.g. an outside process that grabs memory). The run also ends when
   * `finished` resolves; `cleanup` is called once it has ended, before the worker is stopped.
   */
  during?: (run: { t0: number; cgroup: BenchCgroup; child: ChildWorker; taskQueue: string }) => {
    finished: Promise<void>;
    cleanup(): void;
    /** Called after the worker has stopped (e.g. to terminate workflows it was serving). */
    afterStop?(): Promise<void>;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates a cgroup, starts the contender's Worker inside it, starts the workflow, polls the cgroup
 * until the workflow completes, the worker dies or `durationMs` passes, then tears everything down
 * (worker, workflow, cgroup). Throws {@link CgroupUnavailableError} when no cgroup can be made.
 */
export async function runInCgroup(options: CgroupRunOptions): Promise<CgroupRunResult> {
  const { env, contender } = options;
  const taskQueue = uniqueQueue(`cg-${contender.id}`);
  const cgroup = BenchCgroup.create({ ...options.cgroup, name: `slotwise-bench-${taskQueue}` });
  let child: ChildWorker | undefined;
  let handle: WorkflowHandle | undefined;
  const series: CgroupPoint[] = [];
  let poll: NodeJS.Timeout | undefined;
  try {
    child = await spawnWorkerChild({ env, spec: contender.spec, taskQueue, cgroup });
    const ready = await Promise.race([
      child.ready,
      sleep(90_000).then(() => {
        throw new Error(`${contender.label}: the worker child was not ready after 90 s`);
      }),
    ]);
    const t0 = Date.now();
    let peak = 0;
    const pollOnce = () => {
      const m = cgroup.memory();
      if (m) peak = Math.max(peak, m.workingSetBytes);
      series.push({
        t: (Date.now() - t0) / 1000,
        usageBytes: m?.usageBytes ?? null,
        workingSetBytes: m?.workingSetBytes ?? null,
        cpuMs: cgroup.cpuUsageMs(),
      });
    };
    pollOnce();
    poll = setInterval(pollOnce, options.pollMs ?? 50);
    if (options.workflow) {
      handle = await env.client.workflow.start(options.workflow.type, {
        taskQueue,
        workflowId: taskQueue,
        args: [options.workflow.input],
      });
    }
    let workflowCompleted = false;
    const result = handle
      ? handle.result().then(
          () => {
            workflowCompleted = true;
          },
          () => {},
        )
      : new Promise<void>(() => {});
    let died = false;
    const exited = child.exited.then(() => {
      died = true;
    });
    const during = options.during?.({ t0, cgroup, child, taskQueue });
    const finished = during?.finished.catch((error) => {
      child?.errors.push(`during: ${String(error)}`);
    });
    await Promise.race([result, exited, sleep(options.durationMs), ...(finished ? [finished] : [])]);
    const endT = (Date.now() - t0) / 1000;
    const diedDuringRun = died;
    during?.cleanup();
    clearInterval(poll);
    poll = undefined;
    pollOnce();
    const oomKills = cgroup.oomKills();
    const kernelPeak = cgroup.peakUsageBytes();
    const limit = cgroup.memory()?.limitBytes ?? null;
    const exit = diedDuringRun ? await child.exited : null;
    if (!diedDuringRun) await child.stop(2000);
    if (handle && !workflowCompleted) await handle.terminate('benchmark run ended').catch(() => {});
    await during?.afterStop?.();
    const events = child.events;
    const ends = events.filter((e) => e.type === 'end');
    const lastEnd = ends.length ? Math.max(...ends.map((e) => e.t)) : null;
    return {
      contender: contender.id,
      round: options.round,
      t0,
      seconds: endT,
      scheduled: options.workflow?.input.count ?? options.scheduled?.() ?? 0,
      started: events.filter((e) => e.type === 'start').length,
      completed: ends.length,
      lastCompletionS: lastEnd === null ? null : (lastEnd - t0) / 1000,
      workflowCompleted,
      oomKills,
      workerDied: diedDuringRun,
      exit,
      limitBytes: limit,
      peakWorkingSetBytes: peak,
      kernelPeakUsageBytes: kernelPeak,
      series,
      events,
      supplierSamples: child.samples,
      coreSamples: child.core,
      grants: child.grants,
      childCgroup: ready.cgroup,
      errors: child.errors,
    };
  } finally {
    if (poll) clearInterval(poll);
    if (child && child.process.exitCode === null && child.process.signalCode === null) await child.stop(2000);
    await cgroup.remove();
  }
}

/**
 * What share of a `cores` CPU quota a cgroup gets right now: runs `ceil(cores) + 1` busy loops in
 * a fresh cgroup for `ms` and divides its CPU time by `ms x cores`. On a quiet machine this is
 * ~1.0; well below it, other load leaves the cgroup less than its quota and a CPU-tracking result
 * measures the machine, not the supplier. Throws {@link CgroupUnavailableError} like
 * {@link runInCgroup}.
 */
export async function probeCpuQuota(cores: number, ms: number): Promise<number> {
  const cgroup = BenchCgroup.create({ cpuQuotaCores: cores, name: uniqueQueue('slotwise-bench-probe') });
  try {
    const [command, args] = cgroup.wrap('sh', ['-c', 'while :; do :; done']);
    for (let i = 0; i < Math.ceil(cores) + 1; i++) spawn(command, args, { stdio: 'ignore' }).unref();
    await sleep(250);
    const from = cgroup.cpuUsageMs();
    const t = performance.now();
    await sleep(ms);
    const to = cgroup.cpuUsageMs();
    if (from === null || to === null) return Number.NaN;
    return (to - from) / ((performance.now() - t) * cores);
  } finally {
    await cgroup.remove();
  }
}

/**
 * Preconditions every cgroup scenario shares: each Worker came up without reporting an error (else
 * the script is broken), and each started activities within its run (a Worker that did not, yet
 * reported nothing, was starved by a busy machine).
 */
export function workerPreconditions(runs: readonly CgroupRunResult[]): Precondition[] {
  const name = (r: CgroupRunResult) => `${r.contender} round ${r.round + 1}`;
  const failed = runs.filter((r) => r.errors.some((e) => !e.startsWith('during:')));
  const idle = runs.filter((r) => r.started === 0 && !failed.includes(r));
  return [
    precondition(
      'every Worker came up without reporting an error',
      failed.length === 0,
      failed.length === 0
        ? `${runs.length} runs`
        : failed.map((r) => `${name(r)}: ${r.errors.join('; ')}`).join(', '),
    ),
    machineAllows(
      'every Worker started activities within its run',
      idle.length === 0,
      idle.length === 0
        ? `${runs.length} runs`
        : `none started in ${idle.map((r) => `${name(r)} (${r.seconds.toFixed(1)} s)`).join(', ')}`,
    ),
  ];
}
