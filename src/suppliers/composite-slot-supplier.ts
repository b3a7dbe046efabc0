import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, describeValue } from '../option-checks.js';
import type { GpuAssignment } from './gpu-slot-supplier.js';
import {
  LedgerSlotSupplier,
  SUPPLIER_BASE_OPTION_KEYS,
  type SupplierBaseOptions,
} from './ledger-slot-supplier.js';
import type { PermitRecord } from './permit-ledger.js';
import { SLOT_TYPE_KEYS } from './slot-type-limits.js';
import type { PerSlotType, ReservationContext, SlotType, SlotwisePermit, SupplierSnapshot } from './types.js';

/** Extra fields on a {@link CompositeSlotSupplier} permit. */
export interface CompositePermitFields {
  /** The permit taken from each part, in the order of the parts. */
  parts: readonly SlotwisePermit[];
  /** The GPU assigned by a `GpuSlotSupplier` part, if there is one. */
  gpu?: GpuAssignment;
}

/** Options of a {@link CompositeSlotSupplier}. */
export type CompositeSlotSupplierOptions = SupplierBaseOptions;

/** A composite's snapshot: its own counts plus each part's snapshot. */
export interface CompositeSupplierSnapshot extends SupplierSnapshot {
  parts: SupplierSnapshot[];
}

const OWNER = 'CompositeSlotSupplier';

/**
 * Issues a permit only when every part admits one, taking all of them at once: no part holds
 * capacity while another is waited for, so composites that share parts cannot deadlock. Each new
 * reading or release in a part wakes the composite's waiters. Marking used, releasing (core's,
 * early, or after an abort) apply to every part, so per-task costs are charged in each.
 *
 * A composite takes from a part only when that part's own queue is empty: direct waiters of a
 * part go first. A part's events, and so its metrics, count only what core did through the
 * composite (the permits it got, used and released); the composite's own tries and take-backs are
 * not reported there.
 *
 * Floors are the composite's, and hold for all parts or none: a floor permit of the composite is a
 * floor permit in every part (no part consults its readings; each part's maximum and ceilings still
 * hold), and any other permit goes through every part's admission rule, never a part's own floors.
 * By default a composite's floor for a slot type is the smallest of its parts', so a part without
 * floors (a GPU supplier with `minSlots` 0) keeps the composite from issuing unread permits.
 *
 * @example
 * ```ts
 * import { CompositeSlotSupplier, FixedSlotSupplier, MemorySlotSupplier } from 'slotwise';
 *
 * const memory = new MemorySlotSupplier({ targetUtilization: 0.8 });
 * const atMost8 = new FixedSlotSupplier({ slots: 8 });
 * const both = new CompositeSlotSupplier([atMost8, memory]);
 * // tuner: { activityTaskSlotSupplier: both, ... }
 * both.snapshot().parts.length; // => 2
 * memory.close();
 * ```
 */
export class CompositeSlotSupplier extends LedgerSlotSupplier<CompositePermitFields> {
  readonly #parts: readonly LedgerSlotSupplier[];
  readonly #stopListening: Array<() => void>;
  #takingParts = false;
  /** While the parts of one composite permit are released (the composite wakes once, after the last). */
  #releasingParts = false;

  constructor(parts: readonly LedgerSlotSupplier[], options: CompositeSlotSupplierOptions = {}) {
    if (!Array.isArray(parts) || parts.length === 0) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected a non-empty array of slotwise suppliers, got ${describeValue(parts)}.`,
      );
    }
    parts.forEach((part, i) => {
      if (!(part instanceof LedgerSlotSupplier)) {
        throw new SlotwiseOptionsError(
          `${OWNER}: expected part ${i} to be a slotwise supplier (FixedSlotSupplier, CpuSlotSupplier, ...), got ${describeValue(part)}.`,
        );
      }
      if (parts.indexOf(part) !== i) {
        throw new SlotwiseOptionsError(`${OWNER}: part ${i} ('${part.name}') is listed twice.`);
      }
    });
    checkOptionsObject(OWNER, options, true);
    checkKnownKeys(OWNER, options ?? {}, SUPPLIER_BASE_OPTION_KEYS);
    super('composite', options, smallestFloors(parts));
    this.#parts = [...parts];
    // Each permit core gets from the composite holds one permit of every part: report it there too.
    this.subscribe((event) => {
      if (event.type === 'reservation' && (event.result === 'granted' || event.result === 'eager-granted')) {
        for (const part of this.#parts) part.reportCompositeGrant(event.result, event, event.waitSeconds);
      }
    });
    if (options?.serves !== undefined) for (const part of this.#parts) part.declareSlotTypes(options.serves);
    this.#stopListening = parts.map((part) =>
      part.onCapacityChange(() => {
        if (!this.#takingParts && !this.#releasingParts) this.ledger.wake();
      }),
    );
  }

  /** The parts, in order. */
  get parts(): readonly LedgerSlotSupplier[] {
    return this.#parts;
  }

  /** Stops listening to the parts (it does not close them: they may be shared). */
  close(): void {
    for (const stop of this.#stopListening) stop();
  }

  protected admit(request: ReservationContext): CompositePermitFields | null {
    return this.#takeParts(request, false);
  }

  /** A floor permit of the composite is one in every part, or none is taken. */
  protected override admitFloor(request: ReservationContext): CompositePermitFields | null {
    return this.#takeParts(request, true);
  }

  /** Declares the slot types on the composite and on every part. */
  override declareSlotTypes(slotTypes: readonly SlotType[]): void {
    for (const part of this.#parts) part.declareSlotTypes(slotTypes);
    super.declareSlotTypes(slotTypes);
  }

  /** The smallest maximum of the parts that have one (asked on every decision: no array built). */
  override maxPermits(): number | null {
    let smallest: number | null = null;
    for (const part of this.#parts) {
      const max = part.maxPermits();
      if (max !== null && (smallest === null || max < smallest)) smallest = max;
    }
    return smallest;
  }

  #takeParts(request: ReservationContext, floor: boolean): CompositePermitFields | null {
    const taken: SlotwisePermit[] = [];
    this.#takingParts = true;
    try {
      for (const part of this.#parts) {
        const permit = part.takeForComposite(request, floor);
        if (permit === null) {
          for (const [i, got] of taken.entries()) this.#parts[i]!.returnToComposite(got);
          return null;
        }
        taken.push(permit);
      }
    } finally {
      this.#takingParts = false;
    }
    for (const permit of taken) {
      const gpu = (permit as { gpu?: GpuAssignment }).gpu;
      if (gpu !== undefined) return { parts: taken, gpu };
    }
    return { parts: taken };
  }

  /** The smallest capacity of the parts that have one (read without a snapshot of each part). */
  protected capacity(): number | null {
    let smallest: number | null = null;
    for (const part of this.#parts) {
      const capacity = part.capacityForComposite();
      if (capacity !== null && (smallest === null || capacity < smallest)) smallest = capacity;
    }
    return smallest;
  }

  protected override onUsed(record: PermitRecord<CompositePermitFields>): void {
    record.permit.parts.forEach((permit, i) => {
      this.#parts[i]!.markPartUsed(permit, record.slotInfo!);
    });
  }

  /**
   * Releases the permit in every part. Each part's release wakes its own waiters; the composite's
   * are woken once, by the ledger right after this returns, not once per part as well (each wake
   * tried every part's admission for the head waiter, before the next part was even released).
   */
  protected override onReleased(record: PermitRecord<CompositePermitFields>): void {
    const releasing = this.#releasingParts;
    this.#releasingParts = true;
    try {
      record.permit.parts.forEach((permit, i) => {
        const part = this.#parts[i]!;
        if (record.releaseReason === 'manual') part.releaseEarly(permit);
        else if (record.releaseReason === 'reclaimed') part.takeBack(permit);
        else part.releaseSlot(record.slotInfo ? { permit, slotInfo: record.slotInfo } : { permit });
      });
    } finally {
      this.#releasingParts = releasing;
    }
  }

  override snapshot(): CompositeSupplierSnapshot {
    return { ...super.snapshot(), parts: this.#parts.map((part) => part.snapshot()) };
  }
}
brandClass(CompositeSlotSupplier, 'CompositeSlotSupplier');

/** Per slot type, the smallest floor of the parts. */
function smallestFloors(parts: readonly LedgerSlotSupplier[]): PerSlotType<number> {
  const floors = {} as PerSlotType<number>;
  for (const key of SLOT_TYPE_KEYS) floors[key] = Math.min(...parts.map((part) => part.floors[key]));
  return floors;
}
