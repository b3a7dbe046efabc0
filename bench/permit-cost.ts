// Scenario 1: what a permit costs a Worker, in one process.
//
// - Decision time of one reservation (reserveSlot, core's blocking path, and tryReserveSlot, its
//   eager path), p50/p99 in microseconds, with 0, 16 and 1000 other permits outstanding, for every
//   slotwise supplier, a composite and an inline counting semaphore (the floor).
// - Event-loop lag added by 1,000 reservations/s through each supplier with the sampler it creates
//   by default, against the same paced loop through the floor with no sampler.
// - Heap bytes per outstanding permit and per waiting reservation, over 100k of each.
// Temporal's built-in suppliers decide inside core (Rust) with no JavaScript call and no JS heap:
// nothing here can time or weigh them; their cost shows only end to end, in scenario 2.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ResourceSampler } from '../src/resources/sampler.js';
import {
  type ContenderFactory,
  defaultSamplerContenders,
  floorContender,
  frozenContenders,
  frozenHost,
  GPU_WEIGH_MAX as GPU_MAX,
  type PermitContender,
} from './lib/permit-contenders.js';
import type { PermitMemory } from './lib/permit-memory-child.js';
import { BENCH_DIR } from './lib/results.js';
import { runAsScript } from './lib/runner.js';
import {
  type Figure,
  isMain,
  machineAllows,
  precondition,
  rotate,
  type Scenario,
  type ScenarioContext,
  type ScenarioReport,
} from './lib/scenario.js';
import { fmt, fmtSummary, median, quantile, summarize } from './lib/stats.js';

const LEVELS = [0, 16, 1000] as const;
/**
 * The smoke run's levels: the same paths (none, a few, many permits outstanding) with fewer permits
 * to set up, so that CI's smoke run takes seconds.
 */
const QUICK_LEVELS = [0, 16, 100] as const;
const MODES = ['async', 'sync'] as const;
/**
 * Decisions between two fresh readings of a frozen contender (not timed): 100, as a sampler
 * reading every 100 ms sees at 1,000 reservations/s.
 */
const REFRESH_EVERY = 100;
type Mode = (typeof MODES)[number];
const DECISION_P99_TARGET_US = 50;
const LAG_P99_TARGET_MS = 0.5;
const RATE_PER_S = 1000;
const HOLD_MS = 16;
const BUILT_IN = "Temporal fixed-size / resource-based (decided in core's Rust: no JS call to time)";

/** Decision times of one contender, mode and level, in microseconds. */
interface DecisionRun {
  contender: string;
  mode: Mode;
  outstanding: number;
  round: number;
  p50Us: number;
  p99Us: number;
  /** Mean microseconds of a whole reserve -> markUsed -> release cycle. */
  cycleUs: number;
  /**
   * Median of the decisions right after a fresh reading (1 in {@link REFRESH_EVERY}: they run with
   * the caches the refresh left cold, and set the p99), and p99 of the others.
   */
  afterRefreshP50Us: number;
  restP99Us: number;
  /** Permits the supplier reported issued while it was measured (outstanding + the one decided). */
  issuedSeen: number | null;
  refusals: number;
}

/** One paced window of {@link RATE_PER_S} reservations/s. */
interface LagRun {
  variant: string;
  round: number;
  offered: number;
  granted: number;
  seconds: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  decisionP50Us: number;
  decisionP99Us: number;
}

/**
 * Times `samples` reservations of `c` with `outstanding` other permits held (reserved and marked
 * used): each decision alone, then mark-used and release so the level stays put.
 */
async function measureDecisions(
  c: PermitContender,
  mode: Mode,
  outstanding: number,
  samples: number,
): Promise<Omit<DecisionRun, 'contender' | 'mode' | 'outstanding' | 'round'>> {
  const holding: unknown[] = [];
  for (let i = 0; i < outstanding; i++) {
    if (i % REFRESH_EVERY === 0) await c.refresh?.();
    const permit = await c.reserve();
    c.markUsed(permit);
    holding.push(permit);
  }
  const times = new Array<number>(samples);
  let refusals = 0;
  let issuedSeen: number | null = null;
  let refreshMs = 0;
  const start = performance.now();
  for (let i = 0; i < samples; i++) {
    if (i % REFRESH_EVERY === 0 && c.refresh) {
      const r = performance.now();
      await c.refresh();
      refreshMs += performance.now() - r;
    }
    // Core gives every reservation a signal of its own; made before the clock starts (it is core's
    // cost), so what a supplier does with it is timed as it is under a Worker.
    const signal = mode === 'async' ? new AbortController().signal : undefined;
    const t = performance.now();
    const permit = signal ? await c.reserve(signal) : c.tryReserve();
    times[i] = (performance.now() - t) * 1000;
    if (permit === null) {
      refusals++;
      continue;
    }
    if (i === 0) issuedSeen = c.snapshot()?.issued ?? null;
    c.markUsed(permit);
    c.release(permit);
  }
  const cycleUs = ((performance.now() - start - refreshMs) * 1000) / samples;
  for (const permit of holding) c.release(permit);
  const afterRefresh = times.filter((_, i) => i % REFRESH_EVERY === 0);
  const rest = times.filter((_, i) => i % REFRESH_EVERY !== 0);
  return {
    p50Us: quantile(times, 0.5),
    p99Us: quantile(times, 0.99),
    cycleUs,
    afterRefreshP50Us: quantile(afterRefresh, 0.5),
    restP99Us: quantile(rest, 0.99),
    issuedSeen,
    refusals,
  };
}

/**
 * Offers {@link RATE_PER_S} reservations/s to `c` for `ms`; each granted permit is marked used and
 * released {@link HOLD_MS} later (about 16 outstanding). Records the event-loop delay meanwhile.
 */
export async function pacedLoop(c: PermitContender, ms: number): Promise<Omit<LagRun, 'variant' | 'round'>> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const decisions: number[] = [];
  const releases = new Set<NodeJS.Timeout>();
  let offered = 0;
  let granted = 0;
  const t0 = performance.now();
  h.enable();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor((elapsed * RATE_PER_S) / 1000), Math.floor((ms * RATE_PER_S) / 1000));
      while (offered < due) {
        offered++;
        // An admitted reservation is decided inside reserve(); the promise only carries the answer.
        const t = performance.now();
        const reservation = c.reserve();
        decisions.push((performance.now() - t) * 1000);
        void reservation.then((permit) => {
          granted++;
          c.markUsed(permit);
          const release = setTimeout(() => {
            releases.delete(release);
            c.release(permit);
          }, HOLD_MS);
          releases.add(release);
        });
      }
      if (elapsed >= ms) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  await new Promise((r) => setTimeout(r, HOLD_MS * 3));
  for (const release of releases) clearTimeout(release);
  return {
    offered,
    granted,
    seconds,
    lagP50Ms: h.percentile(50) / 1e6,
    lagP99Ms: h.percentile(99) / 1e6,
    lagMaxMs: h.max / 1e6,
    decisionP50Us: quantile(decisions, 0.5),
    decisionP99Us: quantile(decisions, 0.99),
  };
}

/** Microseconds per synchronous CPU+memory sample (real /proc and cgroup files). */
function sampleCostUs(n: number): number {
  const sampler = new ResourceSampler({ intervalMs: 100 });
  sampler.sampleNow();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    sampler.sampleNow();
    times.push((performance.now() - t) * 1000);
  }
  sampler.stop();
  return median(times);
}

/** Weighs permits and waiters in a fresh process with `--expose-gc` (bench/lib/permit-memory-child.ts). */
function weigh(n: number): Promise<PermitMemory[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(BENCH_DIR, 'lib/permit-memory-child.ts'), String(n)],
      { cwd: join(BENCH_DIR, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`permit-memory-child exited with ${code}`));
      else
        resolve(
          out
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as PermitMemory),
        );
    });
  });
}

/** Scenario 1: decision time, event-loop lag and heap bytes per permit. */
export const permitCost: Scenario = {
  name: 'permit-cost',
  title: '1 permit cost',
  run: runPermitCost,
};

async function runPermitCost(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, log } = ctx;
  // Quick: 300 samples still take three fresh readings (one per REFRESH_EVERY decisions).
  const samples = args.quick ? 300 : 10_000;
  // Steady state: V8 optimizes a hot function after thousands of calls, on a background thread that
  // shares the two cores. After 500, the first round still measured that work (composite p99 56 / 75
  // us in round 1, 30-45 us in later rounds; bench/README.md, finding 17).
  const warmUp = args.quick ? 100 : 10_000;
  const levels: readonly number[] = args.quick ? QUICK_LEVELS : LEVELS;
  const windowMs = args.quick ? 500 : 3000;
  const weighN = args.quick ? 1000 : 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-bench-permit-'));
  try {
    // 1a: decision time.
    const contenders = await frozenContenders(join(dir, 'decide'), { maxSlots: 100_000, mode: 'gate' });
    for (const c of contenders) for (const mode of MODES) await measureDecisions(c, mode, 16, warmUp); // JIT warm-up
    const decisions: DecisionRun[] = [];
    for (let round = 0; round < args.rounds; round++) {
      for (const c of rotate(contenders, round)) {
        for (const mode of MODES) {
          for (const outstanding of levels) {
            const r = await measureDecisions(c, mode, outstanding, samples);
            decisions.push({ contender: c.id, mode, outstanding, round, ...r });
          }
        }
      }
      log(`decision times: round ${round + 1}/${args.rounds} done`);
    }
    for (const c of contenders) c.close();

    // 1b: event-loop lag at 1k reservations/s, each supplier with its default sampler.
    const host = frozenHost(join(dir, 'lag'));
    const variants: ContenderFactory[] = [
      {
        id: 'floor',
        label: 'inline semaphore, no sampler (baseline)',
        create: () => floorContender(100_000),
      },
      ...defaultSamplerContenders(host.nvidiaSmi),
    ];
    const lags: LagRun[] = [];
    for (let round = 0; round < args.rounds; round++) {
      for (const v of rotate(variants, round)) {
        const c = v.create();
        await new Promise((r) => setTimeout(r, 300)); // let its sampler take its first readings
        try {
          lags.push({ variant: v.id, round, ...(await pacedLoop(c, windowMs)) });
        } finally {
          c.close();
        }
      }
      log(`event-loop lag: round ${round + 1}/${args.rounds} done`);
    }
    const perSampleUs = sampleCostUs(args.quick ? 200 : 2000);

    // 1c: heap bytes per permit and per waiting reservation.
    const weights: Array<PermitMemory & { round: number }> = [];
    for (let round = 0; round < args.rounds; round++) {
      for (const w of await weigh(weighN)) weights.push({ ...w, round });
    }
    log(`weighed ${weighN} permits and waiters per supplier, ${args.rounds} time(s)`);

    return report({
      args,
      contenders,
      variants,
      decisions,
      lags,
      weights,
      perSampleUs,
      samples,
      levels,
      windowMs,
      weighN,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(m: {
  args: ScenarioContext['args'];
  contenders: PermitContender[];
  variants: ContenderFactory[];
  decisions: DecisionRun[];
  lags: LagRun[];
  weights: Array<PermitMemory & { round: number }>;
  perSampleUs: number;
  samples: number;
  levels: readonly number[];
  windowMs: number;
  weighN: number;
}): ScenarioReport {
  const { args, contenders, variants, decisions, lags, weights, levels } = m;
  const most = levels.at(-1)!;
  const of = (id: string, mode: Mode, level: number) =>
    decisions.filter((d) => d.contender === id && d.mode === mode && d.outstanding === level);
  const decisionTable = (mode: Mode) => ({
    title: `Scenario 1a - decision time of one ${mode === 'async' ? 'reserveSlot (core polls with it)' : 'tryReserveSlot (eager dispatch)'}, microseconds p50 / p99 by permits outstanding; median of ${args.rounds} interleaved rounds of ${m.samples} decisions`,
    headers: ['supplier', ...levels.map((l) => `${l} outstanding`), `cycle us (${most} out.)`],
    rows: [
      ...contenders.map((c) => [
        c.label,
        ...levels.map((l) => {
          const rs = of(c.id, mode, l);
          return `${fmt(median(rs.map((r) => r.p50Us)), 2)} / ${fmt(median(rs.map((r) => r.p99Us)), 2)}`;
        }),
        fmt(median(of(c.id, mode, most).map((r) => r.cycleUs)), 2),
      ]),
      [BUILT_IN, ...levels.map(() => 'n/a'), 'n/a'],
    ],
    notes: [
      'Resource suppliers read frozen samples (fake /proc, fake nvidia-smi), minSlots 0, ramp 0, settleMs 0 and a small declared cost: every decision runs the whole gate (from sums kept on issue, mark-used and release, not a walk of the live permits).',
      'outstanding = permits reserved and marked used before the timed decisions; cycle = mean time of reserve + markUsed + release.',
      `Every ${REFRESH_EVERY} decisions each contender (the floor and FixedSlotSupplier too) takes the same fresh readings, untimed; the decision after it runs with cold caches whichever supplier decides, so it sets part of every p99.`,
      `p99 of ${m.samples} decisions per round; a p99 under ~5 us is at the resolution of what one round can show.`,
    ],
  });

  const worstP99 = (id: string) =>
    Math.max(...MODES.flatMap((mode) => levels.map((l) => median(of(id, mode, l).map((r) => r.p99Us)))));

  const lagOf = (id: string) => lags.filter((l) => l.variant === id).sort((a, b) => a.round - b.round);
  const base = lagOf('floor');
  const addedP99 = (id: string) =>
    median(lagOf(id).map((l, i) => l.lagP99Ms - (base[i]?.lagP99Ms ?? Number.NaN)));
  const lagRows = variants.map((v) => {
    const ls = lagOf(v.id);
    return [
      v.label,
      fmtSummary(summarize(ls.map((l) => l.granted / l.seconds)), 0),
      fmtSummary(summarize(ls.map((l) => l.lagP50Ms)), 3),
      fmtSummary(summarize(ls.map((l) => l.lagP99Ms)), 3),
      v.id === 'floor' ? '-' : fmt(addedP99(v.id), 3),
      fmtSummary(summarize(ls.map((l) => l.decisionP99Us)), 1),
    ];
  });
  lagRows.push([
    'Temporal built-ins (sample and decide on Rust threads)',
    '-',
    '-',
    '-',
    '0 by construction',
    'n/a',
  ]);

  const weightOf = (id: string) => weights.filter((w) => w.id === id);
  const weightRows = contenders.map((c) => [
    c.label,
    fmtSummary(summarize(weightOf(c.id).map((w) => w.bytesPerPermit)), 0),
    fmtSummary(summarize(weightOf(c.id).map((w) => w.bytesPerWaiter)), 0),
  ]);
  weightRows.push(["Temporal built-ins (core's memory, not the JS heap)", 'n/a', 'n/a']);

  const suppliers = contenders.filter((c) => c.id !== 'floor');
  const verdicts: ScenarioReport['verdicts'] = [
    ...suppliers.map((c) => {
      const worst = worstP99(c.id);
      return {
        target: `${c.label}: p99 decision <= ${DECISION_P99_TARGET_US} us at ${levels.slice(0, -1).join(', ')} and ${most} outstanding (reserveSlot and tryReserveSlot)`,
        met: worst <= DECISION_P99_TARGET_US,
        note: `worst p99 ${fmt(worst, 2)} us (${MODES.map((mode) => `${mode} at ${most}: ${fmt(median(of(c.id, mode, most).map((r) => r.p99Us)), 2)} us`).join(', ')})`,
      };
    }),
    ...variants
      .filter((v) => v.id !== 'floor')
      .map((v) => ({
        target: `${v.label}: adds <= ${LAG_P99_TARGET_MS} ms to the event-loop p99 at ${RATE_PER_S} reservations/s`,
        met: addedP99(v.id) <= LAG_P99_TARGET_MS,
        note: `p99 ${fmt(median(lagOf(v.id).map((l) => l.lagP99Ms)), 3)} ms vs ${fmt(median(base.map((l) => l.lagP99Ms)), 3)} ms for the baseline loop: ${addedP99(v.id) >= 0 ? '+' : ''}${fmt(addedP99(v.id), 3)} ms (median of per-round differences)`,
      })),
  ];

  const figures: Figure[] = [
    ...contenders.flatMap((c) =>
      MODES.flatMap((mode) =>
        levels.map((l) => ({
          id: `decision-p99-us/${c.id}/${mode}/${l}`,
          label: `${c.label}: ${mode === 'async' ? 'reserveSlot' : 'tryReserveSlot'} p99 at ${l} outstanding`,
          value: median(of(c.id, mode, l).map((r) => r.p99Us)),
          unit: 'us',
        })),
      ),
    ),
    ...variants
      .filter((v) => v.id !== 'floor')
      .map((v) => ({
        id: `lag-p99-added-ms/${v.id}`,
        label: `${v.label}: event-loop p99 added at 1k reservations/s`,
        value: addedP99(v.id),
        unit: 'ms',
        digits: 3,
      })),
    ...contenders.flatMap((c) => [
      {
        id: `bytes-per-permit/${c.id}`,
        label: `${c.label}: heap bytes per outstanding permit`,
        value: median(weightOf(c.id).map((w) => w.bytesPerPermit)),
        unit: 'B',
        digits: 0,
      },
      {
        id: `bytes-per-waiter/${c.id}`,
        label: `${c.label}: heap bytes per waiting reservation`,
        value: median(weightOf(c.id).map((w) => w.bytesPerWaiter)),
        unit: 'B',
        digits: 0,
      },
    ]),
  ];

  // Preconditions: each measurement held what it says it held, and the paced loop kept its pace.
  const wrongLevel = decisions.filter(
    (d) => d.contender !== 'floor' && d.mode === 'async' && d.issuedSeen !== d.outstanding + 1,
  );
  const refused = decisions.filter((d) => d.refusals > 0);
  const badWeights = weights.filter(
    (w) =>
      w.id !== 'floor' &&
      (w.counts.held?.issued !== w.n ||
        w.counts.held?.used !== w.n ||
        w.counts.waiting?.waiting !== w.n ||
        w.counts.afterPermits?.issued !== 0 ||
        w.counts.afterWaiters?.issued !== 0 ||
        w.counts.afterWaiters?.waiting !== 0),
  );
  const slow = lags.filter(
    (l) => l.offered < 0.95 * RATE_PER_S * (m.windowMs / 1000) || l.granted < 0.95 * l.offered,
  );
  const preconditions = [
    precondition(
      'every timed decision had exactly the intended permits outstanding',
      wrongLevel.length === 0,
      wrongLevel.length === 0
        ? `${levels.join(', ')} (+ the one decided), checked on the supplier's snapshot`
        : wrongLevel.map((d) => `${d.contender} at ${d.outstanding}: issued ${d.issuedSeen}`).join(', '),
    ),
    precondition(
      'every timed decision admitted (a refusal would time the refusal path)',
      refused.length === 0,
      refused.length === 0
        ? `${decisions.length} measurements`
        : refused
            .map((d) => `${d.contender} ${d.mode} at ${d.outstanding}: ${d.refusals} refusals`)
            .join(', '),
    ),
    precondition(
      `the weighing held exactly N permits, then N waiting reservations, and ended with none (N = ${m.weighN}, GPU ${Math.min(m.weighN, GPU_MAX)})`,
      badWeights.length === 0,
      badWeights.length === 0
        ? `${weights.length} weighings`
        : badWeights.map((w) => `${w.id}: ${JSON.stringify(w.counts)}`).join(', '),
    ),
    machineAllows(
      `the paced loop offered and got granted >= 95% of ${RATE_PER_S} reservations/s`,
      slow.length === 0,
      slow.length === 0
        ? `${lags.length} windows of ${m.windowMs / 1000} s`
        : slow
            .map(
              (l) =>
                `${l.variant} round ${l.round + 1}: ${l.offered} offered, ${l.granted} granted in ${fmt(l.seconds, 2)} s`,
            )
            .join(', '),
    ),
  ];

  return {
    settings: {
      samples: m.samples,
      levels,
      lagWindowMs: m.windowMs,
      ratePerS: RATE_PER_S,
      holdMs: HOLD_MS,
      weighN: m.weighN,
      targets: { decisionP99Us: DECISION_P99_TARGET_US, addedLagP99Ms: LAG_P99_TARGET_MS },
    },
    preconditions,
    tables: [
      decisionTable('async'),
      decisionTable('sync'),
      {
        title: `Scenario 1a - where the p99 comes from: reserveSlot, microseconds, median of ${args.rounds} rounds`,
        headers: ['supplier', ...levels.map((l) => `${l} out.: after a reading p50 / rest p99`)],
        rows: contenders.map((c) => [
          c.label,
          ...levels.map((l) => {
            const rs = of(c.id, 'async', l);
            return `${fmt(median(rs.map((r) => r.afterRefreshP50Us)), 2)} / ${fmt(median(rs.map((r) => r.restP99Us)), 2)}`;
          }),
        ]),
        notes: [
          `"after a reading" = the decision right after each fresh reading (1 in ${REFRESH_EVERY}, so about the p99 when it is the slowest); "rest" = the other decisions. A refresh's file I/O leaves caches cold for whatever decides next, the floor and FixedSlotSupplier included (bench/README finding 9).`,
        ],
      },
      {
        title: `Scenario 1b - event loop at ${RATE_PER_S} reservations/s (each permit marked used, released ${HOLD_MS} ms later), each supplier with the sampler it creates by default; ${m.windowMs / 1000} s windows, median [min..max] of ${args.rounds} interleaved rounds`,
        headers: ['supplier', 'granted/s', 'lag p50 ms', 'lag p99 ms', 'p99 added ms', 'decision p99 us'],
        rows: lagRows,
        notes: [
          'lag = monitorEventLoopDelay (1 ms resolution) over the window; p99 added = per-round difference to the baseline loop (the same pacing through an inline semaphore, no sampler), median.',
          'Suppliers run with targetUtilization 1, minSlots 0 and a zero declared cost (the whole gate runs on every decision, and admission does not depend on how busy this machine is) and rampThrottleMs 0 (the default ramp, one permit per 50 ms above minSlots, would cap admissions at 20/s: a policy, not a cost); settleMs stays at its default, so recent releases are remembered as in a real Worker.',
          'decision p99 = the synchronous reserveSlot call of each admitted reservation in this loop (the promise only carries the answer).',
          `One synchronous CPU+memory sample (real /proc and cgroup files) costs ${fmt(m.perSampleUs, 1)} us (median of ${args.quick ? 200 : 2000}).`,
        ],
      },
      {
        title: `Scenario 1c - heap bytes per outstanding permit and per waiting reservation (process.memoryUsage().heapUsed after gc, over ${m.weighN} of each, fresh process); median [min..max] of ${args.rounds}`,
        headers: ['supplier', 'bytes per permit', 'bytes per waiting reservation'],
        rows: weightRows,
        notes: [
          "A permit is reserved and marked used, and held by the caller as core holds it; a waiting reservation is a pending reserveSlot with its own AbortSignal (the signal is allocated before the baseline: it is core's, not the supplier's).",
          'Resource suppliers here admit by count (minSlots = maxSlots), so the gate does not turn 100k admissions quadratic; what a permit weighs does not depend on it.',
          `GpuSlotSupplier is weighed over at most ${GPU_MAX} of each: it picks a device for every permit by walking (and copying) all live permits, even within minSlots, so 100k admissions would take O(n^2).`,
        ],
      },
    ],
    verdicts,
    figures,
    data: { decisions, lags, weights, sampleCostUs: m.perSampleUs },
  };
}

if (isMain(import.meta.url)) runAsScript(permitCost);
