import type { SlotType } from '../suppliers/types.js';

/** The `worker_type` label values Temporal's own worker metrics use. */
export type TemporalWorkerType = 'WorkflowWorker' | 'ActivityWorker' | 'LocalActivityWorker';

const WORKER_TYPES: Readonly<Record<SlotType, TemporalWorkerType>> = {
  workflow: 'WorkflowWorker',
  activity: 'ActivityWorker',
  'local-activity': 'LocalActivityWorker',
};

/**
 * The `worker_type` label Temporal puts on its metrics for a slot type, so that slotwise series join
 * with `temporal_worker_task_slots_used`. An unknown slot type is returned as it is.
 *
 * @example
 * ```ts
 * import { workerTypeOf } from 'slotwise/internal/metrics/worker-type.js';
 * workerTypeOf('activity'); // => 'ActivityWorker'
 * workerTypeOf('local-activity'); // => 'LocalActivityWorker'
 * ```
 */
export function workerTypeOf(slotType: SlotType): TemporalWorkerType {
  return WORKER_TYPES[slotType] ?? (String(slotType) as TemporalWorkerType);
}
