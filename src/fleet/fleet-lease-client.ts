import type { Logger } from '@temporalio/common';
import { DistinctErrorLog, errorMessage } from '../resources/distinct-error-log.js';
import { FLEET_TICKS_PER_TTL, type FleetSyncRequest, type FleetView } from '../workflows/fleet/types.js';
import type { FleetTransport } from './fleet-transport.js';

/**
 * `hold` of a request that gives nothing back: keep every lease the manager has for this holder,
 * including grants whose answer has not arrived yet.
 */
const KEEP_ALL = 1_000_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
const CLOSE_TIMEOUT_MS = 5_000;
const LAPSE_LOG_INTERVAL_MS = 60_000;
/**
 * Most requests of one holder unanswered at once: the long poll and one newer request. A request
 * replaced by a newer one stays in flight at the server until the manager applies the newer one, and
 * the server admits only 10 updates in flight per workflow (`history.maxInFlightUpdates`): a holder
 * that sent one request per demand change while the manager was slow filled that limit, and every
 * further request of every holder failed with ResourceExhausted and was retried with a backoff of
 * seconds. Changes made meanwhile go out together with the next request.
 */
const MAX_UNANSWERED = 2;

/** What the supplier asks of its demand: permits out (each on a lease) and reservations waiting. */
export interface FleetDemand {
  inUse: number;
  waiting: number;
}

/** Options of a {@link FleetLeaseClient}. */
export interface FleetLeaseClientOptions {
  fleet: string;
  /** The fleet size configured in this process: sent with the first request and by {@link FleetLeaseClient.setSlots}. */
  slots: number;
  holderId: string;
  /** Shown in the manager's state: host, pid, supplier. */
  label: string;
  transport: FleetTransport;
  /** Milliseconds a spare lease is kept while no other holder waits. */
  lingerMs: number;
  /** The configured TTL, for request timeouts until the manager's own values are known. */
  leaseTtlMs: number;
  /** Fewest milliseconds between two requests that replace one in flight. */
  minSyncIntervalMs: number;
  logger: Logger;
  /** Monotonic clock, milliseconds. */
  now: () => number;
  /** Reads the supplier's demand; called synchronously, must not throw. */
  demand: () => FleetDemand;
  /** Called when more leases may be usable (a grant arrived): the supplier wakes its waiters. */
  onChange: () => void;
}

/** What a fleet supplier knows about its fleet and its own leases, for snapshots and metrics. */
export interface FleetLeaseSnapshot {
  /** The fleet's name. */
  fleet: string;
  /** This holder's id at the manager. */
  holderId: string;
  /** The fleet size: the manager's, or the configured one before the first answer. */
  slots: number;
  /** Leases held by all holders of the fleet, as last reported; `null` before the first answer. */
  leased: number | null;
  /** Leases the fleet's holders wait for, as last reported; `null` before the first answer. */
  fleetWaiting: number | null;
  /** Holders the manager knows, as last reported; `null` before the first answer. */
  holders: number | null;
  /** Leases this process holds, as the manager last counted them (minus those it gave back since). */
  held: number;
  /** Most leases this process may keep while the fleet is contended, else `null`. */
  cap: number | null;
  /** Leases this process may put permits on now: 0 while its leases are not renewed. */
  usable: number;
  /** Permits out on leases. */
  inUse: number;
  /** Leases this process wants beyond those it holds. */
  wanted: number;
  /** Whether the last renewal is recent enough to admit new tasks on the leases. */
  valid: boolean;
  /** Leases this process stopped using because it could not renew them in time, since creation. */
  expiredLeases: number;
  /** Permits out beyond the leases held (tasks that started on leases since lost); 0 normally. */
  overdrawn: number;
  /** Round trips to the manager that answered, since creation. */
  syncs: number;
  /** Round trips to the manager that failed, since creation. */
  syncErrors: number;
}

interface InFlight {
  seq: number;
  want: number;
  /** The `hold` it carried (KEEP_ALL when it gave nothing back). */
  hold: number;
  /** The version of the configured size it carried, or -1. */
  carriesSlots: number;
  sentAt: number;
}

/**
 * The process side of a fleet lease: holds what the lease manager granted, decides when to ask for
 * more, give back and renew, and stops admitting on leases it could not renew in time. No I/O of
 * its own: it sends {@link FleetSyncRequest}s through a {@link FleetTransport}.
 *
 * - One request is in flight normally: a long poll the manager answers when this holder's leases,
 *   cap or the fleet size change, or after 2 manager ticks (the renewal). A change of demand that
 *   matters (more wanted than asked, leases to give back) sends a newer request at once (at most
 *   one per `minSyncIntervalMs`), which answers the older one.
 * - Spare leases (held beyond demand) stay for `lingerMs` while no other holder waits, so a burst
 *   that follows reuses them without a round trip; while others wait (`cap` set) they go back at once,
 *   and leases above the cap go back as soon as their permits are released.
 * - Local validity: leases may be used until `sent + validForMs - one tick` of the last answered
 *   request (the manager keeps them at least `validForMs` after it got the request); after that
 *   nothing new is admitted until an answer arrives.
 *
 * Internal: {@link FleetSlotSupplier} wires it to its ledger.
 *
 * @example
 * ```ts
 * import { DefaultLogger } from '@temporalio/worker';
 * import { FleetLeaseClient } from 'slotwise/internal/fleet/fleet-lease-client.js';
 * const client = new FleetLeaseClient({
 *   fleet: 'api', slots: 5, holderId: 'h1', label: 'h1', lingerMs: 1000, leaseTtlMs: 30_000, minSyncIntervalMs: 20,
 *   transport: { sync: () => new Promise(() => {}), setSlots: () => new Promise(() => {}) },
 *   logger: new DefaultLogger('WARN'), now: () => performance.now(),
 *   demand: () => ({ inUse: 0, waiting: 1 }), onChange: () => {},
 * });
 * client.changed(); // asks the manager for a lease
 * client.canIssue(0); // => false until the answer arrives
 * ```
 */
export class FleetLeaseClient {
  readonly #options: FleetLeaseClientOptions;
  readonly #errors: DistinctErrorLog;
  #held = 0;
  #cap: number | null = null;
  #slots: number;
  #configuredSlots: number;
  #view: FleetView | undefined;
  #joinedAmong: number | undefined;
  #validUntil = Number.NEGATIVE_INFINITY;
  #announceSlots = true;
  /** Bumped by every {@link setSlots}; a request's answer settles the announcement only for its version. */
  #slotsVersion = 0;
  #seq = 0;
  #current: InFlight | undefined;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #retryAt = Number.NEGATIVE_INFINITY;
  /** When the manager could not hold a long poll: the next request waits until then (returns excepted). */
  #pollAt = Number.NEGATIVE_INFINITY;
  #returnPending = false;
  #hint = 0;
  #spareSince: number | undefined;
  #failures = 0;
  #syncs = 0;
  #expired = 0;
  #expiredCounted = false;
  #lapses = 0;
  #lastLapseLog = Number.NEGATIVE_INFINITY;
  #evaluateQueued = false;
  #timer: { at: number; handle: NodeJS.Timeout } | undefined;
  /** One per request sent and not settled, the ones a newer request replaced included. */
  #inflightAborts = new Set<AbortController>();
  #closing: Promise<void> | undefined;

  constructor(options: FleetLeaseClientOptions) {
    this.#options = options;
    this.#slots = options.slots;
    this.#configuredSlots = options.slots;
    this.#errors = new DistinctErrorLog(options.logger);
  }

  /** Leases that permits may be put on now. */
  usable(): number {
    if (this.#options.now() >= this.#validUntil) return 0;
    return this.#cap === null ? this.#held : Math.min(this.#held, this.#cap);
  }

  /** Whether the manager last said the fleet is contended (this holder has a cap: others want leases too). */
  get contended(): boolean {
    return this.#cap !== null;
  }

  /** Whether one more permit may be issued with `inUse` out. Reads cached state only. */
  canIssue(inUse: number): boolean {
    return inUse < this.usable();
  }

  /**
   * How many holders the manager knew when it first answered this one, this one included (1: it
   * was the first); 0 before the first answer. Processes that join together tell themselves apart
   * by it (see FleetSlotSupplier's turn over task queues).
   */
  get joinedAmong(): number {
    return this.#joinedAmong ?? 0;
  }

  /** The fleet size, as the manager last said (or as configured before that). */
  get slots(): number {
    return this.#slots;
  }

  /** Demand may have changed (a reservation waits, was granted or aborted, a permit was released). */
  changed(): void {
    if (this.#closing || this.#evaluateQueued) return;
    this.#evaluateQueued = true;
    // Changes within one turn of the event loop are looked at once; across turns the
    // minSyncIntervalMs window batches them.
    queueMicrotask(() => {
      this.#evaluateQueued = false;
      this.#evaluate();
    });
  }

  /**
   * An attempt to take a permit without waiting was refused: as a composite part the supplier does
   * not see the composite's waiting reservations, so each refusal counts as one lease wanted.
   */
  noteDenied(): void {
    if (this.#closing) return;
    this.#hint = Math.min(this.#hint + 1, this.#slots);
    this.changed();
  }

  /**
   * Sets the fleet size at the manager. Resolves once applied; rejects if the manager could not be
   * reached (the value is then sent with the next request instead).
   */
  async setSlots(slots: number): Promise<void> {
    this.#configuredSlots = slots;
    this.#announceSlots = true;
    const version = ++this.#slotsVersion;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error('timed out')), this.#requestTimeoutMs());
    try {
      const state = await this.#options.transport.setSlots(slots, controller.signal);
      this.#slots = state.slots;
      if (this.#slotsVersion === version) this.#announceSlots = false;
      this.#options.onChange();
      this.changed();
    } catch (error) {
      this.#errors.report(
        `slotwise fleet '${this.#options.fleet}': could not set slots to ${slots} at the lease manager (sent with the next request instead): ${errorMessage(error)}`,
      );
      throw error;
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Counts and the fleet as last reported. */
  snapshot(inUse: number): FleetLeaseSnapshot {
    const now = this.#options.now();
    this.#countExpiry(now);
    const demand = this.#demand();
    return {
      fleet: this.#options.fleet,
      holderId: this.#options.holderId,
      slots: this.#slots,
      leased: this.#view?.leased ?? null,
      fleetWaiting: this.#view?.waiting ?? null,
      holders: this.#view?.holders ?? null,
      held: this.#held,
      cap: this.#cap,
      usable: this.usable(),
      inUse,
      wanted: Math.max(0, Math.min(demand.inUse + demand.waiting, this.#slots) - this.#held),
      valid: now < this.#validUntil,
      expiredLeases: this.#expired,
      overdrawn: Math.max(0, inUse - this.#held),
      syncs: this.#syncs,
      syncErrors: this.#errors.count,
    };
  }

  /**
   * Gives every lease back and stops. Call after the Workers using the supplier stopped: leases of
   * permits still out are given back too. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#leave();
    return this.#closing;
  }

  async #leave(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer.handle);
    this.#timer = undefined;
    for (const controller of this.#inflightAborts) controller.abort(new Error('closed'));
    const known = this.#seq > 0;
    this.#held = 0;
    this.#validUntil = Number.NEGATIVE_INFINITY;
    if (!known) return;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error('timed out')), CLOSE_TIMEOUT_MS);
    try {
      await this.#options.transport.sync(
        { holderId: this.#options.holderId, seq: ++this.#seq, want: 0, hold: 0, wait: false },
        controller.signal,
      );
    } catch (error) {
      this.#options.logger.warn(
        `slotwise fleet '${this.#options.fleet}': could not give leases back on close (they return when their TTL ends): ${errorMessage(error)}`,
      );
    } finally {
      clearTimeout(timeout);
    }
  }

  #demand(): FleetDemand {
    try {
      return this.#options.demand();
    } catch {
      return { inUse: 0, waiting: 0 };
    }
  }

  /** Decides what to hold and whether to send a request now; schedules itself for later otherwise. */
  #evaluate(): void {
    if (this.#closing) return;
    const now = this.#options.now();
    this.#countExpiry(now);
    const { inUse, waiting } = this.#demand();
    const need = inUse + waiting + this.#hint;
    const want = Math.min(need, this.#slots);

    // What to keep: never the leases of permits out; above the cap, nothing more; beyond the need,
    // spare leases go back at once while others wait, after the linger otherwise.
    let keep = this.#held;
    if (this.#cap !== null) keep = Math.min(keep, Math.max(inUse, this.#cap));
    if (keep > need) {
      if (this.#cap !== null) {
        keep = need;
        this.#spareSince = undefined;
      } else {
        this.#spareSince ??= now;
        if (now - this.#spareSince >= this.#options.lingerMs) {
          keep = need;
          this.#spareSince = undefined;
        } else {
          this.#wakeAt(this.#spareSince + this.#options.lingerMs);
        }
      }
    } else {
      this.#spareSince = undefined;
    }
    if (keep < this.#held) {
      this.#held = keep;
      this.#returnPending = true;
    }

    if (this.#held > 0 && now < this.#validUntil) this.#wakeAt(this.#validUntil);

    const active = this.#held > 0 || want > 0 || this.#returnPending;
    if (!active && this.#current === undefined) return;
    if (now < this.#retryAt) {
      this.#wakeAt(this.#retryAt);
      return;
    }
    const current = this.#current;
    const at = this.#lastSentAt + this.#options.minSyncIntervalMs;
    if (current === undefined) {
      // The next request after an answer: at once, but never more often than minSyncIntervalMs, and
      // not before the manager asked for it when it could not hold a long poll (returns excepted).
      if (!active) return;
      const due = this.#returnPending ? at : Math.max(at, this.#pollAt);
      if (now >= due) this.#send(want, now);
      else this.#wakeAt(due);
      return;
    }
    // A newer request replaces the one in flight only for a change the manager must hear now:
    // leases to give back, more wanted than asked while more could be granted, or nothing wanted at
    // all any more. Smaller swings of demand (pollers coming and going) wait for the next renewal.
    const needsMore = want > this.#held;
    const belowCap = this.#cap === null || this.#held < this.#cap;
    // A give-back is sent at once unless the request in flight already carries it: one that gave
    // back less is answered only when the holder's view changes, up to a renewal later.
    const matters =
      (this.#returnPending && current.hold > this.#held) ||
      (needsMore && current.want <= this.#held) ||
      (needsMore && belowCap && want > current.want) ||
      (want === 0 && this.#held === 0 && current.want > 0);
    if (!matters) return;
    // Too many requests of this holder still at the server: the next one goes when one settles.
    if (this.#inflightAborts.size >= MAX_UNANSWERED) return;
    if (now >= at) this.#send(want, now);
    else this.#wakeAt(at);
  }

  /**
   * Leases to ask for beyond `want`, granted only from leases no other holder needs: while demand
   * outgrows the leases held (not the first ones: a Worker's first polls ask for what they need)
   * and the fleet is not contended, as many again, so a burst that keeps growing needs a round trip
   * each time it doubles, not each time one more poll or task arrives. They are spare leases like
   * any others: back after the linger, at once while others wait.
   */
  #extraFor(want: number): number {
    if (this.#cap !== null || this.#held === 0 || want <= this.#held) return 0;
    return Math.min(want, this.#slots - want);
  }

  #send(want: number, now: number): void {
    const extra = this.#extraFor(want);
    const seq = ++this.#seq;
    const carriesReturn = this.#returnPending;
    const request: FleetSyncRequest = {
      holderId: this.#options.holderId,
      seq,
      want,
      hold: carriesReturn ? this.#held : KEEP_ALL,
      wait: true,
      ...(extra > 0 ? { extra } : {}),
      label: this.#options.label,
      ...(this.#announceSlots ? { slots: this.#configuredSlots } : {}),
      ...(this.#view ? { known: { held: this.#held, cap: this.#cap, slots: this.#slots } } : {}),
    };
    this.#hint = 0;
    const inflight: InFlight = {
      seq,
      want,
      hold: request.hold,
      carriesSlots: request.slots === undefined ? -1 : this.#slotsVersion,
      sentAt: now,
    };
    this.#current = inflight;
    this.#lastSentAt = now;
    const controller = new AbortController();
    this.#inflightAborts.add(controller);
    const timeout = setTimeout(() => controller.abort(new Error('timed out')), this.#requestTimeoutMs());
    let sent: Promise<FleetView>;
    try {
      sent = this.#options.transport.sync(request, controller.signal);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent
      .then(
        (view) => this.#onAnswer(inflight, view),
        (error: unknown) => this.#onFailure(inflight, error),
      )
      .finally(() => {
        clearTimeout(timeout);
        this.#inflightAborts.delete(controller);
        // A replaced request settled: a change held back for it may go now.
        if (this.#current !== inflight) this.changed();
      });
  }

  #onAnswer(request: InFlight, view: FleetView): void {
    if (this.#closing || this.#current !== request) return; // a newer request answers instead
    this.#current = undefined;
    this.#failures = 0;
    this.#retryAt = Number.NEGATIVE_INFINITY;
    this.#syncs++;
    this.#view = view;
    this.#joinedAmong ??= view.holders;
    // The manager applied the configured size this request carried; later changes (the CLI, another
    // process) are not overridden by this process again until its config changes.
    if (request.carriesSlots === this.#slotsVersion) this.#announceSlots = false;
    this.#held = view.held;
    this.#cap = view.cap;
    this.#slots = view.slots;
    this.#returnPending = false;
    this.#pollAt = view.pollAfterMs === null ? Number.NEGATIVE_INFINITY : request.sentAt + view.pollAfterMs;
    const tickMs = view.validForMs / (FLEET_TICKS_PER_TTL - 1);
    const validUntil = request.sentAt + view.validForMs - tickMs;
    if (validUntil > this.#validUntil) {
      this.#validUntil = validUntil;
      this.#expiredCounted = false;
    }
    this.#wakeAt(this.#validUntil);
    this.#safeOnChange();
    this.#evaluate();
  }

  #onFailure(request: InFlight, error: unknown): void {
    if (this.#closing || this.#current !== request) return;
    this.#current = undefined;
    this.#failures++;
    this.#errors.report(
      `slotwise fleet '${this.#options.fleet}': lease request failed (retrying; leases stay usable until their renewal is due): ${errorMessage(error)}`,
    );
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (this.#failures - 1));
    this.#retryAt = this.#options.now() + backoff * (0.5 + Math.random() / 2);
    this.#evaluate();
  }

  /** Counts the leases held when their validity ends (once per lapse) and says so once. */
  #countExpiry(now: number): void {
    if (this.#expiredCounted || now < this.#validUntil || this.#validUntil === Number.NEGATIVE_INFINITY)
      return;
    this.#expiredCounted = true;
    if (this.#held === 0) return;
    this.#expired += this.#held;
    this.#lapses++;
    // The first lapse, then at most one line a minute (an overloaded manager lapses often).
    if (now - this.#lastLapseLog < LAPSE_LOG_INTERVAL_MS) return;
    this.#lastLapseLog = now;
    this.#options.logger.warn(
      `slotwise fleet '${this.#options.fleet}': ${this.#held} leases were not renewed in time (${this.#lapses} such lapses so far); no new task starts on them until the lease manager answers again`,
    );
  }

  #requestTimeoutMs(): number {
    const tickMs = this.#view
      ? this.#view.validForMs / (FLEET_TICKS_PER_TTL - 1)
      : this.#options.leaseTtlMs / FLEET_TICKS_PER_TTL;
    return 2 * tickMs + Math.max(5_000, tickMs);
  }

  /** Runs {@link #evaluate} at `at` (the earliest of the times asked for). */
  #wakeAt(at: number): void {
    if (this.#timer !== undefined && this.#timer.at <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer.handle);
    const delay = Math.max(0, at - this.#options.now());
    const handle = setTimeout(() => {
      this.#timer = undefined;
      this.#evaluate();
      this.#safeOnChange();
    }, delay);
    handle.unref?.();
    this.#timer = { at, handle };
  }

  #safeOnChange(): void {
    try {
      this.#options.onChange();
    } catch (error) {
      this.#options.logger.error(`slotwise fleet '${this.#options.fleet}': ${errorMessage(error)}`);
    }
  }
}
