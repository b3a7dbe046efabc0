import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject } from '../option-checks.js';
import { checkRule } from '../option-rules.js';
import { FIXED_OPTION_RULES } from './fixed-supplier-options.js';
import {
  LedgerSlotSupplier,
  SUPPLIER_BASE_OPTION_KEYS,
  type SupplierBaseOptions,
} from './ledger-slot-supplier.js';

/** Options of a {@link FixedSlotSupplier}. */
export interface FixedSlotSupplierOptions extends SupplierBaseOptions {
  /** How many permits may be outstanding at once, across every Worker and slot type it serves. */
  slots: number;
}

const OWNER = 'FixedSlotSupplier';
/** What a fixed permit adds to the permit's fields: nothing (one object for every decision). */
const NO_FIELDS: object = Object.freeze({});

/**
 * Hands out at most `slots` permits at once. One instance shared by several Workers (or slot types)
 * is one process-wide budget, served round-robin across the `(slotType, taskQueue)` groups that wait.
 *
 * @example
 * ```ts
 * import { Worker } from '@temporalio/worker';
 * import { FixedSlotSupplier, slotwiseWorkerOptions } from 'slotwise';
 *
 * const activities = new FixedSlotSupplier({ slots: 3 });
 * const worker = await Worker.create(
 *   slotwiseWorkerOptions({
 *     taskQueue: 'work',
 *     activities: {},
 *     tuner: {
 *       activityTaskSlotSupplier: activities,
 *       workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *     },
 *   }),
 * );
 * activities.snapshot(); // => { name: 'fixed-1', capacity: 3, issued: 0, used: 0, waiting: 0, errors: 0 }
 * ```
 */
export class FixedSlotSupplier extends LedgerSlotSupplier {
  #slots: number;

  constructor(options: FixedSlotSupplierOptions) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, [...Object.keys(FIXED_OPTION_RULES), ...SUPPLIER_BASE_OPTION_KEYS]);
    const slots = checkRule(OWNER, 'slots', FIXED_OPTION_RULES.slots, options.slots);
    super('fixed', options);
    this.#slots = slots;
  }

  /** The current limit. */
  get slots(): number {
    return this.#slots;
  }

  /**
   * Changes the limit at run time. Permits in flight are kept; a smaller limit only stops new ones
   * until enough are released, a larger one lets waiting reservations through at once.
   */
  setSlots(slots: number): void {
    this.#slots = checkRule(OWNER, 'slots', FIXED_OPTION_RULES.slots, slots);
    this.ledger.wake();
  }

  protected admit(): object | null {
    return this.ledger.issued < this.#slots ? NO_FIELDS : null;
  }

  protected capacity(): number {
    return this.#slots;
  }

  /** `slots`: floors never take it above that. */
  override maxPermits(): number {
    return this.#slots;
  }
}
brandClass(FixedSlotSupplier, 'FixedSlotSupplier');
