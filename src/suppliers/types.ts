import type { SlotInfo, SlotPermit, SlotReserveContext } from '@temporalio/worker';

/** The kinds of slot a slotwise supplier can serve (Temporal rejects custom Nexus suppliers). */
export type SlotType = Exclude<SlotInfo['type'], 'nexus'>;

/**
 * The permit every slotwise supplier hands to Temporal core. Core passes the same object back
 * in `markSlotUsed` and `releaseSlot`, which is how the ledger finds its record.
 */
export interface SlotwisePermit extends SlotPermit {
  /** Unique within the process; increases with every permit issued by any slotwise supplier. */
  readonly id: number;
  /** The {@link SupplierSnapshot.name | name} of the supplier that issued it. */
  readonly supplier: string;
  /** The slot type of the reservation that produced it. */
  readonly slotType: SlotType;
  /** The task queue of the reservation that produced it. */
  readonly taskQueue: string;
  /** Whether it was reserved for a sticky workflow-task poll. */
  readonly sticky: boolean;
}

/** The life of a permit: `reserved -> used -> released` or `reserved -> released`. */
export type PermitState = 'reserved' | 'used' | 'released';

/**
 * Why a permit was released.
 * - `normal`: core released a permit that ran a task.
 * - `unused`: core released a permit that never ran a task (a poll timed out or pollers scaled down).
 * - `manual`: the task handed its slot back early (its later release from core is a no-op).
 * - `reclaimed`: the reservation was aborted after the permit was granted, so core never saw it.
 */
export type ReleaseReason = 'normal' | 'unused' | 'manual' | 'reclaimed';

/**
 * The outcome of one reservation attempt.
 * - `granted`: `reserveSlot` resolved with a permit.
 * - `aborted`: core aborted a waiting `reserveSlot`.
 * - `eager-granted` / `eager-denied`: `tryReserveSlot` returned a permit / `null`.
 * - `error`: the supplier failed internally; the error was logged.
 */
export type ReservationResult = 'granted' | 'aborted' | 'eager-granted' | 'eager-denied' | 'error';

/** A point-in-time view of a supplier, cheap enough to read on every metrics scrape. */
export interface SupplierSnapshot {
  /** The supplier's name (also the `supplier` label of its metrics). */
  name: string;
  /** How many permits may be outstanding at most right now, or `null` when there is no fixed bound. */
  capacity: number | null;
  /** Permits handed out and not yet released. */
  issued: number;
  /** Issued permits that core marked used (a task runs on them). */
  used: number;
  /** Pending `reserveSlot` calls. */
  waiting: number;
  /** Errors caught inside supplier callbacks since creation (they are logged, never thrown to core). */
  errors: number;
  /** Permits each `(slot type, task queue)` gets whatever the readings say (see `floors`). */
  floors: PerSlotType<number>;
  /**
   * Each `(slot type, task queue)` served lately (holding permits, waiting, or idle for less than a
   * few seconds): its floor and ceiling, permits, waiters and the floor permits it is still owed.
   */
  groups: SlotGroupSnapshot[];
}

/** Events a supplier reports to its listeners (metrics subscribe to these). */
export type SupplierEvent =
  | {
      type: 'reservation';
      result: ReservationResult;
      slotType: SlotType;
      taskQueue: string;
      waitSeconds: number;
    }
  | { type: 'used'; permit: SlotwisePermit; slotInfo: SlotInfo }
  | {
      type: 'release';
      reason: ReleaseReason;
      permit: SlotwisePermit;
      slotInfo: SlotInfo | undefined;
      heldSeconds: number;
    }
  | { type: 'error'; where: string; error: unknown };

/** A function called with every {@link SupplierEvent}; it must not throw (errors are logged). */
export type SupplierListener = (event: SupplierEvent) => void;

/** The part of core's reservation context slotwise keys on. */
export type ReservationContext = Pick<SlotReserveContext, 'slotType' | 'taskQueue'> &
  Partial<SlotReserveContext>;

/** One value per slot type a slotwise supplier serves, keyed like the sections of a config file. */
export interface PerSlotType<T> {
  workflow: T;
  activity: T;
  localActivity: T;
}

/**
 * One `(slot type, task queue)` a supplier serves, or keeps room for, as {@link SupplierSnapshot.groups}
 * reports it.
 */
export interface SlotGroupSnapshot {
  slotType: SlotType;
  taskQueue: string;
  /** Permits this group gets whatever the readings say. */
  floor: number;
  /** The most permits this group may hold at once, or `null` for no ceiling. */
  ceiling: number | null;
  /** Permits of this group issued and not yet released. */
  issued: number;
  /** How many of {@link issued} are for sticky workflow polls (always 0 for other slot types). */
  sticky: number;
  /** Reservations of this group waiting. */
  waiting: number;
  /**
   * Floor permits this group has not got yet: the next ones it asks for are issued without
   * consulting readings, and other groups' permits leave room for them under the supplier's maximum.
   */
  unmet: number;
}
