import { register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { METRIC_DEFINITIONS, type MetricKey } from '../../src/metrics/metric-names.js';
import { SlotwiseMetrics, type SlotwiseMetricsOptions } from '../../src/metrics/supplier-metrics.js';
import type { MetricsSnapshot, TrackableSupplier } from '../../src/metrics/trackable-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SupplierListener } from '../../src/suppliers/types.js';
import { activityInfo, recordingLogger, reserveCtx, track, workflowInfo } from '../helpers/fakes.js';
import { seriesOf } from './metric-values.js';

const SNAPSHOT_GAUGES = [
  ['slotsCapacity', 'capacity'],
  ['slotsIssued', 'issued'],
  ['slotsUsed', 'used'],
  ['reservationsWaiting', 'waiting'],
  ['supplierErrorsTotal', 'errors'],
] as const;

/** A FixedSlotSupplier on a hand-driven clock (milliseconds). */
function fixedSupplier(slots: number, name: string) {
  const clock = { ms: 0 };
  const supplier = new FixedSlotSupplier({ slots, name, now: () => clock.ms, logger: recordingLogger() });
  return { supplier, clock };
}

const valuesOf = async (metrics: SlotwiseMetrics, key: MetricKey) =>
  seriesOf(metrics.registry, metrics.nameOf(key));

/** Every point-in-time value of `supplier` as the registry exports it, next to its snapshot. */
async function exported(metrics: SlotwiseMetrics, supplier: TrackableSupplier) {
  const pick = async (key: MetricKey) =>
    (await valuesOf(metrics, key)).find((s) => s.labels.supplier === supplier.name)?.value ?? null;
  const out: Record<string, number | null> = {};
  for (const [key, field] of SNAPSHOT_GAUGES) out[field] = await pick(key);
  out.available = await pick('slotsAvailable');
  return out;
}

function expectedFrom(snapshot: MetricsSnapshot) {
  const { capacity, issued, used, waiting, errors } = snapshot;
  return {
    capacity,
    issued,
    used,
    waiting,
    errors,
    available: capacity === null ? null : Math.max(0, capacity - issued),
  };
}

/** A supplier-shaped object whose snapshot the test sets, with a counted listener list. */
function fakeSupplier(name: string, snapshot: Partial<MetricsSnapshot>) {
  const listeners = new Set<SupplierListener>();
  let snapshots = 0;
  const fake = {
    name,
    current: {
      name,
      capacity: null,
      issued: 0,
      used: 0,
      waiting: 0,
      errors: 0,
      ...snapshot,
    } as MetricsSnapshot,
    snapshot: () => {
      snapshots++;
      return fake.current;
    },
    subscribe: (listener: SupplierListener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    listeners: () => listeners.size,
    snapshots: () => snapshots,
  };
  return fake;
}

describe('SlotwiseMetrics', () => {
  it('constructor() registers every metric of METRIC_DEFINITIONS on a fresh registry, never the global one', async () => {
    const before = globalRegistry.getMetricsAsArray().length;
    const metrics = new SlotwiseMetrics();
    expect(metrics.registry).not.toBe(globalRegistry);
    expect(globalRegistry.getMetricsAsArray().length).toBe(before);
    const registered = await metrics.registry.getMetricsAsJSON();
    expect(registered.map(({ name, help, type }) => ({ name, help, type }))).toEqual(
      METRIC_DEFINITIONS.map(({ name, help, type }) => ({ name, help, type })),
    );
  });

  it('constructor() puts the prefix on every name and registers on the registry passed in', () => {
    const registry = new Registry();
    const metrics = new SlotwiseMetrics({ registry, prefix: 'app_slots_' });
    expect(metrics.registry).toBe(registry);
    expect(registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name)).toEqual(
      METRIC_DEFINITIONS.map((d) => `app_slots_${d.name.slice('slotwise_'.length)}`),
    );
    expect(metrics.nameOf('reservationWaitSeconds')).toBe('app_slots_reservation_wait_seconds');
  });

  it.each([
    [{ namespace: '' }, 'SlotwiseMetrics: expected `namespace` to be a non-empty string, got `""` (string).'],
    [
      { prefix: 'slot-wise_' },
      'SlotwiseMetrics: expected `prefix` to be a Prometheus metric name prefix such as `slotwise_`, got `"slot-wise_"` (string).',
    ],
    [
      { waitBuckets: [1, 0.5] },
      'SlotwiseMetrics: expected `waitBuckets` to be a non-empty array of increasing positive numbers of seconds, got `[1,0.5]` (array).',
    ],
    [
      { registry: {} },
      'SlotwiseMetrics: expected `registry` to be a prom-client Registry, got `{}` (object).',
    ],
    [
      { namspace: 'x' },
      'SlotwiseMetrics: unknown option `namspace`. Did you mean `namespace`? Known options: registry, namespace, prefix, waitBuckets, holdBuckets, logger.',
    ],
  ])('constructor() rejects %j with a precise message', (options, message) => {
    const attempt = () => new SlotwiseMetrics(options as SlotwiseMetricsOptions);
    expect(attempt).toThrow(SlotwiseOptionsError);
    expect(attempt).toThrow(message);
  });

  it('constructor() refuses a registry that already has its metrics, naming the metric', () => {
    const registry = new Registry();
    new SlotwiseMetrics({ registry });
    expect(() => new SlotwiseMetrics({ registry })).toThrow(
      'SlotwiseMetrics: the registry already has a metric named `slotwise_slots_capacity`. Use one SlotwiseMetrics per registry, or give this one another `prefix`.',
    );
    expect(() => new SlotwiseMetrics({ registry, prefix: 'second_' })).not.toThrow();
  });

  it('track() exports capacity, issued, used, available, waiting and errors equal to snapshot() at every step', async () => {
    const { supplier } = fixedSupplier(2, 'steps');
    const metrics = new SlotwiseMetrics();
    metrics.track(supplier);
    const seen: Array<Record<string, number | null>> = [];
    const step = async () => {
      const values = await exported(metrics, supplier);
      expect(values).toEqual(expectedFrom(supplier.snapshot()));
      seen.push(values);
    };
    await step();
    const first = supplier.tryReserveSlot(reserveCtx('q'))!;
    await step();
    const second = await supplier.reserveSlot(reserveCtx('q'), new AbortController().signal);
    supplier.markSlotUsed({ permit: first, slotInfo: activityInfo('a') });
    await step();
    const third = track(supplier.reserveSlot(reserveCtx('q'), new AbortController().signal));
    supplier.releaseSlot({ permit: {} as never }); // a stray permit: one error, logged
    await step();
    supplier.releaseSlot({ permit: second });
    await step();
    supplier.setSlots(1); // capacity below issued: available is 0, not negative
    await step();
    supplier.releaseSlot({ permit: first });
    supplier.releaseSlot({ permit: third.value()! });
    await step();
    expect(seen).toEqual([
      { capacity: 2, issued: 0, used: 0, waiting: 0, errors: 0, available: 2 },
      { capacity: 2, issued: 1, used: 0, waiting: 0, errors: 0, available: 1 },
      { capacity: 2, issued: 2, used: 1, waiting: 0, errors: 0, available: 0 },
      { capacity: 2, issued: 2, used: 1, waiting: 1, errors: 1, available: 0 },
      { capacity: 2, issued: 2, used: 1, waiting: 0, errors: 1, available: 0 },
      { capacity: 1, issued: 2, used: 1, waiting: 0, errors: 1, available: 0 },
      { capacity: 1, issued: 0, used: 0, waiting: 0, errors: 1, available: 1 },
    ]);
  });

  it('track() labels snapshot series with the task queues and worker types served, or those given', async () => {
    const { supplier } = fixedSupplier(4, 'shared');
    const { supplier: pinned } = fixedSupplier(4, 'pinned');
    const metrics = new SlotwiseMetrics({ namespace: 'prod' });
    metrics.track(supplier);
    metrics.track(pinned, { namespace: 'batch', taskQueue: 'gpu-jobs', slotType: 'local-activity' });
    const labels = async () => (await valuesOf(metrics, 'slotsIssued')).map((s) => s.labels);
    expect(await labels()).toEqual([
      { namespace: 'prod', task_queue: '', worker_type: '', supplier: 'shared' },
      { namespace: 'batch', task_queue: 'gpu-jobs', worker_type: 'LocalActivityWorker', supplier: 'pinned' },
    ]);
    supplier.tryReserveSlot(reserveCtx('orders', 'activity'));
    pinned.tryReserveSlot(reserveCtx('other', 'activity'));
    expect((await labels())[0]).toEqual({
      namespace: 'prod',
      task_queue: 'orders',
      worker_type: 'ActivityWorker',
      supplier: 'shared',
    });
    supplier.tryReserveSlot(reserveCtx('billing', 'workflow'));
    expect(await labels()).toEqual([
      {
        namespace: 'prod',
        task_queue: 'billing,orders',
        worker_type: 'ActivityWorker,WorkflowWorker',
        supplier: 'shared',
      },
      { namespace: 'batch', task_queue: 'gpu-jobs', worker_type: 'LocalActivityWorker', supplier: 'pinned' },
    ]);
  });

  it('track() counts reservations by result and observes exact wait times of granted and aborted ones', async () => {
    const { supplier, clock } = fixedSupplier(1, 'waits');
    const metrics = new SlotwiseMetrics({ waitBuckets: [0.5, 1, 2] });
    metrics.track(supplier);
    const held = supplier.tryReserveSlot(reserveCtx('q'))!; // eager-granted
    supplier.tryReserveSlot(reserveCtx('q')); // eager-denied
    const waiter = supplier.reserveSlot(reserveCtx('q'), new AbortController().signal);
    const abort = new AbortController();
    clock.ms = 1000;
    const aborted = track(supplier.reserveSlot(reserveCtx('q'), abort.signal));
    clock.ms = 1250;
    abort.abort('Request Cancelled'); // waited 0.25 s
    clock.ms = 1500;
    supplier.releaseSlot({ permit: held }); // the first waiter is granted after 1.5 s
    await waiter;
    await Promise.resolve();
    expect(aborted.error()).toBe('Request Cancelled');

    const base = { namespace: 'default', task_queue: 'q', worker_type: 'ActivityWorker', supplier: 'waits' };
    expect(await valuesOf(metrics, 'reservationsTotal')).toEqual([
      { labels: { ...base, result: 'granted' }, value: 1 },
      { labels: { ...base, result: 'aborted' }, value: 1 },
      { labels: { ...base, result: 'eager-granted' }, value: 1 },
      { labels: { ...base, result: 'eager-denied' }, value: 1 },
      { labels: { ...base, result: 'error' }, value: 0 },
    ]);
    const wait = await valuesOf(metrics, 'reservationWaitSeconds');
    const of = (result: string) =>
      wait
        .filter((s) => s.labels.result === result)
        .map((s) => [s.labels.__name__, s.labels.le, s.value].filter((x) => x !== undefined).join(' '));
    expect(of('granted')).toEqual([
      'slotwise_reservation_wait_seconds_bucket 0.5 0',
      'slotwise_reservation_wait_seconds_bucket 1 0',
      'slotwise_reservation_wait_seconds_bucket 2 1',
      'slotwise_reservation_wait_seconds_bucket +Inf 1',
      'slotwise_reservation_wait_seconds_sum 1.5',
      'slotwise_reservation_wait_seconds_count 1',
    ]);
    expect(of('aborted')).toEqual([
      'slotwise_reservation_wait_seconds_bucket 0.5 1',
      'slotwise_reservation_wait_seconds_bucket 1 1',
      'slotwise_reservation_wait_seconds_bucket 2 1',
      'slotwise_reservation_wait_seconds_bucket +Inf 1',
      'slotwise_reservation_wait_seconds_sum 0.25',
      'slotwise_reservation_wait_seconds_count 1',
    ]);
  });

  it('track() counts releases by reason (normal, unused, manual, reclaimed) with exact hold times', async () => {
    const { supplier, clock } = fixedSupplier(4, 'releases');
    const metrics = new SlotwiseMetrics({ holdBuckets: [1] });
    metrics.track(supplier);
    const normal = supplier.tryReserveSlot(reserveCtx('q'))!;
    const unused = supplier.tryReserveSlot(reserveCtx('q'))!;
    const manual = supplier.tryReserveSlot(reserveCtx('q'))!;
    const abort = new AbortController();
    await supplier.reserveSlot(reserveCtx('q'), abort.signal); // granted at once, aborted later
    supplier.markSlotUsed({ permit: normal, slotInfo: activityInfo('a') });
    supplier.markSlotUsed({ permit: manual, slotInfo: activityInfo('a') });
    clock.ms = 500;
    // Nothing waits, so nothing listens on the signal: the permit is taken back when it is next
    // looked at, here by the scrape at 2 s.
    abort.abort('Request Cancelled');
    clock.ms = 2000;
    supplier.releaseSlot({ permit: normal });
    supplier.releaseSlot({ permit: unused });
    supplier.releaseEarly(manual);
    supplier.releaseSlot({ permit: manual }); // a no-op after the manual release
    supplier.releaseSlot({ permit: normal }); // a second release is a no-op too

    const base = {
      namespace: 'default',
      task_queue: 'q',
      worker_type: 'ActivityWorker',
      supplier: 'releases',
    };
    expect(await valuesOf(metrics, 'releasesTotal')).toEqual([
      { labels: { ...base, reason: 'normal' }, value: 1 },
      { labels: { ...base, reason: 'unused' }, value: 1 },
      { labels: { ...base, reason: 'manual' }, value: 1 },
      { labels: { ...base, reason: 'reclaimed' }, value: 1 },
    ]);
    const sums = (await valuesOf(metrics, 'permitHoldSeconds'))
      .filter((s) => s.labels.__name__ === 'slotwise_permit_hold_seconds_sum')
      .map((s) => [s.labels.reason, s.value]);
    expect(sums).toEqual([
      ['normal', 2],
      ['unused', 2],
      ['manual', 2],
      ['reclaimed', 2],
    ]);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, errors: 0 });
  });

  it('track() keeps slots in use per task type from used and release events, summing to snapshot().used', async () => {
    const { supplier } = fixedSupplier(8, 'types');
    const metrics = new SlotwiseMetrics();
    metrics.track(supplier);
    const permits = [1, 2, 3, 4].map(() => supplier.tryReserveSlot(reserveCtx('q'))!);
    const wf = supplier.tryReserveSlot(reserveCtx('q', 'workflow'))!;
    supplier.markSlotUsed({ permit: permits[0]!, slotInfo: activityInfo('resize') });
    supplier.markSlotUsed({ permit: permits[1]!, slotInfo: activityInfo('resize') });
    supplier.markSlotUsed({ permit: permits[2]!, slotInfo: activityInfo('upload') });
    supplier.markSlotUsed({ permit: wf, slotInfo: workflowInfo('pipeline') });
    const byType = async () =>
      (await valuesOf(metrics, 'slotsUsedByTaskType')).map((s) => [
        s.labels.worker_type,
        s.labels.task_type,
        s.value,
      ]);
    expect(await byType()).toEqual([
      ['ActivityWorker', 'resize', 2],
      ['ActivityWorker', 'upload', 1],
      ['WorkflowWorker', 'pipeline', 1],
    ]);
    supplier.releaseSlot({ permit: permits[0]! });
    supplier.releaseEarly(permits[2]!);
    supplier.releaseSlot({ permit: permits[3]! }); // never used: no task type to decrement
    expect(await byType()).toEqual([
      ['ActivityWorker', 'resize', 1],
      ['ActivityWorker', 'upload', 0],
      ['WorkflowWorker', 'pipeline', 1],
    ]);
    const total = (await valuesOf(metrics, 'slotsUsedByTaskType')).reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(supplier.snapshot().used);
    expect(total).toBe(2);
  });

  it('track() counts a permit marked used before tracking nowhere, and never goes below 0', async () => {
    const { supplier } = fixedSupplier(2, 'late');
    const permit = supplier.tryReserveSlot(reserveCtx('q'))!;
    supplier.markSlotUsed({ permit, slotInfo: activityInfo('early') });
    const metrics = new SlotwiseMetrics();
    metrics.track(supplier);
    supplier.releaseSlot({ permit });
    expect(await valuesOf(metrics, 'slotsUsedByTaskType')).toEqual([]);
  });

  it('track() exports supplier errors from snapshot().errors, including those from before tracking', async () => {
    const { supplier } = fixedSupplier(1, 'errors');
    supplier.markSlotUsed({ permit: { id: 99 } as never, slotInfo: activityInfo() });
    const metrics = new SlotwiseMetrics();
    metrics.track(supplier);
    supplier.releaseSlot({ permit: { id: 100 } as never });
    expect(await valuesOf(metrics, 'supplierErrorsTotal')).toEqual([
      { labels: { namespace: 'default', task_queue: '', worker_type: '', supplier: 'errors' }, value: 2 },
    ]);
    expect(supplier.snapshot().errors).toBe(2);
  });

  it('track() exports CPU, memory and GPU readings and charged cost when the snapshot has them', async () => {
    const fake = fakeSupplier('gpu-1', {
      capacity: 6,
      issued: 3,
      used: 2,
      readings: {
        cpu: { utilization: 0.625, usableCores: 4 },
        memory: { usedBytes: 3_221_225_472, limitBytes: 8_589_934_592 },
        gpus: [
          {
            index: 0,
            uuid: 'GPU-aaa',
            utilization: 0.87,
            memoryUsedBytes: 12_884_901_888,
            memoryTotalBytes: 25_769_803_776,
          },
          {
            index: 1,
            uuid: 'GPU-bbb',
            utilization: null,
            memoryUsedBytes: null,
            memoryTotalBytes: 25_769_803_776,
          },
        ],
      },
      charged: { cpu: 1.5, memoryBytes: 2_147_483_648, gpus: 1, gpuMemoryBytes: 8_589_934_592 },
    });
    const metrics = new SlotwiseMetrics();
    metrics.track(fake, { taskQueue: 'train', slotType: 'activity' });
    const base = {
      namespace: 'default',
      task_queue: 'train',
      worker_type: 'ActivityWorker',
      supplier: 'gpu-1',
    };
    const only = async (key: MetricKey) => (await valuesOf(metrics, key)).map((s) => s.value);
    expect(await only('cpuUtilizationRatio')).toEqual([0.625]);
    expect(await only('cpuUsableCores')).toEqual([4]);
    expect(await only('memoryWorkingSetBytes')).toEqual([3_221_225_472]);
    expect(await only('memoryLimitBytes')).toEqual([8_589_934_592]);
    expect(await valuesOf(metrics, 'gpuUtilizationRatio')).toEqual([
      { labels: { ...base, gpu: '0', gpu_uuid: 'GPU-aaa' }, value: 0.87 },
    ]);
    expect(await valuesOf(metrics, 'gpuMemoryUsedBytes')).toEqual([
      { labels: { ...base, gpu: '0', gpu_uuid: 'GPU-aaa' }, value: 12_884_901_888 },
    ]);
    expect(await valuesOf(metrics, 'gpuMemoryTotalBytes')).toEqual([
      { labels: { ...base, gpu: '0', gpu_uuid: 'GPU-aaa' }, value: 25_769_803_776 },
      { labels: { ...base, gpu: '1', gpu_uuid: 'GPU-bbb' }, value: 25_769_803_776 },
    ]);
    expect(await only('chargedCpuCores')).toEqual([1.5]);
    expect(await only('chargedMemoryBytes')).toEqual([2_147_483_648]);
    expect(await only('chargedGpus')).toEqual([1]);
    expect(await only('chargedGpuMemoryBytes')).toEqual([8_589_934_592]);
    expect(await only('slotsAvailable')).toEqual([3]);

    fake.current = { name: 'gpu-1', capacity: null, issued: 3, used: 2, waiting: 0, errors: 0 };
    expect(await only('cpuUtilizationRatio')).toEqual([]);
    expect(await only('gpuMemoryTotalBytes')).toEqual([]);
    expect(await only('slotsCapacity')).toEqual([]);
    expect(await only('slotsAvailable')).toEqual([]);
    expect(await only('slotsIssued')).toEqual([3]);
  });

  it('track() exports the floor and unmet floor of each (task queue, slot type) with its exact labels', async () => {
    const { supplier } = fixedSupplier(4, 'shared');
    const metrics = new SlotwiseMetrics({ namespace: 'ns' });
    metrics.track(supplier);
    const sticky = await supplier.reserveSlot(
      reserveCtx('q', 'workflow', true),
      new AbortController().signal,
    );
    supplier.tryReserveSlot(reserveCtx('q', 'activity'));
    void supplier.reserveSlot(reserveCtx('q2', 'local-activity'), new AbortController().signal);
    const labels = (taskQueue: string, worker_type: string) => ({
      namespace: 'ns',
      task_queue: taskQueue,
      worker_type,
      supplier: 'shared',
    });
    // Queue q serves workflow tasks: room is kept for its local activities before they ask.
    expect(await valuesOf(metrics, 'slotsFloor')).toEqual([
      { labels: labels('q', 'WorkflowWorker'), value: 2 },
      { labels: labels('q', 'ActivityWorker'), value: 1 },
      { labels: labels('q', 'LocalActivityWorker'), value: 1 },
      { labels: labels('q2', 'LocalActivityWorker'), value: 1 },
    ]);
    expect((await valuesOf(metrics, 'slotsFloorUnmet')).map((s) => s.value)).toEqual([1, 0, 1, 0]);
    supplier.releaseSlot({ permit: sticky });
    expect((await valuesOf(metrics, 'slotsFloorUnmet')).map((s) => s.value)).toEqual([2, 0, 1, 0]);
    expect(supplier.snapshot().groups.map((g) => g.unmet)).toEqual([2, 0, 1, 0]);
  });

  it('track() exports reading ages, the V8 heap, charged heap and costs learned per task type', async () => {
    const fake = fakeSupplier('resources-1', {
      capacity: 4,
      issued: 1,
      used: 1,
      readings: {
        cpu: { utilization: 0.5, usableCores: 2, ageMs: 40, stale: false },
        memory: { usedBytes: 1024, limitBytes: 4096, ageMs: 2500, stale: true },
        heap: { usedBytes: 50_331_648, limitBytes: 218_103_808, ageMs: 90, stale: false },
        gpu: { ageMs: 1200, stale: false },
      },
      charged: { heapBytes: 16_777_216 },
      learned: {
        activities: { resize: { cpu: 0.25, memoryBytes: 268_435_456 }, parse: { heapBytes: 8_388_608 } },
        workflows: { report: { cpu: 0.05 } },
      },
    });
    const metrics = new SlotwiseMetrics();
    metrics.track(fake, { taskQueue: 'work', slotType: 'activity' });
    const base = {
      namespace: 'default',
      task_queue: 'work',
      worker_type: 'ActivityWorker',
      supplier: 'resources-1',
    };
    const only = async (key: MetricKey) => (await valuesOf(metrics, key)).map((s) => s.value);
    expect(await valuesOf(metrics, 'readingAgeSeconds')).toEqual([
      { labels: { ...base, resource: 'cpu' }, value: 0.04 },
      { labels: { ...base, resource: 'memory' }, value: 2.5 },
      { labels: { ...base, resource: 'gpu' }, value: 1.2 },
      { labels: { ...base, resource: 'heap' }, value: 0.09 },
    ]);
    expect(await only('heapUsedBytes')).toEqual([50_331_648]);
    expect(await only('heapLimitBytes')).toEqual([218_103_808]);
    expect(await only('chargedHeapBytes')).toEqual([16_777_216]);
    expect(await valuesOf(metrics, 'learnedTaskCpuCores')).toEqual([
      { labels: { ...base, task_kind: 'activities', task_type: 'resize' }, value: 0.25 },
      { labels: { ...base, task_kind: 'workflows', task_type: 'report' }, value: 0.05 },
    ]);
    expect(await valuesOf(metrics, 'learnedTaskMemoryBytes')).toEqual([
      { labels: { ...base, task_kind: 'activities', task_type: 'resize' }, value: 268_435_456 },
    ]);
    expect(await valuesOf(metrics, 'learnedTaskHeapBytes')).toEqual([
      { labels: { ...base, task_kind: 'activities', task_type: 'parse' }, value: 8_388_608 },
    ]);
    expect(await only('learnedTaskGpuMemoryBytes')).toEqual([]);
  });

  it('track() rejects what is not a slotwise supplier, and a second supplier with the same name', () => {
    const metrics = new SlotwiseMetrics();
    expect(() => metrics.track({ type: 'fixed-size', numSlots: 3 } as never)).toThrow(
      'SlotwiseMetrics.track: expected a slotwise supplier (with `name`, `snapshot()` and `subscribe()`), got `{"type":"fixed-size","numSlots":3}` (object). Temporal\'s own fixed-size and resource-based suppliers are measured by Temporal\'s metrics.',
    );
    metrics.track(fixedSupplier(1, 'twin').supplier);
    expect(() => metrics.track(fixedSupplier(1, 'twin').supplier)).toThrow(
      "SlotwiseMetrics.track: a supplier named 'twin' is already tracked. Give each supplier a distinct `name`, or untrack the first one.",
    );
    expect(() => metrics.track(fixedSupplier(1, 'x').supplier, { slotType: 'nexus' as never })).toThrow(
      'SlotwiseMetrics.track: expected `slotType` to be one of workflow, activity, local-activity, got `"nexus"` (string).',
    );
  });

  it('track() returns an untrack function that removes the listener and every series of the supplier', async () => {
    const fake = fakeSupplier('fake', { capacity: 2 });
    const { supplier } = fixedSupplier(2, 'real');
    const metrics = new SlotwiseMetrics();
    const untrackFake = metrics.track(fake);
    const untrackReal = metrics.track(supplier);
    const permit = supplier.tryReserveSlot(reserveCtx('q'))!;
    supplier.markSlotUsed({ permit, slotInfo: activityInfo('a') });
    expect(fake.listeners()).toBe(1);
    untrackFake();
    untrackFake();
    expect(fake.listeners()).toBe(0);
    expect(metrics.tracked()).toEqual([supplier]);
    untrackReal();
    supplier.releaseSlot({ permit }); // no listener any more: nothing is counted
    const left = (await metrics.registry.getMetricsAsJSON()).flatMap((m) => m.values);
    expect(left).toEqual([]);
    expect(metrics.tracked()).toEqual([]);
    metrics.track(supplier); // a supplier can be tracked again after untrack
    expect((await valuesOf(metrics, 'slotsIssued')).map((s) => s.value)).toEqual([0]);
    metrics.untrackAll();
    expect(metrics.tracked()).toEqual([]);
  });

  it('collect() reads each snapshot once per scrape, so every series of a scrape is one instant', async () => {
    const fake = fakeSupplier('counted', { capacity: 3 });
    const metrics = new SlotwiseMetrics();
    metrics.track(fake);
    await metrics.registry.metrics();
    expect(fake.snapshots()).toBe(1);
    await metrics.registry.getMetricsAsJSON();
    expect(fake.snapshots()).toBe(2);
  });

  it('collect() starts a new scrape when the registry is scraped twice in one synchronous run', async () => {
    const { supplier } = fixedSupplier(2, 'twice');
    const metrics = new SlotwiseMetrics();
    metrics.track(supplier);
    const before = metrics.registry.metrics();
    supplier.tryReserveSlot(reserveCtx('q'));
    const after = metrics.registry.metrics();
    const issued = (text: string) =>
      text.split('\n').find((line) => line.startsWith('slotwise_slots_issued{'));
    expect(issued(await before)).toBe(
      'slotwise_slots_issued{namespace="default",task_queue="",worker_type="",supplier="twice"} 0',
    );
    expect(issued(await after)).toBe(
      'slotwise_slots_issued{namespace="default",task_queue="q",worker_type="ActivityWorker",supplier="twice"} 1',
    );
  });

  it('collect() leaves out a supplier whose snapshot() throws, logs it, and keeps the others', async () => {
    const logger = recordingLogger();
    const broken = fakeSupplier('broken', {});
    broken.snapshot = () => {
      throw new Error('sampler not started');
    };
    const metrics = new SlotwiseMetrics({ logger });
    metrics.track(broken);
    metrics.track(fixedSupplier(2, 'fine').supplier);
    expect((await valuesOf(metrics, 'slotsCapacity')).map((s) => [s.labels.supplier, s.value])).toEqual([
      ['fine', 2],
    ]);
    expect(logger.messages('warn')).toEqual([
      "slotwise metrics: snapshot() of supplier 'broken' threw, its series are left out of this scrape: sampler not started",
    ]);
  });
});
