import { describe, expect, it } from 'vitest';
import type { CgroupRunResult } from '../../bench/lib/cgroup-run.js';
import { allowedTasks, taskFootprint } from '../../bench/lib/memory-footprint.js';

const MiB = 1024 ** 2;
const T0 = 1_000_000;
const IDLE = 140 * MiB;
const HOLD_MS = 2500;

/**
 * A fixed-size run as the memory guard records it: waves of `slots` tasks that each fill their
 * buffer over `fillMs` (the working set rising linearly) and hold it `HOLD_MS`, sampled every 50 ms.
 */
function waves(slots: number, waveCount: number, perTask: number, fillMs = 1000) {
  const events: CgroupRunResult['events'] = [];
  const spans: Array<{ start: number; end: number }> = [];
  let index = 0;
  for (let w = 0; w < waveCount; w++) {
    const start = T0 + 200 + w * (fillMs + HOLD_MS + 300);
    for (let k = 0; k < slots; k++) {
      const end = start + fillMs + HOLD_MS;
      spans.push({ start, end });
      events.push({ type: 'start', activity: 'holdMemory', index, t: start });
      events.push({ type: 'end', activity: 'holdMemory', index, t: end });
      index++;
    }
  }
  const last = Math.max(...spans.map((s) => s.end)) + 500;
  const series: CgroupRunResult['series'] = [];
  for (let t = T0; t <= last; t += 50) {
    let ws = IDLE;
    for (const s of spans) {
      if (t < s.start || t >= s.end) continue;
      ws += perTask * Math.min(1, (t - s.start) / fillMs);
    }
    series.push({ t: (t - T0) / 1000, usageBytes: ws, workingSetBytes: ws, cpuMs: null });
  }
  return { t0: T0, events, series };
}

describe('memory guard: what a task really adds', () => {
  it('taskFootprint() takes (working set - idle) / slots only from samples where every task holds its buffer', () => {
    // 265 MiB per task: a sample taken while the buffers still fill would give less.
    expect(taskFootprint(waves(7, 2, 265 * MiB), HOLD_MS, 7)).toBe(265 * MiB);
    expect(taskFootprint(waves(3, 1, 130 * MiB, 400), HOLD_MS, 3)).toBe(130 * MiB);
  });

  it('taskFootprint() is null when no sample had that many tasks all holding', () => {
    expect(taskFootprint(waves(6, 2, 265 * MiB), HOLD_MS, 7)).toBeNull();
    // A fill longer than the run's hold: no task ever holds inside the margins.
    const run = waves(2, 1, 265 * MiB);
    expect(taskFootprint({ ...run, series: run.series.filter((p) => p.t < 1.2) }, HOLD_MS, 2)).toBeNull();
  });

  it('allowedTasks() counts what a target leaves room for at the footprint, not at the buffer size', () => {
    const run = waves(7, 1, 265 * MiB);
    // floor((0.95 x 2048 - 140) / 256) = 7 with the buffer size; the 7th task goes over the target.
    expect(allowedTasks(run, 2048 * MiB, 0.95, 256 * MiB)).toBe(7);
    expect(allowedTasks(run, 2048 * MiB, 0.95, 265 * MiB)).toBe(6);
    expect(allowedTasks(run, 2048 * MiB, 0.9, 265 * MiB)).toBe(6);
    expect(allowedTasks(run, 256 * MiB, 0.5, 265 * MiB)).toBe(0);
  });
});
