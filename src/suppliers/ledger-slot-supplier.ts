import type { Logger } from '@temporalio/common';
import {
  type CustomSlotSupplier,
  DefaultLogger,
  type SlotInfo,
  type SlotMarkUsedContext,
  type SlotReleaseContext,
  type SlotReserveContext,
} from '@temporalio/worker';
import { brandClass } from '../class-brand.js';
import { checkName, optionError } from '../option-checks.js';
import { processWide } from '../process-state.js';
import { EagerRefusalWatch } from './eager-refusal-watch.js';
import { PermitLedger, type PermitRecord, reclaimAbortedGrants } from './permit-ledger.js';
import { slotPairing, type UsedActivityPermit } from './slot-pairing.js';
import {
  checkCeilings,
  checkFloors,
  type SlotTypeCeilings,
  type SlotTypeFloors,
  TEMPORAL_FLOORS,
} from './slot-type-limits.js';
import type {
  PerSlotType,
  ReservationContext,
  SlotType,
  SlotwisePermit,
  SupplierEvent,
  SupplierListener,
  SupplierSnapshot,
} from './types.js';

/** Options every slotwise supplier accepts. */
export interface SupplierBaseOptions {
  /**
   * Name of this supplier instance: put on its permits, its log lines and the `supplier` label of its
   * metrics. Give each instance a distinct name.
   * @default `${kind}-${n}`, numbered per kind in creation order (`fixed-1`, `fixed-2`, ...)
   */
  name?: string;
  /**
   * Where errors caught in supplier callbacks are logged (they are never thrown to core).
   * @default a `DefaultLogger` at `WARN` level, writing to stderr
   */
  logger?: Logger;
  /**
   * Monotonic clock in milliseconds, for tests.
   * @default performance.now
   */
  now?: () => number;
  /**
   * Permits each `(slot type, task queue)` this supplier serves gets whatever its readings say, so
   * that one supplier can serve every slot type of a Worker and the Worker always has a workflow
   * poll (sticky and non-sticky) and an activity poll. They are issued before readings are
   * consulted, but never above the supplier's hard maximum ({@link LedgerSlotSupplier.maxPermits}),
   * and permits above the floors leave room under that maximum for the floor permits other groups
   * are still owed. `false` for none; keys left out take their default.
   * @default Temporal's resource-based tuner's: `{ workflow: 2, activity: 1, localActivity: 1 }`
   * ({@link TEMPORAL_FLOORS}); none for a resource supplier whose `minSlots` is 0 (GPU's default),
   * which issues nothing its readings do not allow; for a composite, the smallest of its parts'.
   */
  floors?: SlotTypeFloors | false;
  /**
   * The most permits one `(slot type, task queue)` may hold at once, like Temporal's per-slot-type
   * `maximumSlots`. Keys left out have no ceiling.
   * @default none
   */
  ceilings?: SlotTypeCeilings;
  /**
   * The slot types this supplier serves (see {@link LedgerSlotSupplier.declareSlotTypes}): room is
   * kept for their floors on every task queue it serves from the start.
   * @default learned: those that asked on a task queue, and with workflow tasks activity and local
   * activity tasks too
   */
  serves?: readonly SlotType[];
}

/** Option keys of {@link SupplierBaseOptions}, for unknown-key checks in subclasses. */
export const SUPPLIER_BASE_OPTION_KEYS = ['name', 'logger', 'now', 'floors', 'ceilings', 'serves'] as const;

const SLOT_TYPES: readonly SlotType[] = ['workflow', 'activity', 'local-activity'];

/** Suppliers created so far per kind, for default names; shared by every copy of slotwise. */
const instancesPerKind = processWide('suppliersPerKind', () => new Map<string, number>());

/**
 * The shared implementation of Temporal's `CustomSlotSupplier` contract on top of one
 * {@link PermitLedger}. Subclasses supply only their admission rule ({@link admit}), their
 * {@link capacity}, and optionally `onUsed`/`onReleased` hooks (for per-task cost accounting).
 *
 * Every callback is contained: `tryReserveSlot`, `markSlotUsed` and `releaseSlot` never throw, and
 * `reserveSlot` rejects only with the abort reason or after logging. Errors are logged and counted
 * in {@link SupplierSnapshot.errors}.
 *
 * @example
 * ```ts
 * import { LedgerSlotSupplier } from 'slotwise';
 *
 * // Admits work only during office hours, at most 5 at once.
 * class OfficeHoursSupplier extends LedgerSlotSupplier {
 *   constructor() {
 *     super('office-hours');
 *   }
 *   protected admit(): object | null {
 *     const hour = new Date().getHours();
 *     return hour >= 9 && hour < 17 && this.ledger.issued < 5 ? {} : null;
 *   }
 *   protected capacity(): number {
 *     return 5;
 *   }
 * }
 * new OfficeHoursSupplier().snapshot().capacity; // => 5
 * ```
 */
export abstract class LedgerSlotSupplier<X extends object = object> implements CustomSlotSupplier<SlotInfo> {
  readonly type = 'custom' as const;
  /** The permit ledger of this supplier. */
  protected readonly ledger: PermitLedger<X>;
  #warnedSmallWorkflowCapacity = false;
  /** While above 0, this supplier's events reach no listener: a composite is trying it as a part. */
  #quiet = 0;
  /** Listeners of {@link subscribe}, for the events reported on behalf of a composite. */
  readonly #listeners = new Set<SupplierListener>();
  readonly #eagerRefusals: EagerRefusalWatch;

  /**
   * @param kind names unnamed instances (`fixed-1`) and prefixes option errors
   * @param defaultFloors the floors of slot types `options.floors` leaves out
   */
  protected constructor(
    kind: string,
    options: SupplierBaseOptions = {},
    defaultFloors: Readonly<PerSlotType<number>> = TEMPORAL_FLOORS,
  ) {
    const name = options.name === undefined ? undefined : checkName(kind, options.name);
    const owner = new.target.name || kind;
    const floors = checkFloors(owner, options.floors, defaultFloors);
    const ceilings = checkCeilings(owner, options.ceilings, floors);
    const serves = options.serves === undefined ? undefined : checkSlotTypes(owner, 'serves', options.serves);
    const n = (instancesPerKind.get(kind) ?? 0) + 1;
    instancesPerKind.set(kind, n);
    this.ledger = new PermitLedger<X>({
      name: name ?? `${kind}-${n}`,
      logger: options.logger ?? new DefaultLogger('WARN'),
      admit: (request) => this.#admit(request),
      admitFloor: (request) => this.admitFloor(request),
      limit: () => this.maxPermits(),
      floors,
      ceilings,
      onIssued: (record) => this.onIssued(record),
      onReleased: (record) => {
        if (record.slotInfo !== undefined) slotPairing.forget(record.permit, record.slotInfo);
        this.onReleased(record);
      },
      ...(options.now ? { now: options.now } : {}),
      listenToEveryGrant: this.listensToEveryGrant(),
    });
    this.#eagerRefusals = new EagerRefusalWatch(this.ledger.name, this.ledger.logger);
    if (serves !== undefined) this.ledger.slotGroups.declare(serves);
  }

  /**
   * Whether the ledger listens on every grant's reservation signal (see `PermitLedger`); called
   * once, from the constructor, before a subclass's fields are set.
   */
  protected listensToEveryGrant(): boolean {
    return false;
  }

  /** This supplier's name. */
  get name(): string {
    return this.ledger.name;
  }

  /**
   * Decides whether one more permit may be issued now, reading cached state only. Returns extra
   * permit fields (`{}` for none), or `null` to make the reservation wait.
   */
  protected abstract admit(request: ReservationContext): X | null;

  /** The most permits that may be outstanding right now, or `null` when unbounded. */
  protected abstract capacity(): number | null;

  /**
   * The most permits this supplier issues at once whatever its readings and floors say (a fixed
   * supplier's `slots`, a resource supplier's `maxSlots`, the smallest of a composite's parts'), or
   * `null` for no such bound.
   */
  maxPermits(): number | null {
    return null;
  }

  /** The floor of each slot type: permits per `(slot type, task queue)` issued whatever the readings say. */
  get floors(): Readonly<PerSlotType<number>> {
    return this.ledger.slotGroups.floors;
  }

  /** The ceiling of each slot type (`null`: none). */
  get ceilings(): Readonly<PerSlotType<number | null>> {
    return this.ledger.slotGroups.ceilings;
  }

  /**
   * Declares slot types this supplier serves (adding to earlier declarations), so that it keeps
   * room under its maximum for their floors on every task queue it serves before they ask: core
   * reserves a local activity's slot only when a workflow schedules one, by which time workflow polls
   * may hold every permit of a shared fixed supplier for as long as a long poll lasts. Without a
   * declaration the types are learned: those that asked on a task queue, and with workflow tasks
   * activity and local activity tasks too. `buildTuner` and `resourceBasedTuner` declare them.
   */
  declareSlotTypes(slotTypes: readonly SlotType[]): void {
    this.ledger.slotGroups.declare(checkSlotTypes(`${this.name}.declareSlotTypes`, 'slotTypes', slotTypes));
    this.ledger.wake();
  }

  /**
   * Admits a floor permit, without consulting readings: returns the extra permit fields, or `null`
   * when even a floor permit cannot be issued (no device with a free slot). Subclasses whose permits
   * carry fields override it.
   */
  protected admitFloor(_request: ReservationContext): X | null {
    return {} as X;
  }

  /** Called after a permit is issued (live from here on, until {@link onReleased}). */
  protected onIssued(_record: PermitRecord<X>): void {}

  /** Called after a permit is marked used (the task type is known from here on). */
  protected onUsed(_record: PermitRecord<X>): void {}

  /** Called after a permit is released, for any reason (also when the ledger takes back an aborted one). */
  protected onReleased(_record: PermitRecord<X>): void {}

  /** @inheritDoc */
  reserveSlot(ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotwisePermit & X> {
    try {
      return this.ledger.reserve(this.#request(ctx), abortSignal);
    } catch (error) {
      this.ledger.reportError('reserveSlot', error);
      return Promise.reject(error);
    }
  }

  /** @inheritDoc */
  tryReserveSlot(ctx: SlotReserveContext): (SlotwisePermit & X) | null {
    let permit: (SlotwisePermit & X) | null = null;
    try {
      permit = this.ledger.tryReserve(this.#request(ctx));
    } catch (error) {
      this.ledger.reportError('tryReserveSlot', error);
    }
    if (ctx?.slotType === 'activity') this.#eagerRefusals.record(permit !== null);
    return permit;
  }

  /**
   * For a composite supplier trying its parts: a permit if this supplier admits one now, like
   * {@link tryReserveSlot}, but reported to no listener. The composite reports on each part what
   * core does with the composite's permit ({@link reportCompositeGrant}, releases, marks), so a
   * part's metrics count only that, not the composite's tries. With `floor`, the permit is one of
   * the composite's floor permits (readings are not consulted; this supplier's maximum and ceilings
   * hold); otherwise it goes through this supplier's admission rule, after its own waiters. Never
   * throws.
   */
  takeForComposite(request: ReservationContext, floor = false): (SlotwisePermit & X) | null {
    this.#quiet++;
    try {
      return this.ledger.tryReserve(request, floor ? 'floor' : 'admit');
    } catch (error) {
      this.ledger.reportError('takeForComposite', error);
      return null;
    } finally {
      this.#quiet--;
    }
  }

  /**
   * For a composite supplier: this supplier's capacity now, as {@link snapshot} reports it, without
   * building the rest of a snapshot (a composite asks on every workflow decision).
   */
  capacityForComposite(): number | null {
    return this.capacity();
  }

  /** For a composite supplier: gives back a permit of {@link takeForComposite} that never reached core, silently. */
  returnToComposite(permit: unknown): boolean {
    this.#quiet++;
    try {
      return this.#release('returnToComposite', permit, 'reclaimed');
    } finally {
      this.#quiet--;
    }
  }

  /** For a composite supplier: reports on this part that core got a composite permit built on one of its permits. */
  reportCompositeGrant(
    result: 'granted' | 'eager-granted',
    request: ReservationContext,
    waitSeconds: number,
  ): void {
    if (this.#listeners.size === 0) return; // no event built for nobody (every composite grant asks)
    const event: SupplierEvent = {
      type: 'reservation',
      result,
      slotType: request.slotType as SlotType,
      taskQueue: request.taskQueue,
      waitSeconds,
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.ledger.reportError("listener for 'reservation' events", error);
      }
    }
  }

  /** @inheritDoc */
  markSlotUsed(ctx: SlotMarkUsedContext<SlotInfo>): void {
    this.#markUsed(ctx, true);
  }

  /**
   * Marks a permit used on behalf of a composite supplier: like {@link markSlotUsed}, but the
   * permit is not offered for pairing with the running activity (the composite's own permit is).
   */
  markPartUsed(permit: unknown, slotInfo: SlotInfo): void {
    this.#markUsed({ permit, slotInfo } as SlotMarkUsedContext<SlotInfo>, false);
  }

  #markUsed(ctx: SlotMarkUsedContext<SlotInfo>, announce: boolean): void {
    try {
      const record = this.ledger.recordOf(ctx?.permit);
      if (record === undefined) {
        this.#reportStrayPermit('markSlotUsed', ctx?.permit);
      } else if (this.ledger.markUsed(record.permit, ctx.slotInfo) !== undefined) {
        if (announce) {
          slotPairing.publishSlot(ctx.slotInfo, new HeldPermit(this, this.ledger, record));
        }
        this.onUsed(record);
      } else if (record.releaseReason !== 'manual') {
        // A manual release may overtake core's (asynchronous) mark-used; anything else is a bug.
        this.ledger.reportError(
          'markSlotUsed',
          new Error(`permit #${record.permit.id} is already ${record.state}, cannot mark it used`),
        );
      }
    } catch (error) {
      this.ledger.reportError('markSlotUsed', error);
    }
  }

  /** @inheritDoc */
  releaseSlot(ctx: SlotReleaseContext<SlotInfo>): void {
    this.#release('releaseSlot', ctx?.permit);
  }

  /**
   * Hands the capacity of `permit` back now, while its task may still be running (manual slot
   * release). The later release from core is then a no-op. Returns `false` if the permit was
   * already released or is not this supplier's. Never throws.
   */
  releaseEarly(permit: unknown): boolean {
    return this.#release('releaseEarly', permit, 'manual');
  }

  /**
   * Takes back a permit that was handed out but never reached core (released as `reclaimed`).
   * Composite suppliers use it to undo a partial take. Never throws.
   */
  takeBack(permit: unknown): boolean {
    return this.#release('takeBack', permit, 'reclaimed');
  }

  /**
   * Calls `listener` whenever capacity may have grown (a release, a new reading, a limit change);
   * returns the function that stops it.
   */
  onCapacityChange(listener: () => void): () => void {
    return this.ledger.onWake(listener);
  }

  /** Registers a listener for this supplier's events (metrics use this); returns the unsubscribe function. */
  subscribe(listener: SupplierListener): () => void {
    this.#listeners.add(listener);
    const stop = this.ledger.subscribe((event) => {
      if (this.#quiet === 0) listener(event);
    });
    return () => {
      this.#listeners.delete(listener);
      stop();
    };
  }

  /**
   * Counts and capacity right now. A permit granted to a reservation that was aborted before core saw
   * it is taken back first (the ledger does not listen for that while nothing waits).
   */
  snapshot(): SupplierSnapshot {
    reclaimAbortedGrants();
    return {
      name: this.ledger.name,
      capacity: this.capacity(),
      issued: this.ledger.issued,
      used: this.ledger.used,
      waiting: this.ledger.waiting,
      errors: this.ledger.errors,
      floors: { ...this.floors },
      groups: this.ledger.slotGroups.snapshot(),
    };
  }

  #release(where: string, permit: unknown, reason?: 'manual' | 'reclaimed'): boolean {
    try {
      const record = this.ledger.recordOf(permit);
      if (record === undefined) {
        this.#reportStrayPermit(where, permit);
        return false;
      }
      return this.ledger.release(permit, reason); // a second release is a no-op
    } catch (error) {
      this.ledger.reportError(where, error);
      return false;
    }
  }

  #admit(request: ReservationContext): X | null {
    if (request.slotType === 'workflow' && this.#lastWorkflowSlotForOtherKind(request)) return null;
    return this.admit(request);
  }

  /**
   * Core needs a sticky and a non-sticky workflow poll to make progress: a long sticky poll that
   * holds the last slot starves the non-sticky one (and the other way round). So the last slot of a
   * task queue's workflow permits is kept for the kind that has none.
   */
  #lastWorkflowSlotForOtherKind(request: ReservationContext): boolean {
    const capacity = this.capacity();
    if (capacity === null || capacity < 2) return false;
    // The task queue's workflow permits by kind, from the counts kept on issue and release (a walk
    // of every live permit before, on every workflow decision).
    const groups = this.ledger.slotGroups;
    const issued = groups.issuedIn('workflow', request.taskQueue);
    const sticky = groups.stickyIn('workflow', request.taskQueue);
    const same = request.isSticky === true ? sticky : issued - sticky;
    if (same !== issued) return false; // the other kind holds one already
    return same >= capacity - 1;
  }

  #request(ctx: SlotReserveContext): ReservationContext {
    if (typeof ctx !== 'object' || ctx === null || typeof ctx.slotType !== 'string') {
      throw new TypeError(`expected a SlotReserveContext with a slotType, got ${String(ctx)}`);
    }
    slotPairing.serve(ctx.slotType, ctx.taskQueue);
    if (ctx.slotType === 'workflow' && !this.#warnedSmallWorkflowCapacity) this.#warnSmallWorkflowCapacity();
    return ctx;
  }

  #warnSmallWorkflowCapacity(): void {
    const capacity = this.maxPermits() ?? this.capacity();
    if (capacity !== null && capacity < 2) {
      this.#warnedSmallWorkflowCapacity = true;
      this.ledger.logger.warn(
        `slotwise supplier '${this.name}' serves workflow tasks with capacity ${capacity}: core needs at least 2 workflow slots (one sticky, one non-sticky) or the worker can stall`,
      );
    }
  }

  #reportStrayPermit(where: string, permit: unknown): void {
    const id = typeof permit === 'object' && permit !== null ? (permit as { id?: unknown }).id : undefined;
    this.ledger.reportError(
      where,
      new Error(
        `permit ${id === undefined ? String(permit) : `#${String(id)}`} was not issued by this supplier`,
      ),
    );
  }
}
brandClass(LedgerSlotSupplier, 'LedgerSlotSupplier');

/** A permit core marked used for an activity, as the pairing registry hands it to the activity: one object per task. */
class HeldPermit<X extends object> implements UsedActivityPermit {
  readonly permit: SlotwisePermit;
  readonly #supplier: LedgerSlotSupplier<X>;
  readonly #ledger: PermitLedger<X>;
  readonly #record: PermitRecord<X>;

  constructor(supplier: LedgerSlotSupplier<X>, ledger: PermitLedger<X>, record: PermitRecord<X>) {
    this.permit = record.permit;
    this.#supplier = supplier;
    this.#ledger = ledger;
    this.#record = record;
  }

  releaseEarly(): boolean {
    return this.#supplier.releaseEarly(this.permit);
  }

  isHeld(): boolean {
    return this.#record.state !== 'released';
  }

  waiting(): number {
    return this.#ledger.waiting;
  }

  subscribe(listener: SupplierListener): () => void {
    return this.#supplier.subscribe(listener);
  }
}

function checkSlotTypes(owner: string, option: string, value: unknown): SlotType[] {
  if (!Array.isArray(value) || value.some((slotType) => !SLOT_TYPES.includes(slotType))) {
    optionError(owner, option, `an array of ${SLOT_TYPES.map((t) => `'${t}'`).join(', ')}`, value);
  }
  return [...value] as SlotType[];
}
