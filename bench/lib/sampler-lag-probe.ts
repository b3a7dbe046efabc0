// Where the event-loop lag of scenario 1b comes from (issue 16): the paced loop of permit-cost
// (1,000 reservations/s, each permit marked used and released 16 ms later) through the floor and
// through CPU and memory suppliers, with and without their sampler ticking, and a bare sampler
// beside the floor (its reads, no listener). Each sampler tick is timed in two parts: the monitor
// reads, and the listeners it wakes (the supplier's observe and wake-up). GC pauses are counted.
//
//   npx tsx bench/lib/sampler-lag-probe.ts [rounds=6] [windowMs=3000] [variant,...]
//
// Not a scenario: a probe for finding a cause, with a baseline measured in the same process,
// interleaved with the others round by round.
import { PerformanceObserver } from 'node:perf_hooks';
import { ResourceSampler } from '../../src/resources/sampler.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { HeapSlotSupplier } from '../../src/suppliers/heap-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { pacedLoop } from '../permit-cost.js';
import { floorContender, type PermitContender, supplierContender } from './permit-contenders.js';
import { rotate } from './scenario.js';
import { median } from './stats.js';

const rounds = Number(process.argv[2] ?? 6);
const windowMs = Number(process.argv[3] ?? 3000);
const only = process.argv[4]?.split(',');

/** Timings of one sampler's ticks: whole tick, monitor reads, listeners (the rest). */
interface Ticks {
  total: number[];
  reads: number[];
}

/** Wraps the sampler's sampleNow and its monitors' read() with timers. */
function instrument(sampler: ResourceSampler): Ticks {
  const ticks: Ticks = { total: [], reads: [] };
  let reading = 0;
  const heap = (sampler as unknown as { heap?: { read(): unknown } | null }).heap ?? null;
  for (const monitor of [sampler.cpu, sampler.memory, heap] as Array<{ read(): unknown } | null>) {
    if (monitor === null) continue;
    const read = monitor.read.bind(monitor);
    monitor.read = () => {
      const t = performance.now();
      try {
        return read();
      } finally {
        reading += performance.now() - t;
      }
    };
  }
  const sampleNow = sampler.sampleNow.bind(sampler);
  sampler.sampleNow = () => {
    reading = 0;
    const t = performance.now();
    const sample = sampleNow();
    ticks.total.push((performance.now() - t) * 1000);
    ticks.reads.push(reading * 1000);
    return sample;
  };
  return ticks;
}

interface Variant {
  id: string;
  create(): { contender: PermitContender; ticks: Ticks | null; settle?: () => void };
}

const open = { targetUtilization: 1, maxSlots: 100_000, minSlots: 0, rampThrottleMs: 0 };
const samplerOf = (supplier: object) => (supplier as unknown as { sampler: ResourceSampler }).sampler;

const variants: Variant[] = [
  { id: 'floor', create: () => ({ contender: floorContender(100_000), ticks: null }) },
  {
    id: 'floor+cpu-sampler',
    create() {
      const sampler = new ResourceSampler({ memory: false });
      const ticks = instrument(sampler);
      sampler.start();
      const floor = floorContender(100_000);
      return { contender: { ...floor, close: () => sampler.stop() }, ticks };
    },
  },
  {
    id: 'floor+mem-sampler',
    create() {
      const sampler = new ResourceSampler({ cpu: false });
      const ticks = instrument(sampler);
      sampler.start();
      const floor = floorContender(100_000);
      return { contender: { ...floor, close: () => sampler.stop() }, ticks };
    },
  },
  {
    id: 'cpu',
    create() {
      const cpu = new CpuSlotSupplier({ ...open, costs: { default: { cpu: 0 } } });
      const ticks = instrument(samplerOf(cpu));
      return { contender: supplierContender('cpu', 'cpu', cpu, () => cpu.close()), ticks };
    },
  },
  {
    // The same supplier whose sampler stops after its first readings: decisions without ticks.
    id: 'cpu-no-ticks',
    create() {
      const cpu = new CpuSlotSupplier({ ...open, staleAfterMs: 2 ** 31 - 1, costs: { default: { cpu: 0 } } });
      const sampler = samplerOf(cpu);
      return {
        contender: supplierContender('cpu-no-ticks', 'cpu-no-ticks', cpu, () => cpu.close()),
        ticks: null,
        settle: () => sampler.stop(),
      };
    },
  },
  {
    id: 'memory',
    create() {
      const memory = new MemorySlotSupplier({ ...open, costs: { default: { memoryBytes: 0 } } });
      const ticks = instrument(samplerOf(memory));
      return { contender: supplierContender('memory', 'memory', memory, () => memory.close()), ticks };
    },
  },
  {
    // Its releases are followed until a full collection, for up to 30 s.
    id: 'heap',
    create() {
      const heap = new HeapSlotSupplier({ ...open, costs: { default: { heapBytes: 0 } } });
      const ticks = instrument(samplerOf(heap));
      return { contender: supplierContender('heap', 'heap', heap, () => heap.close()), ticks };
    },
  },
].filter((v) => only === undefined || only.includes(v.id));

interface Row {
  id: string;
  round: number;
  p99: number;
  max: number;
  ticks: number;
  tickP50: number;
  tickMax: number;
  readP50: number;
  listenP50: number;
  listenMax: number;
  gcs: number;
  gcMs: number;
  gcMaxMs: number;
}

const gcs: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcs.push(entry.duration);
});
observer.observe({ entryTypes: ['gc'] });

// Warm-up: one short window of each, not recorded.
for (const v of variants) {
  const { contender, settle } = v.create();
  await new Promise((r) => setTimeout(r, 300));
  settle?.();
  await pacedLoop(contender, 500);
  contender.close();
}

const rows: Row[] = [];
for (let round = 0; round < rounds; round++) {
  for (const v of rotate(variants, round)) {
    const { contender, ticks, settle } = v.create();
    await new Promise((r) => setTimeout(r, 300));
    settle?.();
    if (ticks) {
      ticks.total.length = 0;
      ticks.reads.length = 0;
    }
    await new Promise((r) => setTimeout(r, 0));
    gcs.length = 0;
    const lag = await pacedLoop(contender, windowMs);
    const gc = [...gcs];
    contender.close();
    const total = ticks?.total ?? [];
    const listen = total.map((t, i) => t - (ticks?.reads[i] ?? 0));
    rows.push({
      id: v.id,
      round,
      p99: lag.lagP99Ms,
      max: lag.lagMaxMs,
      ticks: total.length,
      tickP50: median(total),
      tickMax: Math.max(0, ...total),
      readP50: median(ticks?.reads ?? []),
      listenP50: median(listen),
      listenMax: Math.max(0, ...listen),
      gcs: gc.length,
      gcMs: gc.reduce((s, d) => s + d, 0),
      gcMaxMs: Math.max(0, ...gc),
    });
  }
  process.stderr.write(`round ${round + 1}/${rounds}\n`);
}
observer.disconnect();

const f = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const base = rows.filter((r) => r.id === 'floor');
console.log(
  [
    'variant',
    'p99 ms med [min..max]',
    'added p99 ms med [min..max]',
    'tick us p50',
    'tick us max',
    'read us p50',
    'listeners us p50',
    'listeners us max',
    'gc/window',
    'gc ms/window',
    'gc max ms',
  ].join(' | '),
);
for (const v of variants) {
  const rs = rows.filter((r) => r.id === v.id);
  const added = rs.map((r) => r.p99 - (base.find((b) => b.round === r.round)?.p99 ?? Number.NaN));
  const m = (k: keyof Row) => median(rs.map((r) => r[k] as number));
  console.log(
    [
      v.id,
      `${f(m('p99'))} [${f(Math.min(...rs.map((r) => r.p99)))}..${f(Math.max(...rs.map((r) => r.p99)))}]`,
      v.id === 'floor' ? '-' : `${f(median(added))} [${f(Math.min(...added))}..${f(Math.max(...added))}]`,
      f(m('tickP50'), 0),
      f(m('tickMax'), 0),
      f(m('readP50'), 0),
      f(m('listenP50'), 0),
      f(m('listenMax'), 0),
      f(m('gcs'), 1),
      f(m('gcMs'), 2),
      f(m('gcMaxMs'), 2),
    ].join(' | '),
  );
}
if (process.env.PROBE_ROWS) console.log(JSON.stringify(rows));
