import type { SupplierListener, SupplierSnapshot } from '../suppliers/types.js';

/** One GPU as a resource supplier last read it; `null` is unknown (`[N/A]`), never 0. */
export interface GpuReadingSnapshot {
  /** The device index `nvidia-smi` reports. */
  index: number;
  /** The device UUID (`GPU-...`). */
  uuid: string;
  /** Utilization as a ratio (0-1), or `null` when unknown. */
  utilization: number | null;
  /** Memory in use, in bytes, or `null` when unknown. */
  memoryUsedBytes: number | null;
  /** Memory on the device, in bytes, or `null` when unknown. */
  memoryTotalBytes: number | null;
}

/** How old a reading is (resource suppliers add it to each reading). */
export interface ReadingAgeSnapshot {
  /** Milliseconds since the reading was taken. */
  ageMs?: number;
  /** `true` when it is older than the supplier's `staleAfterMs`. */
  stale?: boolean;
}

/** The readings a resource supplier (CPU, memory, GPU, heap) may add to its snapshot. */
export interface ResourceReadingsSnapshot {
  /** CPU utilization as a ratio of `usableCores` (0-1), and the cores it is measured against. */
  cpu?: ({ utilization: number; usableCores: number } & ReadingAgeSnapshot) | null;
  /** Memory working set and the limit it is measured against, in bytes. */
  memory?: ({ usedBytes: number; limitBytes: number } & ReadingAgeSnapshot) | null;
  /** V8 heap in use and the heap limit, in bytes. */
  heap?: ({ usedBytes: number; limitBytes: number } & ReadingAgeSnapshot) | null;
  /** How old the latest GPU reading is. */
  gpu?: ReadingAgeSnapshot | null;
  /** One entry per visible GPU. */
  gpus?: readonly GpuReadingSnapshot[];
}

/** The cost a resource supplier charged to the tasks running on it, per dimension. */
export interface ChargedCostSnapshot {
  /** CPU cores. */
  cpu?: number;
  /** Memory, in bytes. */
  memoryBytes?: number;
  /** Whole GPUs. */
  gpus?: number;
  /** GPU memory, in bytes. */
  gpuMemoryBytes?: number;
  /** V8 heap, in bytes. */
  heapBytes?: number;
}

/** Costs learned per task type: `{ activities: { [type]: cost }, workflows: { [type]: cost } }`. */
export interface LearnedCostsSnapshot {
  activities?: Readonly<Record<string, ChargedCostSnapshot>>;
  workflows?: Readonly<Record<string, ChargedCostSnapshot>>;
}

/** What a fleet supplier adds to its snapshot: its fleet as last reported, and its own leases. */
export interface FleetMetricsSnapshot {
  /** The fleet's name (the `fleet` label). */
  fleet: string;
  /** The fleet's size. */
  slots: number;
  /** Leases held by all processes of the fleet, as last reported; `null` before the first answer. */
  leased: number | null;
  /** Leases the fleet's processes wait for, as last reported; `null` before the first answer. */
  fleetWaiting: number | null;
  /** Leases this process holds. */
  held: number;
  /** Permits this process has out on its leases. */
  inUse: number;
  /** Leases this process wants beyond those it holds. */
  wanted: number;
  /** Whether this process's leases are renewed in time. */
  valid: boolean;
  /** Leases this process stopped using because it could not renew them in time. */
  expiredLeases: number;
  /** Permits out beyond the leases held. */
  overdrawn: number;
  /** Failed round trips to the lease manager. */
  syncErrors: number;
}

/**
 * A {@link SupplierSnapshot} with the optional fields resource suppliers add. Metrics read them when
 * present and skip them otherwise, so fixed suppliers need not know about them. Floors and groups are
 * optional too, for suppliers of this shape that are not slotwise's own.
 */
export interface MetricsSnapshot
  extends Omit<SupplierSnapshot, 'floors' | 'groups'>,
    Partial<Pick<SupplierSnapshot, 'floors' | 'groups'>> {
  /** Cached readings the supplier admits against. */
  readings?: ResourceReadingsSnapshot;
  /** Cost charged to the tasks now running. */
  charged?: ChargedCostSnapshot;
  /** Costs learned from readings for task types without a declared cost. */
  learned?: LearnedCostsSnapshot;
  /** A fleet supplier's fleet and leases. */
  fleet?: FleetMetricsSnapshot;
}

/**
 * What {@link SlotwiseMetrics.track} needs from a supplier: every slotwise supplier (a
 * `LedgerSlotSupplier`) has it; tests may pass any object of this shape.
 *
 * @example
 * ```ts
 * import { FixedSlotSupplier, type TrackableSupplier } from 'slotwise';
 * const supplier: TrackableSupplier = new FixedSlotSupplier({ slots: 2, name: 'io' });
 * supplier.snapshot().capacity; // => 2
 * ```
 */
export interface TrackableSupplier {
  /** The supplier's name: the `supplier` label. */
  readonly name: string;
  /** Counts, capacity and (for resource suppliers) readings right now; read on every scrape. */
  snapshot(): MetricsSnapshot;
  /** Registers an event listener; returns the function that removes it. */
  subscribe(listener: SupplierListener): () => void;
}
