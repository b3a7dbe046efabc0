import type { SlotInfo } from '@temporalio/worker';
import { processWide } from '../process-state.js';
import type { SlotwisePermit, SupplierListener } from './types.js';

/** A permit core marked used for an activity, and the supplier that issued it. */
export interface UsedActivityPermit {
  readonly permit: SlotwisePermit;
  /** Hands the permit's capacity back now (the supplier's `releaseEarly`). */
  readonly releaseEarly: () => boolean;
  /** Whether the permit is still held (not released by core, early, or taken back). */
  readonly isHeld: () => boolean;
  /** How many reservations wait on the issuing supplier now (work that would start if a slot freed). */
  readonly waiting: () => number;
  /** Calls `listener` on each of the issuing supplier's events; returns the unsubscribe function. */
  readonly subscribe: (listener: SupplierListener) => () => void;
}

/** An activity execution waiting to learn its permit. */
export interface SlotClaim {
  /** Set once the claim is paired. */
  slot: UsedActivityPermit | undefined;
  /** Called once when the claim is paired. */
  onPaired: ((slot: UsedActivityPermit) => void) | undefined;
}

/** What an activity execution is identified by for pairing. */
export interface PairingKey {
  taskQueue: string;
  activityType: string;
  isLocal: boolean;
}

const keyOf = (k: PairingKey): string =>
  `${k.isLocal ? 'local-activity' : 'activity'}\u0000${k.taskQueue}\u0000${k.activityType}`;

/**
 * Pairs running activities with their permits. Core tells a supplier only the activity type when
 * it marks a slot used, never which activity; activity executions of one `(kind, taskQueue,
 * activityType)` start in the order core marks their slots used. So mark-used events and
 * activity starts are queued per key and matched in order, whichever arrives first.
 *
 * One registry serves the process ({@link slotPairing}); suppliers publish into it, the activity
 * interceptor claims from it.
 *
 * @example
 * ```ts
 * import { SlotPairing } from 'slotwise/internal/suppliers/slot-pairing.js';
 * const pairing = new SlotPairing();
 * const claim = pairing.claim({ taskQueue: 'q', activityType: 'work', isLocal: false });
 * claim.slot; // => undefined until the supplier publishes the permit marked used for 'work' on 'q'
 * ```
 */
export class SlotPairing {
  readonly #unclaimed = new Map<string, UsedActivityPermit[]>();
  readonly #waiting = new Map<string, SlotClaim[]>();
  readonly #served = new Set<string>();

  /** Called by suppliers on every reservation: slots of this kind on this queue come from slotwise. */
  serve(slotType: string, taskQueue: string): void {
    if (slotType === 'activity' || slotType === 'local-activity')
      this.#served.add(`${slotType}\u0000${taskQueue}`);
  }

  /** Whether a slotwise supplier has reserved slots for activities of this kind on this queue. */
  isServed(key: Omit<PairingKey, 'activityType'>): boolean {
    return this.#served.has(`${key.isLocal ? 'local-activity' : 'activity'}\u0000${key.taskQueue}`);
  }

  /** Called by suppliers when core marks a permit used; ignores non-activity slots. */
  publish(permit: SlotwisePermit, slotInfo: SlotInfo, used: Omit<UsedActivityPermit, 'permit'>): void {
    if (slotInfo.type !== 'activity' && slotInfo.type !== 'local-activity') return;
    const key = keyOf({
      taskQueue: permit.taskQueue,
      activityType: slotInfo.activityType,
      isLocal: slotInfo.type === 'local-activity',
    });
    const slot: UsedActivityPermit = { permit, ...used };
    const claim = shiftFrom(this.#waiting, key);
    if (claim) pair(claim, slot);
    else pushTo(this.#unclaimed, key, slot);
  }

  /** Called by suppliers when a permit is released: an unclaimed permit must never pair later. */
  forget(permit: SlotwisePermit): void {
    for (const [key, queue] of this.#unclaimed) {
      const index = queue.findIndex((slot) => slot.permit === permit);
      if (index >= 0) {
        queue.splice(index, 1);
        if (queue.length === 0) this.#unclaimed.delete(key);
        return;
      }
    }
  }

  /** Called when an activity execution starts; pairs at once if its permit was published first. */
  claim(key: PairingKey): SlotClaim {
    const claim: SlotClaim = { slot: undefined, onPaired: undefined };
    const k = keyOf(key);
    const slot = shiftFrom(this.#unclaimed, k);
    if (slot) pair(claim, slot);
    else pushTo(this.#waiting, k, claim);
    return claim;
  }

  /** Withdraws a claim that was never paired (its activity ended first). */
  withdraw(key: PairingKey, claim: SlotClaim): void {
    const k = keyOf(key);
    const queue = this.#waiting.get(k);
    const index = queue?.indexOf(claim) ?? -1;
    if (queue && index >= 0) {
      queue.splice(index, 1);
      if (queue.length === 0) this.#waiting.delete(k);
    }
  }

  /** Unpaired permits and claims, for tests and diagnostics. */
  pending(): { unclaimed: number; waiting: number } {
    const count = (m: Map<string, unknown[]>) => [...m.values()].reduce((n, q) => n + q.length, 0);
    return { unclaimed: count(this.#unclaimed), waiting: count(this.#waiting) };
  }
}

function pair(claim: SlotClaim, slot: UsedActivityPermit): void {
  claim.slot = slot;
  claim.onPaired?.(slot);
}

function shiftFrom<T>(map: Map<string, T[]>, key: string): T | undefined {
  const queue = map.get(key);
  const item = queue?.shift();
  if (queue && queue.length === 0) map.delete(key);
  return item;
}

function pushTo<T>(map: Map<string, T[]>, key: string, item: T): void {
  const queue = map.get(key);
  if (queue) queue.push(item);
  else map.set(key, [item]);
}

/** The process-wide pairing registry (one for every copy of slotwise in the process). */
export const slotPairing: SlotPairing = processWide('slotPairing', () => new SlotPairing());
