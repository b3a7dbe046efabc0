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
}

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
  | { type: 'error'; message: string };
