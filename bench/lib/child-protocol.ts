import type { CgroupLayout } from '../../src/resources/cgroup.js';
import type { ResourceSupplierSnapshot } from '../../src/suppliers/resource-slot-supplier.js';
import type { ActivityEvent } from './activities.js';
import type { SupplierSpec } from './suppliers.js';

/** What the parent passes to bench/lib/worker-child.ts (JSON in `BENCH_CHILD_CONFIG`). */
export interface ChildConfig {
  address: string;
  taskQueue: string;
  bundlePath: string;
  spec: SupplierSpec;
  /**
   * `true`: pass the Worker options as they are. Otherwise a slotwise supplier's Worker is wired as
   * slotwise tells users to (`slotwiseWorkerOptions()`: eager activity reservations off, slotwise's
   * activity interceptor added); Temporal's suppliers never are.
   */
  raw: boolean;
  /** Milliseconds between supplier snapshots sent to the parent. */
  sampleMs: number;
  /** Port of core's Prometheus endpoint in the child. */
  metricsPort: number;
  /**
   * Send a `grant` message for every permit a slotwise supplier issues. Scenario 2 turns it off: the
   * extra IPC message per activity was work only the slotwise Worker did. @default true
   */
  reportGrants?: boolean;
  /**
   * Where to write a V8 CPU profile of the child's main thread over the window between its `cpu`
   * marks `start` and `end` (`<dir>/<taskQueue>.cpuprofile`); none when unset.
   */
  cpuProfileDir?: string;
}

/**
 * The child's CPU time so far (`process.cpuUsage()`: every thread of the process), in microseconds,
 * and how long its main thread's event loop was busy and idle so far
 * (`performance.eventLoopUtilization()`), in milliseconds.
 */
export interface CpuSample {
  userUs: number;
  systemUs: number;
  loopActiveMs: number;
  loopIdleMs: number;
}

/** Messages from the parent. */
export type ParentMessage =
  | { type: 'stop' }
  /** Asks for a {@link CpuSample}, answered by a `cpu` message with the same `id`. */
  | { type: 'cpu'; id: number; mark: 'start' | 'end' };

/** A slotwise supplier's counts and readings, as the child sees them. */
export interface SupplierSample {
  issued: number;
  used: number;
  waiting: number;
  capacity: number | null;
  readings: ResourceSupplierSnapshot['readings'];
}

/** Messages from the child. */
export type ChildMessage =
  | { type: 'ready'; pid: number; cgroup: CgroupLayout }
  | { type: 'event'; event: ActivityEvent }
  | { type: 'sample'; t: number; supplier?: SupplierSample }
  | { type: 'core'; t: number; memPercent?: number; cpuPercent?: number }
  /** A slotwise supplier issued a permit (to a waiting reservation or an eager one), epoch ms. */
  | { type: 'grant'; t: number }
  | { type: 'error'; message: string }
  /** The answer to the parent's `cpu` request `id`, taken when the child received it. */
  | ({ type: 'cpu'; id: number } & CpuSample);
