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

/** Emptied queues kept for reuse before they are dropped (see {@link PairingQueues}). */
const EMPTY_QUEUES_KEPT = 64;

/**
 * Queues by `(kind, taskQueue, activityType)`, as nested maps: looked up once per activity start and
 * once per mark-used, so keyed by the strings core hands over (hashed once) rather than by a string
 * joined from them on every call. A queue that empties is kept for the next item of its key (one
 * key's queue empties and refills once per task); past {@link EMPTY_QUEUES_KEPT} empty queues, the
 * empty ones are dropped, so task queues that come and go leave nothing behind.
 */
class PairingQueues<T> {
  readonly #byKind = {
    activity: new Map<string, Map<string, T[]>>(),
    local: new Map<string, Map<string, T[]>>(),
  };
  /** What {@link remove} compares with: the item itself, or a field of it (one function per instance). */
  readonly #identity: (item: T) => unknown;
  #size = 0;
  #empty = 0;

  constructor(identity: (item: T) => unknown = (item) => item) {
    this.#identity = identity;
  }

  /** Items queued under every key. */
  get size(): number {
    return this.#size;
  }

  push(k: PairingKey, item: T): void {
    const byQueue = k.isLocal ? this.#byKind.local : this.#byKind.activity;
    let byType = byQueue.get(k.taskQueue);
    if (byType === undefined) {
      byType = new Map();
      byQueue.set(k.taskQueue, byType);
    }
    const queue = byType.get(k.activityType);
    if (queue === undefined) byType.set(k.activityType, [item]);
    else {
      if (queue.length === 0) this.#empty--;
      queue.push(item);
    }
    this.#size++;
  }

  /** Removes and returns the oldest item of `k`. */
  take(k: PairingKey): T | undefined {
    const queue = this.#queueOf(k);
    return queue === undefined || queue.length === 0 ? undefined : this.#takeAt(queue, 0);
  }

  /**
   * Removes the item of `k` whose identity is `id`, searching from the newest (an item removed
   * before its turn is most often one queued lately); returns whether it was there.
   */
  remove(k: PairingKey, id: unknown): boolean {
    const queue = this.#queueOf(k);
    if (queue === undefined) return false;
    for (let i = queue.length - 1; i >= 0; i--) {
      if (this.#identity(queue[i]!) === id) {
        this.#takeAt(queue, i);
        return true;
      }
    }
    return false;
  }

  /** The one lookup of `k`'s queue. */
  #queueOf(k: PairingKey): T[] | undefined {
    const byQueue = k.isLocal ? this.#byKind.local : this.#byKind.activity;
    return byQueue.get(k.taskQueue)?.get(k.activityType);
  }

  #takeAt(queue: T[], index: number): T | undefined {
    const item = index === 0 ? queue.shift() : queue.splice(index, 1)[0];
    this.#size--;
    if (queue.length === 0 && ++this.#empty > EMPTY_QUEUES_KEPT) this.#dropEmpty();
    return item;
  }

  /** Every non-empty queue with its key. */
  *entries(): IterableIterator<[PairingKey, T[]]> {
    for (const [isLocal, byQueue] of [
      [false, this.#byKind.activity],
      [true, this.#byKind.local],
    ] as const) {
      for (const [taskQueue, byType] of byQueue) {
        for (const [activityType, queue] of byType) {
          if (queue.length > 0) yield [{ taskQueue, activityType, isLocal }, queue];
        }
      }
    }
  }

  /** Queues kept, empty ones included (for tests). */
  queuesKept(): number {
    let n = 0;
    for (const byQueue of [this.#byKind.activity, this.#byKind.local]) {
      for (const byType of byQueue.values()) n += byType.size;
    }
    return n;
  }

  #dropEmpty(): void {
    for (const byQueue of [this.#byKind.activity, this.#byKind.local]) {
      for (const [taskQueue, byType] of byQueue) {
        for (const [activityType, queue] of byType) if (queue.length === 0) byType.delete(activityType);
        if (byType.size === 0) byQueue.delete(taskQueue);
      }
    }
    this.#empty = 0;
  }
}

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
  readonly #unclaimed = new PairingQueues<UsedActivityPermit>((slot) => slot.permit);
  readonly #waiting = new PairingQueues<SlotClaim>();
  /** Task queues whose activity and local activity slots a slotwise supplier reserved. */
  readonly #served = { activity: new Set<string>(), local: new Set<string>() };

  /** Called by suppliers on every reservation: slots of this kind on this queue come from slotwise. */
  serve(slotType: string, taskQueue: string): void {
    if (slotType === 'activity' || slotType === 'local-activity')
      (slotType === 'activity' ? this.#served.activity : this.#served.local).add(taskQueue);
  }

  /** Whether a slotwise supplier has reserved slots for activities of this kind on this queue. */
  isServed(key: Omit<PairingKey, 'activityType'>): boolean {
    return (key.isLocal ? this.#served.local : this.#served.activity).has(key.taskQueue);
  }

  /** Called by suppliers when core marks a permit used; ignores non-activity slots. */
  publish(permit: SlotwisePermit, slotInfo: SlotInfo, used: Omit<UsedActivityPermit, 'permit'>): void {
    this.publishSlot(slotInfo, {
      permit,
      releaseEarly: used.releaseEarly,
      isHeld: used.isHeld,
      waiting: used.waiting,
      subscribe: used.subscribe,
    });
  }

  /** {@link publish} with the whole slot (its methods are called on it: a class instance works). */
  publishSlot(slotInfo: SlotInfo, slot: UsedActivityPermit): void {
    if (slotInfo.type !== 'activity' && slotInfo.type !== 'local-activity') return;
    const key: PairingKey = {
      taskQueue: slot.permit.taskQueue,
      activityType: slotInfo.activityType,
      isLocal: slotInfo.type === 'local-activity',
    };
    const claim = this.#waiting.take(key);
    if (claim) pair(claim, slot);
    else this.#unclaimed.push(key, slot);
  }

  /**
   * Called by suppliers when a permit is released: an unclaimed permit must never pair later. With
   * the `slotInfo` it was marked used with, only the one queue it was published to is searched (a
   * release does not walk every queue).
   */
  forget(permit: SlotwisePermit, slotInfo?: SlotInfo): void {
    if (this.#unclaimed.size === 0) return;
    if (slotInfo !== undefined) {
      if (slotInfo.type !== 'activity' && slotInfo.type !== 'local-activity') return; // never published
      // Only the one queue it was published to is searched.
      this.#unclaimed.remove(
        {
          taskQueue: permit.taskQueue,
          activityType: slotInfo.activityType,
          isLocal: slotInfo.type === 'local-activity',
        },
        permit,
      );
      return;
    }
    for (const [key] of this.#unclaimed.entries()) if (this.#unclaimed.remove(key, permit)) return;
  }

  /** Called when an activity execution starts; pairs at once if its permit was published first. */
  claim(key: PairingKey): SlotClaim {
    const claim: SlotClaim = { slot: undefined, onPaired: undefined };
    const slot = this.#unclaimed.take(key);
    if (slot) pair(claim, slot);
    else this.#waiting.push(key, claim);
    return claim;
  }

  /** Withdraws a claim that was never paired (its activity ended first). */
  withdraw(key: PairingKey, claim: SlotClaim): void {
    this.#waiting.remove(key, claim);
  }

  /** Queues held for reuse, empty ones included (for tests: bounded whatever keys came and went). */
  queuesKept(): number {
    return this.#unclaimed.queuesKept() + this.#waiting.queuesKept();
  }

  /** Unpaired permits and claims, for tests and diagnostics. */
  pending(): { unclaimed: number; waiting: number } {
    return { unclaimed: this.#unclaimed.size, waiting: this.#waiting.size };
  }
}

function pair(claim: SlotClaim, slot: UsedActivityPermit): void {
  claim.slot = slot;
  claim.onPaired?.(slot);
}

/** The process-wide pairing registry (one for every copy of slotwise in the process). */
export const slotPairing: SlotPairing = processWide('slotPairing', () => new SlotPairing());
