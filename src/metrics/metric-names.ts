/**
 * The prefix every slotwise metric name starts with unless {@link SlotwiseMetricsOptions.prefix} says
 * otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_METRIC_PREFIX } from 'slotwise/internal/metrics/metric-names.js';
 * DEFAULT_METRIC_PREFIX; // => 'slotwise_'
 * ```
 */
export const DEFAULT_METRIC_PREFIX = 'slotwise_';

/**
 * The labels every slotwise metric carries, chosen to join with Temporal's own worker metrics
 * (`temporal_worker_task_slots_used{namespace, task_queue, worker_type}`), plus `supplier`.
 *
 * @example
 * ```ts
 * import { SUPPLIER_LABELS } from 'slotwise/internal/metrics/metric-names.js';
 * SUPPLIER_LABELS; // => ['namespace', 'task_queue', 'worker_type', 'supplier']
 * ```
 */
export const SUPPLIER_LABELS = ['namespace', 'task_queue', 'worker_type', 'supplier'] as const;

/** One of {@link SUPPLIER_LABELS}. */
export type SupplierLabel = (typeof SUPPLIER_LABELS)[number];

/**
 * Every metric name slotwise registers, with the default prefix. Names end in their unit
 * (`_seconds`, `_bytes`, `_ratio`, `_cores`) and counters in `_total`, as Prometheus asks.
 *
 * @example
 * ```ts
 * import { METRIC_NAMES } from 'slotwise/internal/metrics/metric-names.js';
 * METRIC_NAMES.slotsCapacity; // => 'slotwise_slots_capacity'
 * ```
 */
export const METRIC_NAMES = {
  slotsCapacity: 'slotwise_slots_capacity',
  slotsIssued: 'slotwise_slots_issued',
  slotsUsed: 'slotwise_slots_used',
  slotsAvailable: 'slotwise_slots_available',
  reservationsWaiting: 'slotwise_reservations_waiting',
  slotsFloor: 'slotwise_slots_floor',
  slotsFloorUnmet: 'slotwise_slots_floor_unmet',
  slotsUsedByTaskType: 'slotwise_slots_used_by_task_type',
  reservationsTotal: 'slotwise_reservations_total',
  reservationWaitSeconds: 'slotwise_reservation_wait_seconds',
  releasesTotal: 'slotwise_releases_total',
  evictionsTotal: 'slotwise_evictions_total',
  permitHoldSeconds: 'slotwise_permit_hold_seconds',
  supplierErrorsTotal: 'slotwise_supplier_errors_total',
  cpuUtilizationRatio: 'slotwise_cpu_utilization_ratio',
  cpuUsableCores: 'slotwise_cpu_usable_cores',
  memoryWorkingSetBytes: 'slotwise_memory_working_set_bytes',
  memoryLimitBytes: 'slotwise_memory_limit_bytes',
  gpuUtilizationRatio: 'slotwise_gpu_utilization_ratio',
  gpuMemoryUsedBytes: 'slotwise_gpu_memory_used_bytes',
  gpuMemoryTotalBytes: 'slotwise_gpu_memory_total_bytes',
  chargedCpuCores: 'slotwise_charged_cpu_cores',
  chargedMemoryBytes: 'slotwise_charged_memory_bytes',
  chargedGpus: 'slotwise_charged_gpus',
  chargedGpuMemoryBytes: 'slotwise_charged_gpu_memory_bytes',
  heapUsedBytes: 'slotwise_heap_used_bytes',
  heapLimitBytes: 'slotwise_heap_limit_bytes',
  chargedHeapBytes: 'slotwise_charged_heap_bytes',
  readingAgeSeconds: 'slotwise_reading_age_seconds',
  learnedTaskCpuCores: 'slotwise_learned_task_cpu_cores',
  learnedTaskMemoryBytes: 'slotwise_learned_task_memory_bytes',
  learnedTaskGpuMemoryBytes: 'slotwise_learned_task_gpu_memory_bytes',
  learnedTaskHeapBytes: 'slotwise_learned_task_heap_bytes',
  fleetSlots: 'slotwise_fleet_slots',
  fleetLeased: 'slotwise_fleet_leased',
  fleetWaiting: 'slotwise_fleet_waiting',
  fleetLeasesHeld: 'slotwise_fleet_leases_held',
  fleetLeasesUsed: 'slotwise_fleet_leases_used',
  fleetLeasesWanted: 'slotwise_fleet_leases_wanted',
  fleetLeaseValid: 'slotwise_fleet_lease_valid',
  fleetLeasesExpiredTotal: 'slotwise_fleet_leases_expired_total',
  fleetLeasesOverdrawn: 'slotwise_fleet_leases_overdrawn',
  fleetSyncErrorsTotal: 'slotwise_fleet_sync_errors_total',
} as const;

/** A key of {@link METRIC_NAMES}. */
export type MetricKey = keyof typeof METRIC_NAMES;

/** The Prometheus type of a metric. */
export type MetricType = 'gauge' | 'counter' | 'histogram';

/** Describes one slotwise metric: enough to register it, document it, or check a dashboard against it. */
export interface MetricDefinition {
  /** The key in {@link METRIC_NAMES}. */
  readonly key: MetricKey;
  /** The full name with the default prefix, e.g. `slotwise_slots_capacity`. */
  readonly name: string;
  /** The Prometheus type. */
  readonly type: MetricType;
  /** The `# HELP` text. */
  readonly help: string;
  /** Every label, in order: {@link SUPPLIER_LABELS} first, then the metric's own. */
  readonly labels: readonly string[];
  /**
   * Where the value comes from: `snapshot` values are read from `supplier.snapshot()` on every scrape
   * (they equal it exactly); `events` values are counted from supplier events after `track()`.
   */
  readonly source: 'snapshot' | 'events';
}

const define = (
  key: MetricKey,
  type: MetricType,
  source: MetricDefinition['source'],
  help: string,
  ownLabels: readonly string[] = [],
): MetricDefinition => ({
  key,
  name: METRIC_NAMES[key],
  type,
  help,
  labels: [...SUPPLIER_LABELS, ...ownLabels],
  source,
});

const GPU_LABELS = ['gpu', 'gpu_uuid'] as const;
const LEARNED_LABELS = ['task_kind', 'task_type'] as const;
const FLEET_LABELS = ['fleet'] as const;

/**
 * The table of every slotwise metric with its type, help text, labels and source: the single source
 * for the registry, the README table and the Grafana dashboard check.
 *
 * Label meanings: `supplier` is the supplier's name. On event-counted metrics and the floor metrics
 * `task_queue` and `worker_type` are those of the reservation, permit or group counted (exact). On
 * other snapshot metrics, which a
 * supplier reports as one total, they are the values given to `track()`, or else the task queues and
 * worker types the supplier has served so far, sorted and joined with `,` (a single value when it
 * serves one, which is what joins with Temporal's metrics).
 *
 * @example
 * ```ts
 * import { METRIC_DEFINITIONS } from 'slotwise/internal/metrics/metric-names.js';
 * const rows = METRIC_DEFINITIONS.map((m) => `| \`${m.name}\` | ${m.type} | ${m.help} |`);
 * rows.length === METRIC_DEFINITIONS.length; // => true: one row a metric
 * METRIC_DEFINITIONS[0]!.labels; // => ['namespace', 'task_queue', 'worker_type', 'supplier']
 * ```
 */
export const METRIC_DEFINITIONS: readonly MetricDefinition[] = [
  define(
    'slotsCapacity',
    'gauge',
    'snapshot',
    'Most permits the supplier may have issued at once right now (the slot total Temporal does not export for custom suppliers); absent when the supplier has no fixed bound.',
  ),
  define(
    'slotsIssued',
    'gauge',
    'snapshot',
    'Permits handed to Temporal and not yet released (reserved for a poll, or running a task).',
  ),
  define('slotsUsed', 'gauge', 'snapshot', 'Issued permits a task runs on (marked used by Temporal).'),
  define(
    'slotsAvailable',
    'gauge',
    'snapshot',
    'Permits that could be issued now: max(0, capacity - issued); absent when the supplier has no fixed bound.',
  ),
  define('reservationsWaiting', 'gauge', 'snapshot', 'reserveSlot calls waiting for a slot right now.'),
  define(
    'slotsFloor',
    'gauge',
    'snapshot',
    'Permits this (task_queue, worker_type) gets whatever the readings say (its floor); one series per group the supplier served lately.',
  ),
  define(
    'slotsFloorUnmet',
    'gauge',
    'snapshot',
    'Floor permits this (task_queue, worker_type) has not got yet: issued without readings when it asks, and kept free under the supplier maximum.',
  ),
  define(
    'slotsUsedByTaskType',
    'gauge',
    'events',
    'Slots in use per activity or workflow type (task_type), counted from tasks that started after tracking began.',
    ['task_type'],
  ),
  define(
    'reservationsTotal',
    'counter',
    'events',
    'Reservation attempts by result: granted, aborted, eager-granted, eager-denied, error.',
    ['result'],
  ),
  define(
    'reservationWaitSeconds',
    'histogram',
    'events',
    'Seconds a reserveSlot call waited before it was granted or aborted.',
    ['result'],
  ),
  define(
    'releasesTotal',
    'counter',
    'events',
    'Permits released by reason: normal (ran a task), unused (poll ended without a task), manual (released early by the task), reclaimed (granted after core aborted the reservation).',
    ['reason'],
  ),
  define(
    'evictionsTotal',
    'counter',
    'events',
    'Waiting activities evicted from their slot by evictableWait(), by reason: ttl, capacity, shutdown.',
    ['reason'],
  ),
  define(
    'permitHoldSeconds',
    'histogram',
    'events',
    'Seconds from issuing a permit to releasing it, by release reason.',
    ['reason'],
  ),
  define(
    'supplierErrorsTotal',
    'counter',
    'snapshot',
    'Errors caught in supplier callbacks since the supplier was created (logged, never thrown to Temporal).',
  ),
  define(
    'cpuUtilizationRatio',
    'gauge',
    'snapshot',
    'CPU utilization the supplier last read, as a ratio of its usable cores (0-1).',
  ),
  define(
    'cpuUsableCores',
    'gauge',
    'snapshot',
    'CPU cores the supplier considers usable (cgroup quota or host).',
  ),
  define(
    'memoryWorkingSetBytes',
    'gauge',
    'snapshot',
    'Memory working set the supplier last read (usage minus inactive file cache), in bytes.',
  ),
  define(
    'memoryLimitBytes',
    'gauge',
    'snapshot',
    'Memory limit the supplier admits against (cgroup or host), in bytes.',
  ),
  define(
    'gpuUtilizationRatio',
    'gauge',
    'snapshot',
    'GPU utilization per device the supplier last read (0-1); absent while unknown.',
    GPU_LABELS,
  ),
  define(
    'gpuMemoryUsedBytes',
    'gauge',
    'snapshot',
    'GPU memory used per device, in bytes; absent while unknown.',
    GPU_LABELS,
  ),
  define(
    'gpuMemoryTotalBytes',
    'gauge',
    'snapshot',
    'GPU memory per device, in bytes; absent while unknown.',
    GPU_LABELS,
  ),
  define('chargedCpuCores', 'gauge', 'snapshot', 'CPU cores charged to the tasks running on this supplier.'),
  define(
    'chargedMemoryBytes',
    'gauge',
    'snapshot',
    'Memory charged to the tasks running on this supplier, in bytes.',
  ),
  define('chargedGpus', 'gauge', 'snapshot', 'GPUs charged to the tasks running on this supplier.'),
  define(
    'chargedGpuMemoryBytes',
    'gauge',
    'snapshot',
    'GPU memory charged to the tasks running on this supplier, in bytes.',
  ),
  define(
    'heapUsedBytes',
    'gauge',
    'snapshot',
    "V8 heap in use (used_heap_size, garbage included) the heap supplier last read from this process's main isolate, in bytes.",
  ),
  define(
    'heapLimitBytes',
    'gauge',
    'snapshot',
    'V8 old-generation limit (--max-old-space-size) the heap supplier admits against, in bytes.',
  ),
  define(
    'chargedHeapBytes',
    'gauge',
    'snapshot',
    'V8 heap charged to the tasks running on this supplier, in bytes.',
  ),
  define(
    'readingAgeSeconds',
    'gauge',
    'snapshot',
    'Seconds since the reading a resource supplier admits on was taken, by resource (cpu, memory, gpu, heap); past staleAfterMs no permit is issued above minSlots.',
    ['resource'],
  ),
  define(
    'learnedTaskCpuCores',
    'gauge',
    'snapshot',
    'CPU cores one task of a type uses, as learned from readings (types without a declared cost); task_kind is activities or workflows.',
    LEARNED_LABELS,
  ),
  define(
    'learnedTaskMemoryBytes',
    'gauge',
    'snapshot',
    'Memory one task of a type uses, as learned from readings, in bytes.',
    LEARNED_LABELS,
  ),
  define(
    'learnedTaskGpuMemoryBytes',
    'gauge',
    'snapshot',
    'GPU memory one task of a type uses, as learned from readings, in bytes.',
    LEARNED_LABELS,
  ),
  define(
    'learnedTaskHeapBytes',
    'gauge',
    'snapshot',
    'V8 heap one task of a type keeps reachable, as learned from readings, in bytes.',
    LEARNED_LABELS,
  ),
  define(
    'fleetSlots',
    'gauge',
    'snapshot',
    "The fleet's size (slots across all its processes), as its lease manager last said.",
    FLEET_LABELS,
  ),
  define(
    'fleetLeased',
    'gauge',
    'snapshot',
    'Leases held by all processes of the fleet, as the lease manager last said (every process reports the same fleet; take max by fleet).',
    FLEET_LABELS,
  ),
  define(
    'fleetWaiting',
    'gauge',
    'snapshot',
    "Leases the fleet's processes wait for within their fair shares, as the lease manager last said.",
    FLEET_LABELS,
  ),
  define('fleetLeasesHeld', 'gauge', 'snapshot', 'Leases this process holds from its fleet.', FLEET_LABELS),
  define(
    'fleetLeasesUsed',
    'gauge',
    'snapshot',
    'Leases of this process with a permit on them (reserved for a poll or running a task).',
    FLEET_LABELS,
  ),
  define(
    'fleetLeasesWanted',
    'gauge',
    'snapshot',
    'Leases this process wants beyond those it holds (its reservations waiting for a lease).',
    FLEET_LABELS,
  ),
  define(
    'fleetLeaseValid',
    'gauge',
    'snapshot',
    '1 while this process renews its leases in time, 0 while it cannot (it starts no new task on them then).',
    FLEET_LABELS,
  ),
  define(
    'fleetLeasesExpiredTotal',
    'counter',
    'snapshot',
    'Leases this process stopped using because it could not renew them in time, since the supplier was created.',
    FLEET_LABELS,
  ),
  define(
    'fleetLeasesOverdrawn',
    'gauge',
    'snapshot',
    'Permits out beyond the leases this process holds: tasks that started on leases it has since lost; 0 normally.',
    FLEET_LABELS,
  ),
  define(
    'fleetSyncErrorsTotal',
    'counter',
    'snapshot',
    'Round trips from this process to its lease manager that failed (each is retried), since the supplier was created.',
    FLEET_LABELS,
  ),
];

/**
 * The name of a slotwise metric under `prefix`.
 *
 * @example
 * ```ts
 * import { metricName } from 'slotwise/internal/metrics/metric-names.js';
 * metricName('slotsUsed', 'worker_a_'); // => 'worker_a_slots_used'
 * ```
 */
export function metricName(key: MetricKey, prefix: string = DEFAULT_METRIC_PREFIX): string {
  return prefix + METRIC_NAMES[key].slice(DEFAULT_METRIC_PREFIX.length);
}
