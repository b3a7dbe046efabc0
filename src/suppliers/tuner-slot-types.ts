import type { WorkerTuner } from '@temporalio/worker';
import { LedgerSlotSupplier } from './ledger-slot-supplier.js';
import type { SlotType } from './types.js';

const TUNER_FIELDS: ReadonlyArray<readonly [string, SlotType]> = [
  ['workflowTaskSlotSupplier', 'workflow'],
  ['activityTaskSlotSupplier', 'activity'],
  ['localActivityTaskSlotSupplier', 'local-activity'],
];

/**
 * Tells each slotwise supplier of a tuner the slot types it serves there (see
 * `LedgerSlotSupplier.declareSlotTypes`), so that a supplier serving several keeps room for the
 * floors of all of them from the start. Other suppliers and tuners are left alone.
 *
 * @example
 * ```ts
 * import { FixedSlotSupplier } from 'slotwise';
 * import { declareTunerSlotTypes } from 'slotwise/internal/suppliers/tuner-slot-types.js';
 *
 * const shared = new FixedSlotSupplier({ slots: 4 });
 * declareTunerSlotTypes({
 *   workflowTaskSlotSupplier: shared,
 *   activityTaskSlotSupplier: shared,
 *   localActivityTaskSlotSupplier: shared,
 *   nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 * });
 * ```
 */
export function declareTunerSlotTypes(tuner: WorkerTuner | undefined): void {
  if (typeof tuner !== 'object' || tuner === null) return;
  for (const [field, slotType] of TUNER_FIELDS) {
    const supplier = (tuner as unknown as Record<string, unknown>)[field];
    if (supplier instanceof LedgerSlotSupplier) supplier.declareSlotTypes([slotType]);
  }
}
