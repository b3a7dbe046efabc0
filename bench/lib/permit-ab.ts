// A/B probe of scenario 1a's decision time for ONE contender, in a process of its own, so that two
// commits (or two worktrees) can be compared by running this file alternately in each, many times,
// on a busy machine: it prints one JSON line per run and nothing else. The measurement is
// bench/permit-cost.ts's `measureDecisions` (the same warm-up, the same untimed fresh reading every
// 100 decisions, the same permits held), with two additions that only look:
// - the p99 of the decisions right after a reading and of the others, as scenario 1a's "where the p99
//   comes from" table;
// - which slow decisions (above the p99) overlapped a garbage collection (`--gc`: a
//   PerformanceObserver of 'gc' entries, which are stamped on the same clock).
//
// Usage: tsx bench/lib/permit-ab.ts <contender id> [--outstanding 1000] [--samples 10000]
//        [--repeats 3] [--mode async|sync] [--refresh-all] [--no-refresh] [--gc]
// `--refresh-all` gives every contender the resource contenders' refresh (older commits refreshed
// only the resource suppliers); `--no-refresh` takes it from all of them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { frozenContenders, type PermitContender } from './permit-contenders.js';

const REFRESH_EVERY = 100;

interface Options {
  id: string;
  outstanding: number;
  samples: number;
  repeats: number;
  mode: 'async' | 'sync';
  refresh: 'as-is' | 'all' | 'none';
  gc: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = {
    id: '',
    outstanding: 1000,
    samples: 10_000,
    repeats: 3,
    mode: 'async',
    refresh: 'as-is',
    gc: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => Number(argv[++i]);
    if (a === '--outstanding') o.outstanding = next();
    else if (a === '--samples') o.samples = next();
    else if (a === '--repeats') o.repeats = next();
    else if (a === '--mode') o.mode = argv[++i] === 'sync' ? 'sync' : 'async';
    else if (a === '--refresh-all') o.refresh = 'all';
    else if (a === '--no-refresh') o.refresh = 'none';
    else if (a === '--gc') o.gc = true;
    else if (!a.startsWith('--')) o.id = a;
    else throw new Error(`permit-ab: unknown option ${a}`);
  }
  if (o.id === '') throw new Error('permit-ab: name a contender (floor, fixed, cpu, memory, gpu, composite)');
  return o;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

interface GcEntry {
  start: number;
  end: number;
}

async function measure(c: PermitContender, o: Options, gcs: GcEntry[]): Promise<Record<string, number>> {
  const holding: unknown[] = [];
  for (let i = 0; i < o.outstanding; i++) {
    if (i % REFRESH_EVERY === 0) await c.refresh?.();
    const permit = await c.reserve();
    c.markUsed(permit);
    holding.push(permit);
  }
  const times = new Array<number>(o.samples);
  const starts = new Array<number>(o.samples);
  gcs.length = 0;
  for (let i = 0; i < o.samples; i++) {
    if (i % REFRESH_EVERY === 0 && c.refresh) await c.refresh();
    const signal = o.mode === 'async' ? new AbortController().signal : undefined; // as scenario 1a
    const t = performance.now();
    const permit = signal ? await c.reserve(signal) : c.tryReserve();
    const end = performance.now();
    times[i] = (end - t) * 1000;
    starts[i] = t;
    if (permit === null) throw new Error(`permit-ab: ${c.id} refused a decision`);
    c.markUsed(permit);
    c.release(permit);
  }
  for (const permit of holding) c.release(permit);
  // Let the observer deliver the last entries.
  await new Promise((r) => setTimeout(r, 20));
  const p99 = quantile(times, 0.99);
  let slow = 0;
  let slowInGc = 0;
  for (let i = 0; i < o.samples; i++) {
    if (times[i]! < p99) continue;
    slow++;
    const s = starts[i]!;
    const e = s + times[i]! / 1000;
    if (gcs.some((g) => g.start < e && g.end > s)) slowInGc++;
  }
  return {
    p50: quantile(times, 0.5),
    p99,
    p999: quantile(times, 0.999),
    afterReadingP50: quantile(
      times.filter((_, i) => i % REFRESH_EVERY === 0),
      0.5,
    ),
    restP99: quantile(
      times.filter((_, i) => i % REFRESH_EVERY !== 0),
      0.99,
    ),
    // The 2nd to 10th decision after a reading, and the others: how far the cold caches reach.
    nearP99: quantile(
      times.filter((_, i) => i % REFRESH_EVERY > 0 && i % REFRESH_EVERY < 10),
      0.99,
    ),
    farP99: quantile(
      times.filter((_, i) => i % REFRESH_EVERY >= 10),
      0.99,
    ),
    gcs: gcs.length,
    slow,
    slowInGc,
  };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-permit-ab-'));
  const gcs: GcEntry[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  if (o.gc) observer.observe({ entryTypes: ['gc'] });
  try {
    const all = await frozenContenders(join(dir, 'decide'), { maxSlots: 100_000, mode: 'gate' });
    const shared = all.find((c) => c.refresh !== undefined)?.refresh;
    const pick = all.find((c) => c.id === o.id);
    if (pick === undefined) throw new Error(`permit-ab: no contender '${o.id}'`);
    const c: PermitContender =
      o.refresh === 'none'
        ? { ...pick, refresh: undefined }
        : o.refresh === 'all' && shared !== undefined
          ? { ...pick, refresh: shared }
          : pick;
    for (const mode of ['async', 'sync'] as const)
      await measure(c, { ...o, mode, outstanding: 16, samples: 500 }, gcs);
    const runs: Array<Record<string, number>> = [];
    for (let r = 0; r < o.repeats; r++) runs.push(await measure(c, o, gcs));
    for (const x of all) x.close();
    const med = (k: string) =>
      quantile(
        runs.map((r) => r[k]!),
        0.5,
      );
    process.stdout.write(
      `${JSON.stringify({
        id: o.id,
        mode: o.mode,
        outstanding: o.outstanding,
        refresh: o.refresh,
        p50: med('p50'),
        p99: med('p99'),
        p999: med('p999'),
        afterReadingP50: med('afterReadingP50'),
        restP99: med('restP99'),
        nearP99: med('nearP99'),
        farP99: med('farP99'),
        ...(o.gc ? { gcs: med('gcs'), slow: med('slow'), slowInGc: med('slowInGc') } : {}),
        runs,
      })}\n`,
    );
  } finally {
    observer.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
