import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { DEFAULT_METRIC_PREFIX, type MetricKey, metricName } from './metric-names.js';

/** One GPU of a {@link SupplierSample}; `null` is unknown. */
export interface GpuSample {
  /** The device index (the `gpu` label). */
  gpu: string;
  /** The device UUID (the `gpu_uuid` label). */
  uuid: string;
  /** Utilization (0-1). */
  utilization: number | null;
  /** Memory in use, in bytes. */
  memoryUsedBytes: number | null;
  /** Memory on the device, in bytes. */
  memoryTotalBytes: number | null;
}

/** The `slotwise_fleet_*` series of a fleet supplier; `null` is an absent series. */
export interface FleetSample {
  /** The `fleet` label. */
  fleet: string;
  /** `slotwise_fleet_slots`. */
  slots: number | null;
  /** `slotwise_fleet_leased`. */
  leased: number | null;
  /** `slotwise_fleet_waiting`. */
  waiting: number | null;
  /** `slotwise_fleet_leases_held`. */
  held: number | null;
  /** `slotwise_fleet_leases_used`. */
  used: number | null;
  /** `slotwise_fleet_leases_wanted`. */
  wanted: number | null;
  /** `slotwise_fleet_lease_valid`. */
  valid: number | null;
  /** `slotwise_fleet_leases_expired_total`. */
  expired: number | null;
  /** `slotwise_fleet_leases_overdrawn`. */
  overdrawn: number | null;
  /** `slotwise_fleet_sync_errors_total`. */
  syncErrors: number | null;
}

/**
 * What the metrics of one supplier said at one instant, as the live page charts it. Every value is
 * the exported metric value (so the page shows what `/metrics` shows); `null` means the series was
 * absent.
 */
export interface SupplierSample {
  /** The `supplier` label. */
  supplier: string;
  /** The `namespace` label of its snapshot series. */
  namespace: string;
  /** The `task_queue` label of its snapshot series. */
  taskQueue: string;
  /** The `worker_type` label of its snapshot series. */
  workerType: string;
  /** `slotwise_slots_capacity`. */
  capacity: number | null;
  /** `slotwise_slots_issued`. */
  issued: number | null;
  /** `slotwise_slots_used`. */
  used: number | null;
  /** `slotwise_slots_available`. */
  available: number | null;
  /** `slotwise_reservations_waiting`. */
  waiting: number | null;
  /** `slotwise_supplier_errors_total`. */
  errors: number | null;
  /** `slotwise_cpu_utilization_ratio`. */
  cpuUtilization: number | null;
  /** `slotwise_cpu_usable_cores`. */
  cpuUsableCores: number | null;
  /** `slotwise_memory_working_set_bytes`. */
  memoryWorkingSetBytes: number | null;
  /** `slotwise_memory_limit_bytes`. */
  memoryLimitBytes: number | null;
  /** `slotwise_heap_used_bytes`. */
  heapUsedBytes: number | null;
  /** `slotwise_heap_limit_bytes`. */
  heapLimitBytes: number | null;
  /** `slotwise_reading_age_seconds`, per resource. */
  readingAgeSeconds: Record<string, number>;
  /** The `slotwise_learned_task_*` series, per `task_kind/task_type`. */
  learned: Record<
    string,
    { cpu?: number; memoryBytes?: number; gpuMemoryBytes?: number; heapBytes?: number }
  >;
  /** The `slotwise_gpu_*` series, one entry per device. */
  gpus: GpuSample[];
  /** The `slotwise_charged_*` series. */
  charged: {
    cpuCores: number | null;
    memoryBytes: number | null;
    gpus: number | null;
    gpuMemoryBytes: number | null;
    heapBytes: number | null;
  };
  /** `slotwise_reservations_total` summed over task queues and worker types, per result. */
  reservations: Record<string, number>;
  /** `slotwise_releases_total` summed over task queues and worker types, per reason. */
  releases: Record<string, number>;
  /** `slotwise_slots_used_by_task_type` summed over task queues and worker types, per task type. */
  usedByTaskType: Record<string, number>;
  /** The fleet series, for a fleet supplier only. */
  fleet?: FleetSample;
}

/** Every supplier's {@link SupplierSample} at one instant. */
export interface MetricsSample {
  /** When it was taken, in milliseconds since the epoch. */
  time: number;
  /** One entry per supplier, in the order the registry lists them. */
  suppliers: SupplierSample[];
}

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

const SCALARS = [
  ['slotsCapacity', 'capacity'],
  ['slotsIssued', 'issued'],
  ['slotsUsed', 'used'],
  ['slotsAvailable', 'available'],
  ['reservationsWaiting', 'waiting'],
  ['supplierErrorsTotal', 'errors'],
  ['cpuUtilizationRatio', 'cpuUtilization'],
  ['cpuUsableCores', 'cpuUsableCores'],
  ['memoryWorkingSetBytes', 'memoryWorkingSetBytes'],
  ['memoryLimitBytes', 'memoryLimitBytes'],
  ['heapUsedBytes', 'heapUsedBytes'],
  ['heapLimitBytes', 'heapLimitBytes'],
] as const satisfies ReadonlyArray<readonly [MetricKey, keyof SupplierSample]>;

const CHARGED = [
  ['chargedCpuCores', 'cpuCores'],
  ['chargedMemoryBytes', 'memoryBytes'],
  ['chargedGpus', 'gpus'],
  ['chargedGpuMemoryBytes', 'gpuMemoryBytes'],
  ['chargedHeapBytes', 'heapBytes'],
] as const satisfies ReadonlyArray<readonly [MetricKey, keyof SupplierSample['charged']]>;

const GPU_FIELDS = [
  ['gpuUtilizationRatio', 'utilization'],
  ['gpuMemoryUsedBytes', 'memoryUsedBytes'],
  ['gpuMemoryTotalBytes', 'memoryTotalBytes'],
] as const satisfies ReadonlyArray<readonly [MetricKey, keyof GpuSample]>;

const LEARNED = [
  ['learnedTaskCpuCores', 'cpu'],
  ['learnedTaskMemoryBytes', 'memoryBytes'],
  ['learnedTaskGpuMemoryBytes', 'gpuMemoryBytes'],
  ['learnedTaskHeapBytes', 'heapBytes'],
] as const satisfies ReadonlyArray<readonly [MetricKey, keyof SupplierSample['learned'][string]]>;
const FLEET_FIELDS = [
  ['fleetSlots', 'slots'],
  ['fleetLeased', 'leased'],
  ['fleetWaiting', 'waiting'],
  ['fleetLeasesHeld', 'held'],
  ['fleetLeasesUsed', 'used'],
  ['fleetLeasesWanted', 'wanted'],
  ['fleetLeaseValid', 'valid'],
  ['fleetLeasesExpiredTotal', 'expired'],
  ['fleetLeasesOverdrawn', 'overdrawn'],
  ['fleetSyncErrorsTotal', 'syncErrors'],
] as const satisfies ReadonlyArray<readonly [MetricKey, Exclude<keyof FleetSample, 'fleet'>]>;

const SUMS = [
  ['reservationsTotal', 'reservations', 'result'],
  ['releasesTotal', 'releases', 'reason'],
  ['slotsUsedByTaskType', 'usedByTaskType', 'task_type'],
] as const satisfies ReadonlyArray<readonly [MetricKey, keyof SupplierSample, string]>;

function emptySample(supplier: string): SupplierSample {
  return {
    supplier,
    namespace: '',
    taskQueue: '',
    workerType: '',
    capacity: null,
    issued: null,
    used: null,
    available: null,
    waiting: null,
    errors: null,
    cpuUtilization: null,
    cpuUsableCores: null,
    memoryWorkingSetBytes: null,
    memoryLimitBytes: null,
    heapUsedBytes: null,
    heapLimitBytes: null,
    readingAgeSeconds: {},
    learned: {},
    gpus: [],
    charged: { cpuCores: null, memoryBytes: null, gpus: null, gpuMemoryBytes: null, heapBytes: null },
    reservations: {},
    releases: {},
    usedByTaskType: {},
  };
}

/**
 * Turns a registry's `getMetricsAsJSON()` into one {@link MetricsSample}: the slotwise series under
 * `prefix`, grouped by supplier. Other metrics in the registry are ignored.
 *
 * @example
 * ```ts
 * import { FixedSlotSupplier, SlotwiseMetrics } from 'slotwise';
 * import { sampleFromMetrics } from 'slotwise/internal/metrics/metrics-sample.js';
 * const metrics = new SlotwiseMetrics();
 * metrics.track(new FixedSlotSupplier({ slots: 3, name: 'io' }));
 * const sample = sampleFromMetrics(await metrics.registry.getMetricsAsJSON(), 'slotwise_', Date.now());
 * sample.suppliers.map((s) => [s.supplier, s.capacity, s.issued]); // => [['io', 3, 0]]
 * ```
 */
export function sampleFromMetrics(
  metrics: readonly MetricJson[],
  prefix: string = DEFAULT_METRIC_PREFIX,
  time: number = Date.now(),
): MetricsSample {
  const byName = new Map(metrics.map((m) => [m.name, m]));
  const suppliers = new Map<string, SupplierSample>();
  const seriesOf = (key: MetricKey) => byName.get(metricName(key, prefix))?.values ?? [];
  const sampleOf = (labels: MetricValue<string>['labels']): SupplierSample | undefined => {
    const name = labels.supplier;
    if (name === undefined) return undefined;
    let sample = suppliers.get(String(name));
    if (sample === undefined) {
      sample = emptySample(String(name));
      suppliers.set(String(name), sample);
    }
    return sample;
  };

  for (const [key, field] of SCALARS) {
    for (const { labels, value } of seriesOf(key)) {
      const sample = sampleOf(labels);
      if (sample === undefined) continue;
      if (sample.issued === null && sample.capacity === null && sample.namespace === '') {
        sample.namespace = String(labels.namespace ?? '');
        sample.taskQueue = String(labels.task_queue ?? '');
        sample.workerType = String(labels.worker_type ?? '');
      }
      sample[field] = value;
    }
  }
  for (const [key, field] of CHARGED) {
    for (const { labels, value } of seriesOf(key)) {
      const sample = sampleOf(labels);
      if (sample !== undefined) sample.charged[field] = value;
    }
  }
  for (const [key, field] of GPU_FIELDS) {
    for (const { labels, value } of seriesOf(key)) {
      const sample = sampleOf(labels);
      if (sample === undefined) continue;
      const gpu = String(labels.gpu ?? '');
      let device = sample.gpus.find((g) => g.gpu === gpu);
      if (device === undefined) {
        device = {
          gpu,
          uuid: String(labels.gpu_uuid ?? ''),
          utilization: null,
          memoryUsedBytes: null,
          memoryTotalBytes: null,
        };
        sample.gpus.push(device);
      }
      device[field] = value;
    }
  }
  for (const { labels, value } of seriesOf('readingAgeSeconds')) {
    const sample = sampleOf(labels);
    if (sample !== undefined) sample.readingAgeSeconds[String(labels.resource ?? '')] = value;
  }
  for (const [key, field] of LEARNED) {
    for (const { labels, value } of seriesOf(key)) {
      const sample = sampleOf(labels);
      if (sample === undefined) continue;
      const type = `${String(labels.task_kind ?? '')}/${String(labels.task_type ?? '')}`;
      sample.learned[type] ??= {};
      sample.learned[type][field] = value;
    }
  }
  for (const [key, field] of FLEET_FIELDS) {
    for (const { labels, value } of seriesOf(key)) {
      const sample = sampleOf(labels);
      if (sample === undefined) continue;
      sample.fleet ??= {
        fleet: String(labels.fleet ?? ''),
        slots: null,
        leased: null,
        waiting: null,
        held: null,
        used: null,
        wanted: null,
        valid: null,
        expired: null,
        overdrawn: null,
        syncErrors: null,
      };
      sample.fleet[field] = value;
    }
  }
  for (const [key, field, label] of SUMS) {
    for (const { labels, value } of seriesOf(key)) {
      const sample = sampleOf(labels);
      if (sample === undefined) continue;
      const totals = sample[field];
      const part = String(labels[label] ?? '');
      totals[part] = (totals[part] ?? 0) + value;
    }
  }
  for (const sample of suppliers.values()) sample.gpus.sort((a, b) => Number(a.gpu) - Number(b.gpu));
  return { time, suppliers: [...suppliers.values()] };
}
