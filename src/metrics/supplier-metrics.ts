import type { Logger } from '@temporalio/common';
import { DefaultLogger, type SlotInfo } from '@temporalio/worker';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { onEviction } from '../activities/eviction-registry.js';
import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, describeValue, optionError } from '../option-checks.js';
import { reclaimAbortedGrants } from '../suppliers/permit-ledger.js';
import type { ReleaseReason, ReservationResult, SlotType, SupplierEvent } from '../suppliers/types.js';
import {
  DEFAULT_METRIC_PREFIX,
  METRIC_DEFINITIONS,
  type MetricDefinition,
  type MetricKey,
  metricName,
} from './metric-names.js';
import type { ChargedCostSnapshot, MetricsSnapshot, TrackableSupplier } from './trackable-supplier.js';
import { workerTypeOf } from './worker-type.js';

/**
 * Default buckets of `slotwise_reservation_wait_seconds`: from 1 ms (a slot was free almost at once)
 * to 5 minutes (an idle worker at capacity).
 *
 * @example
 * ```ts
 * import { SlotwiseMetrics } from 'slotwise';
 * import { DEFAULT_WAIT_BUCKETS } from 'slotwise/internal/metrics/supplier-metrics.js';
 * DEFAULT_WAIT_BUCKETS.at(-1); // => 300
 * new SlotwiseMetrics({ waitBuckets: [...DEFAULT_WAIT_BUCKETS, 900] });
 * ```
 */
export const DEFAULT_WAIT_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

/**
 * Default buckets of `slotwise_permit_hold_seconds`: from 10 ms to an hour.
 *
 * @example
 * ```ts
 * import { DEFAULT_HOLD_BUCKETS } from 'slotwise/internal/metrics/supplier-metrics.js';
 * DEFAULT_HOLD_BUCKETS.at(-1); // => 3600
 * ```
 */
export const DEFAULT_HOLD_BUCKETS: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
];

/** Options of {@link SlotwiseMetrics}. */
export interface SlotwiseMetricsOptions {
  /**
   * Where the metrics are registered. Pass your own to serve slotwise metrics beside others.
   * @default a fresh `new Registry()` (never prom-client's global registry)
   */
  registry?: Registry;
  /**
   * The `namespace` label: the Temporal namespace the Workers poll, so series join with Temporal's.
   * `track()` may override it per supplier.
   * @default 'default'
   */
  namespace?: string;
  /**
   * Prefix of every metric name. Give a second `SlotwiseMetrics` on one registry another prefix.
   * @default 'slotwise_'
   */
  prefix?: string;
  /**
   * Bucket bounds of the reservation wait histogram, in seconds, increasing.
   * @default {@link DEFAULT_WAIT_BUCKETS}
   */
  waitBuckets?: readonly number[];
  /**
   * Bucket bounds of the permit hold-time histogram, in seconds, increasing.
   * @default {@link DEFAULT_HOLD_BUCKETS}
   */
  holdBuckets?: readonly number[];
  /**
   * Where a supplier whose `snapshot()` throws during a scrape is reported (its series are left out
   * of that scrape).
   * @default a `DefaultLogger` at `WARN` level
   */
  logger?: Logger;
}

/** Options of {@link SlotwiseMetrics.track}. */
export interface TrackOptions {
  /**
   * The `namespace` label of this supplier's series.
   * @default the `namespace` of the {@link SlotwiseMetrics}
   */
  namespace?: string;
  /**
   * The `task_queue` label of this supplier's snapshot series (capacity, issued, ...).
   * @default the task queues the supplier has served so far, sorted and joined with `,`
   */
  taskQueue?: string;
  /**
   * The slot type this supplier serves; its snapshot series get the matching `worker_type` label.
   * @default the worker types of the slot types the supplier has served so far, sorted and joined with `,`
   */
  slotType?: SlotType;
}

type Labels = Record<string, string>;
type Reading = readonly [extraLabels: Labels | undefined, value: number | null | undefined];
type SnapshotReader = (snapshot: MetricsSnapshot) => Iterable<Reading>;

interface Series {
  readonly metric: Counter<string> | Gauge<string> | Histogram<string>;
  readonly labels: Labels;
}

interface Tracked {
  readonly supplier: TrackableSupplier;
  readonly name: string;
  readonly namespace: string;
  readonly taskQueue: string | undefined;
  readonly workerType: string | undefined;
  readonly queuesSeen: Set<string>;
  readonly workerTypesSeen: Set<string>;
  readonly groupsSeen: Set<string>;
  /** Permits marked used since tracking began, with their `slots_used_by_task_type` labels. */
  readonly running: Map<object, Labels>;
  /** Event-counted series this supplier created, removed on untrack. */
  readonly series: Map<string, Series>;
  unsubscribe: () => void;
}

const OWNER = 'SlotwiseMetrics';
const OPTION_KEYS = ['registry', 'namespace', 'prefix', 'waitBuckets', 'holdBuckets', 'logger'];
const TRACK_OPTION_KEYS = ['namespace', 'taskQueue', 'slotType'];
const SLOT_TYPES: readonly SlotType[] = ['workflow', 'activity', 'local-activity'];
const RESERVATION_RESULTS: readonly ReservationResult[] = [
  'granted',
  'aborted',
  'eager-granted',
  'eager-denied',
  'error',
];
const WAITED_RESULTS: readonly ReservationResult[] = ['granted', 'aborted'];
const RELEASE_REASONS: readonly ReleaseReason[] = ['normal', 'unused', 'manual', 'reclaimed'];
const PROMETHEUS_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const one = (value: number | null | undefined): Reading[] => [[undefined, value]];
/** The exact labels of one `(slot type, task queue)` of a snapshot, replacing the supplier-wide ones. */
const groupLabels = (group: { slotType: SlotType; taskQueue: string }): Labels => ({
  task_queue: group.taskQueue,
  worker_type: workerTypeOf(group.slotType),
});
const ofFleet = (
  snapshot: MetricsSnapshot,
  read: (fleet: NonNullable<MetricsSnapshot['fleet']>) => number | null,
): Reading[] => (snapshot.fleet ? [[{ fleet: snapshot.fleet.fleet }, read(snapshot.fleet)]] : []);
const gpuLabels = (gpu: { index: number; uuid: string }): Labels => ({
  gpu: String(gpu.index),
  gpu_uuid: String(gpu.uuid),
});

const age = (reading: { ageMs?: number } | null | undefined): number | undefined =>
  reading?.ageMs === undefined ? undefined : reading.ageMs / 1000;

/** One series per learned task type of a dimension, labelled `task_kind` and `task_type`. */
const learned =
  (dimension: keyof ChargedCostSnapshot): SnapshotReader =>
  (s) =>
    (['activities', 'workflows'] as const).flatMap((kind) =>
      Object.entries(s.learned?.[kind] ?? {}).map(
        ([type, cost]) => [{ task_kind: kind, task_type: type }, cost[dimension]] as const,
      ),
    );

/** How each snapshot-sourced metric is read from a snapshot. */
const SNAPSHOT_READERS: Partial<Record<MetricKey, SnapshotReader>> = {
  slotsCapacity: (s) => one(s.capacity),
  slotsIssued: (s) => one(s.issued),
  slotsUsed: (s) => one(s.used),
  slotsAvailable: (s) => one(s.capacity === null ? null : Math.max(0, s.capacity - s.issued)),
  reservationsWaiting: (s) => one(s.waiting),
  slotsFloor: (s) => (s.groups ?? []).map((g) => [groupLabels(g), g.floor]),
  slotsFloorUnmet: (s) => (s.groups ?? []).map((g) => [groupLabels(g), g.unmet]),
  supplierErrorsTotal: (s) => one(s.errors),
  cpuUtilizationRatio: (s) => one(s.readings?.cpu?.utilization),
  cpuUsableCores: (s) => one(s.readings?.cpu?.usableCores),
  memoryWorkingSetBytes: (s) => one(s.readings?.memory?.usedBytes),
  memoryLimitBytes: (s) => one(s.readings?.memory?.limitBytes),
  gpuUtilizationRatio: (s) => (s.readings?.gpus ?? []).map((g) => [gpuLabels(g), g.utilization]),
  gpuMemoryUsedBytes: (s) => (s.readings?.gpus ?? []).map((g) => [gpuLabels(g), g.memoryUsedBytes]),
  gpuMemoryTotalBytes: (s) => (s.readings?.gpus ?? []).map((g) => [gpuLabels(g), g.memoryTotalBytes]),
  chargedCpuCores: (s) => one(s.charged?.cpu),
  chargedMemoryBytes: (s) => one(s.charged?.memoryBytes),
  chargedGpus: (s) => one(s.charged?.gpus),
  chargedGpuMemoryBytes: (s) => one(s.charged?.gpuMemoryBytes),
  heapUsedBytes: (s) => one(s.readings?.heap?.usedBytes),
  heapLimitBytes: (s) => one(s.readings?.heap?.limitBytes),
  chargedHeapBytes: (s) => one(s.charged?.heapBytes),
  readingAgeSeconds: (s) =>
    (['cpu', 'memory', 'gpu', 'heap'] as const).map(
      (resource) => [{ resource }, age(s.readings?.[resource])] as const,
    ),
  learnedTaskCpuCores: learned('cpu'),
  learnedTaskMemoryBytes: learned('memoryBytes'),
  learnedTaskGpuMemoryBytes: learned('gpuMemoryBytes'),
  learnedTaskHeapBytes: learned('heapBytes'),
  fleetSlots: (s) => ofFleet(s, (f) => f.slots),
  fleetLeased: (s) => ofFleet(s, (f) => f.leased),
  fleetWaiting: (s) => ofFleet(s, (f) => f.fleetWaiting),
  fleetLeasesHeld: (s) => ofFleet(s, (f) => f.held),
  fleetLeasesUsed: (s) => ofFleet(s, (f) => f.inUse),
  fleetLeasesWanted: (s) => ofFleet(s, (f) => f.wanted),
  fleetLeaseValid: (s) => ofFleet(s, (f) => (f.valid ? 1 : 0)),
  fleetLeasesExpiredTotal: (s) => ofFleet(s, (f) => f.expiredLeases),
  fleetLeasesOverdrawn: (s) => ofFleet(s, (f) => f.overdrawn),
  fleetSyncErrorsTotal: (s) => ofFleet(s, (f) => f.syncErrors),
};

const isValue = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The `task_type` label of a task: its activity or workflow type. */
function taskTypeOf(slotInfo: SlotInfo | undefined): string {
  switch (slotInfo?.type) {
    case 'workflow':
      return slotInfo.workflowType;
    case 'activity':
    case 'local-activity':
      return slotInfo.activityType;
    case 'nexus':
      return `${slotInfo.service}/${slotInfo.operation}`;
    default:
      return 'unknown';
  }
}

function checkLabelValue(owner: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') optionError(owner, option, 'a non-empty string', value);
  return value;
}

function checkBuckets(value: unknown, option: string): number[] {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b, i) => isValue(b) && b > 0 && (i === 0 || b > (value[i - 1] as number)));
  if (!ok) optionError(OWNER, option, 'a non-empty array of increasing positive numbers of seconds', value);
  return [...(value as number[])];
}

/**
 * Prometheus instruments for slotwise suppliers, on a registry you pass in (or a fresh one).
 *
 * Point-in-time values (capacity, issued, used, available, waiting, errors, readings, charged cost)
 * are read from each tracked supplier's `snapshot()` when the registry is scraped, once per supplier
 * per scrape, so they equal the snapshot exactly. Reservations, wait times, releases and slots in use
 * per task type are counted from the supplier's events from `track()` on. See
 * {@link METRIC_DEFINITIONS} for every name, and what the labels mean.
 *
 * @example
 * ```ts
 * import { FixedSlotSupplier, SlotwiseMetrics } from 'slotwise';
 *
 * const activities = new FixedSlotSupplier({ slots: 4, name: 'activities' });
 * const metrics = new SlotwiseMetrics({ namespace: 'default' });
 * const untrack = metrics.track(activities, { taskQueue: 'work', slotType: 'activity' });
 * const capacity = await metrics.registry.getSingleMetric('slotwise_slots_capacity')!.get();
 * capacity.values;
 * // => [{ value: 4, labels: { namespace: 'default', task_queue: 'work', worker_type: 'ActivityWorker', supplier: 'activities' } }]
 * untrack();
 * ```
 */
export class SlotwiseMetrics {
  /** The registry the metrics are registered on. */
  readonly registry: Registry;
  /** The default `namespace` label. */
  readonly namespace: string;
  /** The prefix of every metric name. */
  readonly prefix: string;
  readonly #logger: Logger;
  readonly #tracked = new Map<string, Tracked>();
  readonly #metrics = new Map<MetricKey, Counter<string> | Gauge<string> | Histogram<string>>();
  #scrape: { snapshots: Map<Tracked, MetricsSnapshot | null>; collected: Set<MetricKey> } | undefined;

  constructor(options: SlotwiseMetricsOptions = {}) {
    checkOptionsObject(OWNER, options, true);
    checkKnownKeys(OWNER, options, OPTION_KEYS);
    const { registry = new Registry(), namespace = 'default', prefix = DEFAULT_METRIC_PREFIX } = options;
    if (
      typeof registry !== 'object' ||
      registry === null ||
      typeof (registry as Partial<Registry>).registerMetric !== 'function' ||
      typeof (registry as Partial<Registry>).getSingleMetric !== 'function'
    ) {
      optionError(OWNER, 'registry', 'a prom-client Registry', registry);
    }
    this.namespace = checkLabelValue(OWNER, 'namespace', namespace);
    if (typeof prefix !== 'string' || !PROMETHEUS_NAME.test(prefix)) {
      optionError(OWNER, 'prefix', 'a Prometheus metric name prefix such as `slotwise_`', prefix);
    }
    this.prefix = prefix;
    this.registry = registry;
    this.#logger = options.logger ?? new DefaultLogger('WARN');
    const waitBuckets = checkBuckets(options.waitBuckets ?? DEFAULT_WAIT_BUCKETS, 'waitBuckets');
    const holdBuckets = checkBuckets(options.holdBuckets ?? DEFAULT_HOLD_BUCKETS, 'holdBuckets');

    for (const definition of METRIC_DEFINITIONS) {
      const name = metricName(definition.key, prefix);
      if (registry.getSingleMetric(name) !== undefined) {
        throw new SlotwiseOptionsError(
          `${OWNER}: the registry already has a metric named \`${name}\`. Use one SlotwiseMetrics per registry, or give this one another \`prefix\`.`,
        );
      }
    }
    for (const definition of METRIC_DEFINITIONS) {
      this.#metrics.set(definition.key, this.#create(definition, { waitBuckets, holdBuckets }));
    }
  }

  /**
   * Starts exporting `supplier`'s metrics. Returns the function that stops it: it removes the event
   * listener and every series of the supplier (calling it again does nothing).
   *
   * @throws {SlotwiseOptionsError} for an object that is not a slotwise supplier, or a second
   * supplier with the same name (their series would collide).
   *
   * @example
   * ```ts
   * import { FixedSlotSupplier, SlotwiseMetrics } from 'slotwise';
   * const metrics = new SlotwiseMetrics();
   * const untrack = metrics.track(new FixedSlotSupplier({ slots: 2, name: 'io' }), { taskQueue: 'io' });
   * metrics.tracked().map((s) => s.name); // => ['io']
   * untrack();
   * metrics.tracked(); // => []
   * ```
   */
  track(supplier: TrackableSupplier, options: TrackOptions = {}): () => void {
    const owner = `${OWNER}.track`;
    const candidate = supplier as Partial<TrackableSupplier> | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.name !== 'string' ||
      typeof candidate.snapshot !== 'function' ||
      typeof candidate.subscribe !== 'function'
    ) {
      throw new SlotwiseOptionsError(
        `${owner}: expected a slotwise supplier (with \`name\`, \`snapshot()\` and \`subscribe()\`), got ${describeValue(supplier)}. Temporal's own fixed-size and resource-based suppliers are measured by Temporal's metrics.`,
      );
    }
    checkOptionsObject(owner, options, true);
    checkKnownKeys(owner, options, TRACK_OPTION_KEYS);
    const namespace = checkLabelValue(owner, 'namespace', options.namespace ?? this.namespace);
    const taskQueue =
      options.taskQueue === undefined ? undefined : checkLabelValue(owner, 'taskQueue', options.taskQueue);
    if (options.slotType !== undefined && !SLOT_TYPES.includes(options.slotType)) {
      optionError(owner, 'slotType', `one of ${SLOT_TYPES.join(', ')}`, options.slotType);
    }
    const name = supplier.name;
    if (this.#tracked.has(name)) {
      throw new SlotwiseOptionsError(
        `${owner}: a supplier named '${name}' is already tracked. Give each supplier a distinct \`name\`, or untrack the first one.`,
      );
    }
    const tracked: Tracked = {
      supplier,
      name,
      namespace,
      taskQueue,
      workerType: options.slotType === undefined ? undefined : workerTypeOf(options.slotType),
      queuesSeen: new Set(),
      workerTypesSeen: new Set(),
      groupsSeen: new Set(),
      running: new Map(),
      series: new Map(),
      unsubscribe: () => {},
    };
    this.#tracked.set(name, tracked);
    const stopEvents = supplier.subscribe((event) => this.#onEvent(tracked, event));
    const stopEvictions = onEviction((event) => {
      if (event.supplier !== tracked.name) return;
      const labels = this.#groupLabels(tracked, 'activity', event.taskQueue);
      this.#counter('evictionsTotal').inc({ ...labels, reason: event.reason });
    });
    tracked.unsubscribe = () => {
      stopEvents();
      stopEvictions();
    };
    return () => this.#untrack(tracked);
  }

  /**
   * The suppliers tracked now, in the order they were tracked.
   *
   * @example
   * ```ts
   * import { SlotwiseMetrics } from 'slotwise';
   * new SlotwiseMetrics().tracked(); // => []
   * ```
   */
  tracked(): TrackableSupplier[] {
    return [...this.#tracked.values()].map((t) => t.supplier);
  }

  /**
   * Untracks every supplier (see {@link track}).
   *
   * @example
   * ```ts
   * import { FixedSlotSupplier, SlotwiseMetrics } from 'slotwise';
   * const metrics = new SlotwiseMetrics();
   * metrics.track(new FixedSlotSupplier({ slots: 1 }));
   * metrics.untrackAll();
   * metrics.tracked(); // => []
   * ```
   */
  untrackAll(): void {
    for (const tracked of [...this.#tracked.values()]) this.#untrack(tracked);
  }

  /**
   * The full name of a metric under this instance's prefix.
   *
   * @example
   * ```ts
   * import { SlotwiseMetrics } from 'slotwise';
   * new SlotwiseMetrics({ prefix: 'a_' }).nameOf('slotsUsed'); // => 'a_slots_used'
   * ```
   */
  nameOf(key: MetricKey): string {
    return metricName(key, this.prefix);
  }

  #create(
    definition: MetricDefinition,
    buckets: { waitBuckets: number[]; holdBuckets: number[] },
  ): Counter<string> | Gauge<string> | Histogram<string> {
    const common = {
      name: metricName(definition.key, this.prefix),
      help: definition.help,
      labelNames: definition.labels,
      registers: [this.registry],
    };
    const reader = definition.source === 'snapshot' ? SNAPSHOT_READERS[definition.key] : undefined;
    const self = this;
    switch (definition.type) {
      case 'gauge':
        return new Gauge({
          ...common,
          ...(reader && {
            collect(this: Gauge<string>) {
              this.reset();
              self.#collect(definition.key, reader, (labels, value) => this.set(labels, value));
            },
          }),
        });
      case 'counter':
        return new Counter({
          ...common,
          collect: reader
            ? function (this: Counter<string>) {
                this.reset();
                self.#collect(definition.key, reader, (labels, value) => this.inc(labels, value));
              }
            : takeBackUnseenGrants,
        });
      case 'histogram':
        return new Histogram({
          ...common,
          buckets: definition.key === 'permitHoldSeconds' ? buckets.holdBuckets : buckets.waitBuckets,
          // Counted from events: a grant core never saw is taken back (and counted) before a scrape.
          collect: takeBackUnseenGrants,
        });
    }
  }

  /** Sets one series per tracked supplier (and per device) from its snapshot of this scrape. */
  #collect(key: MetricKey, reader: SnapshotReader, set: (labels: Labels, value: number) => void): void {
    const scrape = this.#scrapeFor(key);
    for (const tracked of this.#tracked.values()) {
      const snapshot = this.#snapshotOf(scrape.snapshots, tracked);
      if (snapshot === null) continue;
      const labels = this.#snapshotLabels(tracked);
      for (const [extra, value] of reader(snapshot)) {
        if (isValue(value)) set(extra === undefined ? labels : { ...labels, ...extra }, value);
      }
    }
  }

  /**
   * One snapshot per supplier per scrape, so every series of a scrape reads the same instant. A
   * registry calls every metric's `collect()` synchronously before its first `await`, so a scrape
   * ends at the next microtask, or earlier when a metric collects a second time (a second scrape in
   * the same synchronous run, after the suppliers may have changed).
   */
  #scrapeFor(key: MetricKey): { snapshots: Map<Tracked, MetricsSnapshot | null>; collected: Set<MetricKey> } {
    let scrape = this.#scrape;
    if (scrape === undefined || scrape.collected.has(key)) {
      const fresh = {
        snapshots: new Map<Tracked, MetricsSnapshot | null>(),
        collected: new Set<MetricKey>(),
      };
      scrape = fresh;
      this.#scrape = fresh;
      queueMicrotask(() => {
        if (this.#scrape === fresh) this.#scrape = undefined;
      });
    }
    scrape.collected.add(key);
    return scrape;
  }

  #snapshotOf(scrape: Map<Tracked, MetricsSnapshot | null>, tracked: Tracked): MetricsSnapshot | null {
    let snapshot = scrape.get(tracked);
    if (snapshot === undefined) {
      try {
        snapshot = tracked.supplier.snapshot();
      } catch (error) {
        snapshot = null;
        this.#logger.warn(
          `slotwise metrics: snapshot() of supplier '${tracked.name}' threw, its series are left out of this scrape: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      scrape.set(tracked, snapshot);
    }
    return snapshot;
  }

  #snapshotLabels(tracked: Tracked): Labels {
    return {
      namespace: tracked.namespace,
      task_queue: tracked.taskQueue ?? [...tracked.queuesSeen].sort().join(','),
      worker_type: tracked.workerType ?? [...tracked.workerTypesSeen].sort().join(','),
      supplier: tracked.name,
    };
  }

  #onEvent(tracked: Tracked, event: SupplierEvent): void {
    switch (event.type) {
      case 'reservation': {
        const labels = this.#groupLabels(tracked, event.slotType, event.taskQueue);
        this.#counter('reservationsTotal').inc({ ...labels, result: event.result });
        if (WAITED_RESULTS.includes(event.result)) {
          this.#histogram('reservationWaitSeconds').observe(
            { ...labels, result: event.result },
            event.waitSeconds,
          );
        }
        return;
      }
      case 'used': {
        const labels = this.#groupLabels(tracked, event.permit.slotType, event.permit.taskQueue);
        const running = { ...labels, task_type: taskTypeOf(event.slotInfo) };
        const gauge = this.#gauge('slotsUsedByTaskType');
        this.#remember(tracked, 'slotsUsedByTaskType', running);
        gauge.inc(running);
        tracked.running.set(event.permit, running);
        return;
      }
      case 'release': {
        const labels = this.#groupLabels(tracked, event.permit.slotType, event.permit.taskQueue);
        this.#counter('releasesTotal').inc({ ...labels, reason: event.reason });
        this.#histogram('permitHoldSeconds').observe({ ...labels, reason: event.reason }, event.heldSeconds);
        const running = tracked.running.get(event.permit);
        if (running !== undefined) {
          tracked.running.delete(event.permit);
          this.#gauge('slotsUsedByTaskType').dec(running);
        }
        return;
      }
      case 'error':
        return; // counted from snapshot().errors, which also covers errors from before track()
    }
  }

  /** The labels of a `(slotType, taskQueue)` group; its counters start at 0 the first time it is seen. */
  #groupLabels(tracked: Tracked, slotType: SlotType, taskQueue: string): Labels {
    const workerType = workerTypeOf(slotType);
    const labels = {
      namespace: tracked.namespace,
      task_queue: taskQueue,
      worker_type: workerType,
      supplier: tracked.name,
    };
    const key = `${workerType}\u0000${taskQueue}`;
    if (!tracked.groupsSeen.has(key)) {
      tracked.groupsSeen.add(key);
      tracked.queuesSeen.add(taskQueue);
      tracked.workerTypesSeen.add(workerType);
      const reservations = this.#counter('reservationsTotal');
      for (const result of RESERVATION_RESULTS) {
        reservations.inc(this.#remember(tracked, 'reservationsTotal', { ...labels, result }), 0);
      }
      const releases = this.#counter('releasesTotal');
      for (const reason of RELEASE_REASONS) {
        releases.inc(this.#remember(tracked, 'releasesTotal', { ...labels, reason }), 0);
      }
      const wait = this.#histogram('reservationWaitSeconds');
      for (const result of WAITED_RESULTS)
        wait.zero(this.#remember(tracked, 'reservationWaitSeconds', { ...labels, result }));
      const hold = this.#histogram('permitHoldSeconds');
      for (const reason of RELEASE_REASONS)
        hold.zero(this.#remember(tracked, 'permitHoldSeconds', { ...labels, reason }));
    }
    return labels;
  }

  #remember(tracked: Tracked, key: MetricKey, labels: Labels): Labels {
    const seriesKey = `${key}\u0000${JSON.stringify(labels)}`;
    if (!tracked.series.has(seriesKey)) {
      tracked.series.set(seriesKey, { metric: this.#metrics.get(key)!, labels });
    }
    return labels;
  }

  #untrack(tracked: Tracked): void {
    if (this.#tracked.get(tracked.name) !== tracked) return;
    this.#tracked.delete(tracked.name);
    tracked.unsubscribe();
    for (const { metric, labels } of tracked.series.values()) metric.remove(labels);
    tracked.series.clear();
    tracked.running.clear();
  }

  #gauge(key: MetricKey): Gauge<string> {
    return this.#metrics.get(key) as Gauge<string>;
  }

  #counter(key: MetricKey): Counter<string> {
    return this.#metrics.get(key) as Counter<string>;
  }

  #histogram(key: MetricKey): Histogram<string> {
    return this.#metrics.get(key) as Histogram<string>;
  }
}
brandClass(SlotwiseMetrics, 'SlotwiseMetrics');

/**
 * The `collect()` of the metrics counted from supplier events: a permit granted to a reservation
 * aborted before core saw it is taken back (and counted as reclaimed) before a scrape reads them.
 */
function takeBackUnseenGrants(): void {
  reclaimAbortedGrants();
}
