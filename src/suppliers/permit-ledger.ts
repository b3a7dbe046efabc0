import type { Logger } from '@temporalio/common';
import type { SlotInfo } from '@temporalio/worker';
import { brandClass } from '../class-brand.js';
import { processWide } from '../process-state.js';
import { SlotGroups } from './slot-groups.js';
import { NO_CEILINGS, NO_FLOORS } from './slot-type-limits.js';
import type {
  PermitState,
  PerSlotType,
  ReleaseReason,
  ReservationContext,
  ReservationResult,
  SlotType,
  SlotwisePermit,
  SupplierEvent,
  SupplierListener,
} from './types.js';
import { WaiterQueue } from './waiter-queue.js';

/**
 * Decides whether one more permit may be issued now. Called synchronously on the hot path: it must
 * read cached state only. Returns the extra fields to put on the permit (`{}` for none), or `null`
 * when the reservation has to wait.
 */
export type AdmitFn<X extends object> = (request: ReservationContext) => X | null;

/** What the ledger knows about one permit. */
export interface PermitRecord<X extends object = object> {
  readonly permit: SlotwisePermit & X;
  state: PermitState;
  /** Set by `markUsed`: the task running on the permit. */
  slotInfo: SlotInfo | undefined;
  /** Clock reading (ms) when the permit was issued. */
  readonly issuedAt: number;
  /** Clock reading (ms) when the permit was marked used. */
  usedAt: number | undefined;
  /** Why it was released, once it is. */
  releaseReason: ReleaseReason | undefined;
  /**
   * The share of its task the owning supplier's latest reading shows, for a supplier that follows
   * it reading by reading (CpuSlotSupplier); `0` otherwise. A field of the record rather than a
   * WeakMap entry: it is read and written for every followed task at every reading (~1000 at
   * 1000 tasks/s), and a WeakMap made that most of what a reading cost the event loop.
   */
  shown: number;
}

/** Options of a {@link PermitLedger}. */
export interface PermitLedgerOptions<X extends object> {
  /** Name of the owning supplier, put on every permit. */
  name: string;
  /** The owning supplier's admission rule. */
  admit: AdmitFn<X>;
  /** Where internal errors go. */
  logger: Logger;
  /**
   * Monotonic clock in milliseconds.
   * @default performance.now
   */
  now?: () => number;
  /**
   * Called after every release, whatever its reason (also when an aborted reservation's permit is
   * taken back). Errors are reported, not thrown.
   */
  onReleased?: (record: PermitRecord<X>) => void;
  /** Called after every issue, once the record is live. Errors are reported, not thrown. */
  onIssued?: (record: PermitRecord<X>) => void;
  /**
   * Permits each `(slot type, task queue)` gets without {@link admit} being asked (already checked).
   * @default no floors
   */
  floors?: PerSlotType<number>;
  /**
   * The most permits one `(slot type, task queue)` may hold at once (already checked).
   * @default no ceilings
   */
  ceilings?: PerSlotType<number | null>;
  /**
   * The most permits that may be out at once whatever else holds (a fixed size, `maxSlots`), or
   * `null` for no such bound. Floor permits stay under it, and other permits leave room under it for
   * the floor permits groups are still owed.
   * @default () => null
   */
  limit?: () => number | null;
  /**
   * Listen on every grant's signal until the permit is marked used, even while nothing waits (see
   * {@link PermitLedger}): for owners whose permits hold something other processes wait for.
   * @default false
   */
  listenToEveryGrant?: boolean;
  /**
   * Admits a floor permit: the owner's readings are not consulted, but it may still refuse (no GPU
   * with a free slot) or add fields to the permit. Same contract as {@link admit}.
   * @default () => ({})
   */
  admitFloor?: AdmitFn<X>;
}

/**
 * How a composite takes a permit from one of its parts: `floor` as a floor permit of the composite
 * (the part's readings are not consulted), `admit` through the part's admission rule (its own floors
 * do not apply: the composite decides floors for all its parts at once).
 */
export type PartTake = 'floor' | 'admit';

interface Waiter<X extends object> {
  readonly request: ReservationContext;
  readonly key: string;
  readonly enqueuedAt: number;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  readonly resolve: (permit: SlotwisePermit & X) => void;
  readonly reject: (reason: unknown) => void;
}

/** The listener options of every abort watch (one object, not one per grant). */
const ONCE: { readonly once: true } = Object.freeze({ once: true });

/**
 * Listens for the abort of a reservation whose permit was granted but not marked used yet: core
 * never saw such a permit, so the ledger takes it back. One object per grant, the listener itself
 * (`handleEvent`), in place of a closure to listen and another to stop.
 */
class AbortWatch<X extends object> {
  constructor(
    readonly record: PermitRecord<X>,
    readonly signal: AbortSignal,
    readonly onAbort: (watch: AbortWatch<X>) => void,
  ) {}

  handleEvent(): void {
    this.onAbort(this);
  }
}

/** Permit ids are unique in the process, across every copy of slotwise. */
const permitIds = processWide('permitIds', () => ({ next: 1 }));

/** What a ledger offers the process-wide {@link GrantWatch}. */
interface GrantHolder {
  /** Listens on the signal of each of its grants no listener is on yet; takes back those aborted. */
  watchGrants(): void;
  /** Takes back its grants whose signals fired; returns how many. */
  reclaimAbortedGrants(): number;
}

/**
 * When a reservation's signal is listened to after its grant (see {@link PermitLedger}), for every
 * ledger of the process (of every copy of slotwise: a composite's parts may come from another):
 * while no ledger has a reservation waiting, grants are kept with their signals and not listened to;
 * as soon as one has, every such grant is listened to, and those already aborted are taken back.
 */
interface GrantWatch {
  /** Ledgers with at least one reservation waiting. */
  waitingLedgers: number;
  /** Ledgers holding grants that nothing listens on. */
  readonly holders: Set<GrantHolder>;
  /** The sweep that runs while there are holders, and when it was set (`performance.now()`). */
  sweep: { timer: ReturnType<typeof setTimeout>; armedAt: number } | undefined;
}
const grantWatch: GrantWatch = processWide('grantWatch', () => ({
  waitingLedgers: 0,
  holders: new Set(),
  sweep: undefined,
}));

/**
 * How often grants nothing listens on are looked at while some exist: the bound on how long a permit
 * core never saw stays issued when nothing else looks (a Worker shutting down drops polls whose
 * permits are on their way, and nothing may ask for a slot after that).
 */
const SWEEP_MS = 1000;

function armSweep(): void {
  const now = performance.now();
  // A sweep set while a test faked the timers may never fire: one long overdue is set again.
  if (grantWatch.sweep !== undefined && now - grantWatch.sweep.armedAt < 5 * SWEEP_MS) return;
  const timer = setTimeout(() => {
    grantWatch.sweep = undefined;
    reclaimAbortedGrants();
    if (grantWatch.holders.size > 0) armSweep();
  }, SWEEP_MS);
  timer.unref?.();
  grantWatch.sweep = { timer, armedAt: now };
}

/**
 * Takes back, in every ledger of the process, the granted permits that core never saw because
 * their reservation was aborted after the grant and that nothing listened for yet. Suppliers call it
 * before they report counts, so a snapshot never shows such a permit as issued. Returns how many.
 */
export function reclaimAbortedGrants(): number {
  if (grantWatch.holders.size === 0) return 0;
  let reclaimed = 0;
  for (const holder of [...grantWatch.holders]) reclaimed += holder.reclaimAbortedGrants();
  return reclaimed;
}

/** Names the supplier callback a release came through, for error messages. */
const where = (reason: ReleaseReason): string =>
  reason === 'manual' ? 'releaseEarly' : reason === 'reclaimed' ? 'abort after grant' : 'releaseSlot';

// Sticky and non-sticky workflow polls wait apart: core needs one of each to make progress.
const groupKey = (request: ReservationContext): string =>
  `${request.slotType}\u0000${request.taskQueue}\u0000${request.isSticky === true ? 'sticky' : ''}`;

/**
 * The one permit state machine and waiter queue that every slotwise supplier is built on.
 *
 * A permit moves `reserved -> used -> released` or `reserved -> released`; releasing twice is a
 * no-op. Waiting reservations are grouped by `(slotType, taskQueue)` and served round-robin across
 * groups (FIFO within one), each time the owner's {@link AdmitFn} lets one more through. A
 * reservation aborted while waiting is removed and rejected with `signal.reason`; one aborted after
 * its permit was granted gets the permit taken back, because core never saw it. That signal is not
 * listened to while nothing waits anywhere in the process: Node's `addEventListener` on the fresh
 * signal core gives every reservation cost more than the rest of a decision (2 us at the median,
 * 25 us at the 99th percentile). Such a grant is taken back when a reservation has to wait (then
 * every grant's signal is listened to until nothing waits), when a `tryReserve` finds no room, when
 * a supplier reports its counts ({@link reclaimAbortedGrants}), or at the latest about a second
 * later. Owners whose permits hold a budget other processes share listen on every grant
 * (`listenToEveryGrant`).
 *
 * Floors come before the admit rule: while a `(slotType, taskQueue)` holds fewer permits than the
 * floor of its slot type, its next reservation is granted without asking the admit rule (only
 * `admitFloor`, the `limit` and the group's ceiling), even while other groups wait. Permits above the
 * floors leave room under the `limit` for the floor permits other groups are still owed.
 *
 * An admit function that throws is logged and counted, and the reservation waits for the next
 * wake-up: nothing the owner does wrong reaches core as an exception.
 *
 * @example
 * ```ts
 * import { DefaultLogger } from '@temporalio/worker';
 * import { PermitLedger } from 'slotwise/internal/suppliers/permit-ledger.js';
 * let free = 1;
 * const ledger: PermitLedger = new PermitLedger({
 *   name: 'demo',
 *   logger: new DefaultLogger('WARN'),
 *   admit: () => (ledger.issued < free ? {} : null),
 * });
 * const permit = ledger.tryReserve({ slotType: 'activity', taskQueue: 'q' });
 * ledger.tryReserve({ slotType: 'activity', taskQueue: 'q' }); // => null
 * ledger.release(permit!); // => true
 * ```
 */
export class PermitLedger<X extends object = object> {
  readonly name: string;
  readonly logger: Logger;
  readonly #admit: AdmitFn<X>;
  readonly #now: () => number;
  readonly #onReleased: ((record: PermitRecord<X>) => void) | undefined;
  readonly #onIssued: ((record: PermitRecord<X>) => void) | undefined;
  readonly #wakeListeners = new Set<() => void>();
  /**
   * The key, private to this ledger, under which each permit it issues carries its record (not
   * enumerable: spreads, `Object.keys` and log lines do not see it). A `WeakMap` from permit to
   * record did this before, and set one entry per permit: V8 made about one insertion in forty
   * take 10-20 us, which alone set the p99 of a decision (a composite made three per decision).
   */
  readonly #recordKey = Symbol('slotwise permit record');
  readonly #live = new Set<PermitRecord<X>>();
  /** Granted permits core has not marked used yet, with the listener on their reservation's signal. */
  readonly #abortWatches = new Map<PermitRecord<X>, AbortWatch<X>>();
  /** Granted permits core has not marked used yet whose signals nothing listens on (see the class). */
  readonly #unwatched = new Map<PermitRecord<X>, AbortSignal>();
  /** Whether this ledger counts among {@link GrantWatch.waitingLedgers}. */
  #countedWaiting = false;
  readonly #listenToEveryGrant: boolean;
  /** What an abort after a grant does (one function per ledger, not one per grant). */
  readonly #onAbortAfterGrant = (watch: AbortWatch<X>): void => {
    this.#abortWatches.delete(watch.record);
    if (watch.record.state === 'reserved') this.release(watch.record.permit, 'reclaimed');
  };
  readonly #waiters = new WaiterQueue<Waiter<X>>();
  readonly #slotGroups: SlotGroups;
  readonly #limit: () => number | null;
  readonly #admitFloor: AdmitFn<X>;
  readonly #listeners = new Set<SupplierListener>();
  #used = 0;
  #errors = 0;
  #waking = false;
  #wakeAgain = false;
  /** Where the round-robin starts, given by {@link startTurnsAt} and not yet applied. */
  #turnOffset: number | undefined;

  constructor(options: PermitLedgerOptions<X>) {
    this.name = options.name;
    this.logger = options.logger;
    this.#admit = options.admit;
    this.#now = options.now ?? (() => performance.now());
    this.#onReleased = options.onReleased;
    this.#onIssued = options.onIssued;
    this.#slotGroups = new SlotGroups(
      options.floors ?? NO_FLOORS,
      options.ceilings ?? NO_CEILINGS,
      this.#now,
    );
    this.#limit = options.limit ?? (() => null);
    this.#admitFloor = options.admitFloor ?? (() => ({}) as X);
    this.#listenToEveryGrant = options.listenToEveryGrant ?? false;
  }

  /** Floors, ceilings and permits per `(slotType, taskQueue)`. */
  get slotGroups(): SlotGroups {
    return this.#slotGroups;
  }

  /** Permits issued and not yet released. */
  get issued(): number {
    return this.#live.size;
  }

  /** Issued permits that are marked used. */
  get used(): number {
    return this.#used;
  }

  /** Pending reservations. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Errors reported through {@link reportError} since creation. */
  get errors(): number {
    return this.#errors;
  }

  /** Live (issued, not released) permit records. */
  records(): IterableIterator<PermitRecord<X>> {
    return this.#live.values();
  }

  /** The record of `permit` (live or released), or `undefined` for a permit this ledger never issued. */
  recordOf(permit: unknown): PermitRecord<X> | undefined {
    if (typeof permit !== 'object' || permit === null) return undefined;
    const record = (permit as { [key: symbol]: PermitRecord<X> | undefined })[this.#recordKey];
    // A copy of a permit carries the key only if it was made by reflection; its record's permit is
    // the original, and a record still in force is one this ledger holds.
    if (record === undefined || record.permit !== permit) return undefined;
    return record.state === 'released' || this.#live.has(record) ? record : undefined;
  }

  /**
   * Registers `listener` to run after every {@link wake} (capacity may have grown); returns a
   * function that removes it. Composite suppliers use this to hear about their parts.
   */
  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    return () => this.#wakeListeners.delete(listener);
  }

  /** Registers a listener for every event; returns a function that removes it. */
  subscribe(listener: SupplierListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with a permit as soon as the group's floor or the admit rule lets this reservation
   * through.
   */
  reserve(request: ReservationContext, signal: AbortSignal): Promise<SlotwisePermit & X> {
    if (signal.aborted) {
      this.#emitReservation('aborted', request, 0);
      return Promise.reject(signal.reason);
    }
    this.#slotGroups.touch(request);
    // The group's key is needed only to queue behind, or look for, waiters (none most of the time).
    let key = this.#waiters.size === 0 ? null : groupKey(request);
    const extras = this.#decideNow(request, key);
    if (extras !== null) {
      const record = this.#issue(request, extras);
      this.#followGrant(record, signal);
      this.#emitReservation('granted', request, 0);
      return Promise.resolve(record.permit);
    }
    key ??= groupKey(request);
    const queueKey = key;
    const waiting = new Promise<SlotwisePermit & X>((resolve, reject) => {
      const waiter: Waiter<X> = {
        request,
        key: queueKey,
        enqueuedAt: this.#now(),
        signal,
        resolve,
        reject,
        onAbort: () => {
          if (this.#waiters.remove(queueKey, waiter)) {
            this.#waitersLeft();
            this.#slotGroups.waitEnded(request);
            this.#emitReservation('aborted', request, (this.#now() - waiter.enqueuedAt) / 1000);
            reject(signal.reason);
          }
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(queueKey, waiter);
      this.#slotGroups.waitStarted(request);
      if (!this.#countedWaiting) this.#startedWaiting();
    });
    // Waiters ahead in other groups may be refused where this one is admitted (a workflow poll of
    // the kind that has no slot): let the admit rule look at every group's head now.
    if (this.#waiters.size > 1) this.wake();
    return waiting;
  }

  /**
   * Returns a permit if the group's floor or the admit rule lets one through now, else `null`. Never
   * waits. With `part`, a composite takes the permit as one of its parts (see {@link PartTake}).
   */
  tryReserve(request: ReservationContext, part?: PartTake): (SlotwisePermit & X) | null {
    this.#slotGroups.touch(request);
    let extras =
      part === 'floor'
        ? this.#decide(request, 'floor')
        : part === 'admit'
          ? this.#waiters.size === 0
            ? this.#decide(request, 'admit')
            : null
          : this.#decideNow(request, this.#waiters.size === 0 ? null : groupKey(request));
    // No room: a grant core never saw may hold it (a composite's part asks through its composite).
    if (extras === null && part === undefined && reclaimAbortedGrants() > 0) {
      extras = this.#decideNow(request, this.#waiters.size === 0 ? null : groupKey(request));
    }
    if (extras === null) {
      this.#emitReservation('eager-denied', request, 0);
      return null;
    }
    const record = this.#issue(request, extras);
    this.#emitReservation('eager-granted', request, 0);
    return record.permit;
  }

  /**
   * Marks `permit` used by the task `slotInfo`. Returns the record, or `undefined` when the permit
   * is unknown or no longer reserved (nothing changes then).
   */
  markUsed(permit: unknown, slotInfo: SlotInfo): PermitRecord<X> | undefined {
    const record = this.recordOf(permit);
    if (record === undefined || record.state !== 'reserved') return undefined;
    this.#stopWatchingAbort(record);
    record.state = 'used';
    record.slotInfo = slotInfo;
    record.usedAt = this.#now();
    this.#used++;
    // Events are built only for listeners: most Workers have none, and this runs once per task.
    if (this.#listeners.size > 0) this.#emit({ type: 'used', permit: record.permit, slotInfo });
    return record;
  }

  /**
   * Releases `permit`. Without a `reason`, it is `normal` for a used permit and `unused` for one
   * that never ran a task. Returns `false` (and changes nothing) for a permit that is unknown or
   * already released; every release after the first is a no-op.
   */
  release(permit: unknown, reason?: ReleaseReason): boolean {
    const record = this.recordOf(permit);
    if (record === undefined || record.state === 'released') return false;
    this.#stopWatchingAbort(record);
    const wasUsed = record.state === 'used';
    if (wasUsed) this.#used--;
    record.state = 'released';
    record.releaseReason = reason ?? (wasUsed ? 'normal' : 'unused');
    this.#live.delete(record);
    this.#slotGroups.released(record.permit);
    if (this.#onReleased) {
      try {
        this.#onReleased(record);
      } catch (error) {
        this.reportError(where(record.releaseReason), error);
      }
    }
    if (this.#listeners.size > 0)
      this.#emit({
        type: 'release',
        reason: record.releaseReason,
        permit: record.permit,
        slotInfo: record.slotInfo,
        heldSeconds: (this.#now() - record.issuedAt) / 1000,
      });
    this.wake();
    return true;
  }

  /**
   * Where the round-robin across waiting groups starts, and in which order it goes round: at each
   * wake-up with reservations waiting, until one lets a waiter through, the groups waiting are put in
   * key order (slot type, then task queue name: the same in every process, whatever order its polls
   * started waiting in) starting with the one `offset` places on, cyclically. Owners that share a
   * budget use it so that each starts serving at a different group (the fleet supplier: one place
   * per process, from the order in which processes joined the fleet).
   */
  startTurnsAt(offset: number): void {
    this.#turnOffset = offset;
  }

  /**
   * Lets waiting reservations through while the admit rule allows, round-robin across groups.
   * Owners call it whenever capacity may have grown (a limit changed, a new reading arrived).
   */
  wake(): void {
    if (this.#waking) {
      this.#wakeAgain = true;
      return;
    }
    this.#waking = true;
    // A start given by startTurnsAt is put in place until a wake-up lets a waiter through.
    const start = this.#waiters.size > 0 ? this.#turnOffset : undefined;
    if (start !== undefined) this.#waiters.startAt(start);
    let served = false;
    try {
      do {
        this.#wakeAgain = false;
        for (;;) {
          // The first group in turn order whose head the admit rule lets through.
          let waiter: Waiter<X> | undefined;
          let extras: X | null = null;
          for (const head of this.#waiters.heads()) {
            extras = this.#decide(head.request, 'any');
            if (extras !== null) {
              waiter = head;
              break;
            }
          }
          if (waiter === undefined || extras === null) break;
          this.#waiters.take(waiter.key, waiter);
          this.#waitersLeft();
          this.#slotGroups.waitEnded(waiter.request);
          waiter.signal.removeEventListener('abort', waiter.onAbort);
          const record = this.#issue(waiter.request, extras);
          this.#followGrant(record, waiter.signal);
          this.#emitReservation('granted', waiter.request, (this.#now() - waiter.enqueuedAt) / 1000);
          waiter.resolve(record.permit);
          served = true;
        }
      } while (this.#wakeAgain);
    } finally {
      if (start !== undefined && served) this.#turnOffset = undefined;
      this.#waking = false;
    }
    for (const listener of this.#wakeListeners) {
      try {
        listener();
      } catch (error) {
        this.reportError('wake listener', error);
      }
    }
  }

  /** Logs an error caught in a supplier callback and counts it; never throws. */
  reportError(where: string, error: unknown, meta?: Record<string, unknown>): void {
    this.#errors++;
    try {
      const text = error instanceof Error ? error.message : String(error);
      this.logger.error(`slotwise supplier '${this.name}': error in ${where}: ${text}`, {
        ...meta,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    } catch {
      // A broken logger must not break the supplier.
    }
    this.#emit({ type: 'error', where, error });
  }

  /**
   * Decides a reservation that may go ahead of the queue: one whose group has no waiter ahead of it,
   * and is either first of all or owed a floor permit.
   */
  #decideNow(request: ReservationContext, key: string | null): X | null {
    if (this.#waiters.size > 0) {
      if (key === null || this.#waiters.has(key)) return null;
      if (!this.#slotGroups.isFloorPermit(request)) return null;
    }
    return this.#decide(request, 'any');
  }

  /**
   * The one admission decision: the group's ceiling, then its floor (within the limit, without the
   * admit rule), then the admit rule for permits above the floors, which must leave room under the
   * limit for the floor permits every group is still owed.
   */
  #decide(request: ReservationContext, mode: 'any' | PartTake): X | null {
    try {
      if (this.#slotGroups.atCeiling(request)) return null;
      const limit = this.#limit();
      const floor = mode === 'floor' || (mode === 'any' && this.#slotGroups.isFloorPermit(request));
      if (floor) {
        if (limit !== null && this.#live.size >= limit) return null;
        return this.#call('admitFloor', this.#admitFloor, request);
      }
      if (limit !== null && !this.#slotGroups.leavesRoom(request, limit - this.#live.size - 1)) return null;
    } catch (error) {
      this.reportError('admit', error);
      return null;
    }
    return this.#call('admit', this.#admit, request);
  }

  #call(where: string, admit: AdmitFn<X>, request: ReservationContext): X | null {
    try {
      return admit(request);
    } catch (error) {
      this.reportError(where, error);
      return null;
    }
  }

  #issue(request: ReservationContext, extras: X): PermitRecord<X> {
    // The same fields, in the same order, as `{ ...extras, id, ... }`, built without an object
    // spread: this one site sees every supplier's extras (none, `parts`, `gpu`), and V8 (Node 20)
    // then copies a spread through its slow path (microseconds per permit; this takes ~0.2 us).
    const fields = Object.assign<Record<string, unknown>, object>({}, extras);
    fields.id = permitIds.next++;
    fields.supplier = this.name;
    fields.slotType = request.slotType as SlotType;
    fields.taskQueue = request.taskQueue;
    fields.sticky = request.isSticky === true;
    const permit = fields as SlotwisePermit & X;
    const record: PermitRecord<X> = {
      permit,
      state: 'reserved',
      slotInfo: undefined,
      issuedAt: this.#now(),
      usedAt: undefined,
      releaseReason: undefined,
      shown: 0,
    };
    Object.defineProperty(fields, this.#recordKey, { value: record });
    Object.freeze(fields);
    this.#live.add(record);
    this.#slotGroups.issued(permit);
    if (this.#onIssued) {
      try {
        this.#onIssued(record);
      } catch (error) {
        this.reportError('issue', error);
      }
    }
    return record;
  }

  /** Keeps `signal` with a fresh grant: listened to while a reservation waits somewhere, else not. */
  #followGrant(record: PermitRecord<X>, signal: AbortSignal): void {
    if (this.#listenToEveryGrant || grantWatch.waitingLedgers > 0) {
      this.#watchAbortAfterGrant(record, signal);
      return;
    }
    this.#unwatched.set(record, signal);
    if (this.#unwatched.size === 1) {
      grantWatch.holders.add(this);
      armSweep();
    }
  }

  /** The first reservation waits here: every grant in the process gets its signal listened to. */
  #startedWaiting(): void {
    this.#countedWaiting = true;
    if (++grantWatch.waitingLedgers > 1) return; // they already are
    for (const holder of [...grantWatch.holders]) holder.watchGrants();
  }

  /** After a waiter left the queue: when it was the last, this ledger no longer counts as waiting. */
  #waitersLeft(): void {
    if (this.#countedWaiting && this.#waiters.size === 0) {
      this.#countedWaiting = false;
      grantWatch.waitingLedgers--;
    }
  }

  /** See {@link GrantHolder.watchGrants}. */
  watchGrants(): void {
    this.reclaimAbortedGrants();
    for (const [record, signal] of this.#unwatched) this.#watchAbortAfterGrant(record, signal);
    this.#unwatched.clear();
    grantWatch.holders.delete(this);
  }

  /** See {@link GrantHolder.reclaimAbortedGrants}. */
  reclaimAbortedGrants(): number {
    const aborted: PermitRecord<X>[] = [];
    for (const [record, signal] of this.#unwatched) if (signal.aborted) aborted.push(record);
    for (const record of aborted) this.release(record.permit, 'reclaimed');
    return aborted.length;
  }

  /** If core aborts after we granted, the permit never reached it: take it back. */
  #watchAbortAfterGrant(record: PermitRecord<X>, signal: AbortSignal): void {
    const watch = new AbortWatch(record, signal, this.#onAbortAfterGrant);
    signal.addEventListener('abort', watch, ONCE);
    this.#abortWatches.set(record, watch);
  }

  #stopWatchingAbort(record: PermitRecord<X>): void {
    if (this.#unwatched.delete(record)) {
      if (this.#unwatched.size === 0) grantWatch.holders.delete(this);
      return;
    }
    const watch = this.#abortWatches.get(record);
    if (watch !== undefined) {
      this.#abortWatches.delete(record);
      watch.signal.removeEventListener('abort', watch);
    }
  }

  #emitReservation(result: ReservationResult, request: ReservationContext, waitSeconds: number): void {
    if (this.#listeners.size === 0) return;
    this.#emit({
      type: 'reservation',
      result,
      slotType: request.slotType as SlotType,
      taskQueue: request.taskQueue,
      waitSeconds,
    });
  }

  #emit(event: SupplierEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        if (event.type === 'error') continue; // do not recurse on a listener that throws on errors
        this.reportError(`listener for '${event.type}' events`, error);
      }
    }
  }
}
brandClass(PermitLedger, 'PermitLedger');
