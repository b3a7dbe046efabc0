// What the memory guard (scenario 3) counts as allowed: how many tasks a target leaves room for,
// with each task counted at what it really adds to the cgroup's working set.
import type { CgroupRunResult } from './cgroup-run.js';
import { median } from './stats.js';

/** The run's first working-set reading: the Worker before its first task. */
export function idleWorkingSet(r: Pick<CgroupRunResult, 'series'>): number {
  return r.series.find((p) => p.workingSetBytes !== null)?.workingSetBytes ?? 0;
}

/**
 * The tasks a target allows at once: floor((target x limit - idle working set) / task footprint),
 * where the footprint is what one task really adds (see {@link taskFootprint}).
 */
export function allowedTasks(
  r: Pick<CgroupRunResult, 'series'>,
  limitBytes: number,
  target: number,
  footprint: number,
): number {
  return Math.max(0, Math.floor((target * limitBytes - idleWorkingSet(r)) / footprint));
}

/**
 * What one task adds to the cgroup's working set: its buffer plus the worker thread that holds it
 * (an isolate of its own: about 9 MiB in a bare Node process, more in a Worker). From a fixed-size
 * run: the samples taken while `slots` tasks ran and every one of them was holding its buffer
 * (between `end - holdMs` and `end`, 100 ms inside either edge), as (working set - idle) / slots;
 * the median of them. `null` without such samples.
 */
export function taskFootprint(
  r: Pick<CgroupRunResult, 'series' | 'events' | 't0'>,
  holdMs: number,
  slots: number,
): number | null {
  const spans = new Map<number, { start?: number; end?: number }>();
  for (const e of r.events) {
    const span = spans.get(e.index) ?? {};
    if (e.type === 'start') span.start = e.t;
    else span.end = e.t;
    spans.set(e.index, span);
  }
  const done = [...spans.values()].filter(
    (x): x is { start: number; end: number } => x.start !== undefined && x.end !== undefined,
  );
  const idle = idleWorkingSet(r);
  const margin = 100;
  const perTask: number[] = [];
  for (const p of r.series) {
    if (p.workingSetBytes === null) continue;
    const t = r.t0 + p.t * 1000;
    const running = done.filter((x) => x.start <= t && t < x.end);
    const holding = running.filter((x) => x.end - holdMs + margin <= t && t <= x.end - margin);
    if (running.length === slots && holding.length === slots)
      perTask.push((p.workingSetBytes - idle) / slots);
  }
  return perTask.length > 0 ? median(perTask) : null;
}
