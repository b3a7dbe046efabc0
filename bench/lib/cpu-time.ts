// CPU time of a Worker child per completed activity: a figure that does not move with how fast the
// dev server answers (tasks/s on a shared 2-core machine does), so a per-activity cost a supplier
// adds shows even when the server bounds throughput.
import type { CpuSample } from './child-protocol.js';

/** CPU microseconds (user + system) spent between two samples of one process; `NaN` if either is missing. */
export function cpuMicrosBetween(before: CpuSample | null, after: CpuSample | null): number {
  if (before === null || after === null) return Number.NaN;
  const spent = after.userUs + after.systemUs - (before.userUs + before.systemUs);
  // process.cpuUsage() only grows: a negative difference means the samples were swapped or mixed up.
  if (!(spent >= 0)) {
    throw new RangeError(`CPU time went backwards between two samples (${spent} us): samples swapped?`);
  }
  return spent;
}

/**
 * CPU microseconds per completed activity between `before` and `after`: `NaN` when no activity
 * completed or a sample is missing (a hung or dead child), so it never enters a median as 0 or
 * infinity.
 */
export function cpuMicrosPerTask(
  before: CpuSample | null,
  after: CpuSample | null,
  completed: number,
): number {
  const spent = cpuMicrosBetween(before, after);
  return completed > 0 && Number.isFinite(spent) ? spent / completed : Number.NaN;
}

/** The share of one core the process used over `seconds` of wall time (1 = one core busy). */
export function coresBusy(before: CpuSample | null, after: CpuSample | null, seconds: number): number {
  const spent = cpuMicrosBetween(before, after);
  return seconds > 0 && Number.isFinite(spent) ? spent / 1e6 / seconds : Number.NaN;
}

/**
 * The share of wall time the child's main thread spent running JavaScript and callbacks between two
 * samples (its event-loop utilization): near 1, the loop is the bottleneck, and every call core makes
 * into a custom slot supplier waits behind the activities' own work.
 */
export function loopUtilization(before: CpuSample | null, after: CpuSample | null): number {
  if (before === null || after === null) return Number.NaN;
  const active = after.loopActiveMs - before.loopActiveMs;
  const idle = after.loopIdleMs - before.loopIdleMs;
  return active + idle > 0 ? active / (active + idle) : Number.NaN;
}
