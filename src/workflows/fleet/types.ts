// Types shared by the lease manager workflow (src/workflows/fleet/) and the processes that hold its
// leases (src/fleet/). Plain data only: everything here crosses an update, a query or a
// continue-as-new as JSON.

/**
 * How many manager ticks make one lease TTL. The manager measures time only by counting fired
 * timers of `leaseTtlMs / FLEET_TICKS_PER_TTL` each, never by comparing clock readings, so its
 * decisions replay exactly.
 *
 * @example
 * ```ts
 * import { FLEET_TICKS_PER_TTL } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_TICKS_PER_TTL; // => 8
 * ```
 */
export const FLEET_TICKS_PER_TTL = 8;

/**
 * A waiting sync (long poll) answers after at most this many ticks with no change, so a holder
 * renews its leases at least every `2 * leaseTtlMs / 8`.
 *
 * @example
 * ```ts
 * import { FLEET_WAIT_TICKS } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_WAIT_TICKS; // => 2
 * ```
 */
export const FLEET_WAIT_TICKS = 2;

/**
 * A manager running on the lease clock (see {@link FleetLeaseClock}) drops a holder at its first
 * tick at least this many ticks of lease-clock time after the holder's last renewal. Ticks are
 * scheduled one apart in workflow time, so the drop comes at most one tick later: within the TTL.
 *
 * @example
 * ```ts
 * import { FLEET_EXPIRE_TICKS } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_EXPIRE_TICKS; // => 7
 * ```
 */
export const FLEET_EXPIRE_TICKS = 7;

/**
 * The longest gap between two manager ticks (in ticks) that the lease clock counts in full. A
 * longer gap means the manager could not run (the server or every manager Worker was away), so its
 * holders could not renew either: it counts as one tick, as a tick counter would.
 *
 * @example
 * ```ts
 * import { FLEET_CLOCK_GAP_TICKS } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_CLOCK_GAP_TICKS; // => 4
 * ```
 */
export const FLEET_CLOCK_GAP_TICKS = 4;

/**
 * A manager on the lease clock passes the leftover lease of an uneven fair split on to the next
 * holder once every this many ticks (half a TTL), not every tick: each pass is a handoff between
 * processes (the holder gives the lease back once a permit is released, the next one is granted
 * it and starts polling), during which the lease runs nothing.
 *
 * @example
 * ```ts
 * import { FLEET_ROTATE_TICKS } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_ROTATE_TICKS; // => 4
 * ```
 */
export const FLEET_ROTATE_TICKS = 4;

/**
 * The marker (`patched()`) of lease managers that schedule ticks by deadline and expire holders by
 * the lease clock. A run that started before it (its history has no marker) keeps counting ticks
 * until it continues as new.
 *
 * @example
 * ```ts
 * import { FLEET_LEASE_CLOCK_PATCH } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_LEASE_CLOCK_PATCH; // => 'slotwise-fleet-lease-clock'
 * ```
 */
export const FLEET_LEASE_CLOCK_PATCH = 'slotwise-fleet-lease-clock';

/**
 * The marker (`patched()`) of lease managers that count the events they cause with the shared
 * history budget of the durable workflows and continue as new before their history passes
 * `maxHistoryEvents`. A run without it continues as new once its history has reached
 * `maxHistoryEvents`, and then still records the answers it owes.
 *
 * @example
 * ```ts
 * import { FLEET_HISTORY_BUDGET_PATCH } from 'slotwise/internal/workflows/fleet/types.js';
 * FLEET_HISTORY_BUDGET_PATCH; // => 'slotwise-fleet-history-budget'
 * ```
 */
export const FLEET_HISTORY_BUDGET_PATCH = 'slotwise-fleet-history-budget';

/**
 * How a fleet's lease manager runs. Fixed when the manager starts (by the first process that needs
 * it); processes read the values that apply from every {@link FleetView}.
 *
 * @example
 * ```ts
 * import { DEFAULT_FLEET_SETTINGS } from 'slotwise/internal/workflows/fleet/definitions.js';
 * import type { FleetSettings } from 'slotwise/internal/workflows/fleet/types.js';
 * const settings: FleetSettings = { ...DEFAULT_FLEET_SETTINGS, leaseTtlMs: 10_000 };
 * ```
 */
export interface FleetSettings {
  /**
   * Most milliseconds from a holder's last renewal until the manager takes its leases back (plus
   * the latency of the one workflow task that does it). A lease is never taken back sooner than
   * `7/8` of it after the renewal reached the manager.
   * @default 30_000
   */
  leaseTtlMs: number;
  /**
   * The manager continues as new once its history has this many events (or earlier when the server
   * suggests it), carrying its leases.
   * @default 2_000
   */
  maxHistoryEvents: number;
  /**
   * Milliseconds with no holder after which the manager completes; the next process that needs a
   * lease starts a new one.
   * @default 600_000
   */
  idleTimeoutMs: number;
  /**
   * Most long polls (syncs with `wait`) the manager holds at once. The server admits only so many
   * updates in flight per workflow (`history.maxInFlightUpdates`, 10 by default), so the rest of a
   * large fleet is answered at once and asked to poll again a tick later.
   * @default 6
   */
  maxWaitingSyncs: number;
}

/**
 * A holder's request to the manager: how many leases it wants, how many it keeps, and (optionally)
 * the fleet size configured in its process. Every request also renews the holder's leases.
 *
 * @example
 * ```ts
 * import type { FleetSyncRequest } from 'slotwise/internal/workflows/fleet/types.js';
 * // Holds 3 leases, 2 of them in use and 2 more reservations waiting: wants 4, keeps all 3.
 * const request: FleetSyncRequest = { holderId: 'host-1:4242:api:9f2c', seq: 17, want: 4, hold: 3, wait: true };
 * ```
 */
export interface FleetSyncRequest {
  /** Unique per supplier instance (host, pid, supplier name, a random part). At most 300 characters. */
  holderId: string;
  /** Increases with every request of a holder; an older request than one applied changes nothing. */
  seq: number;
  /** Leases the holder wants in all: in use plus waiting reservations. An integer >= 0. */
  want: number;
  /**
   * Leases the holder would take beyond `want` if nobody else needs them (its demand is growing):
   * granted only from leases free after every holder's target, never counted as demand, so they
   * never make the fleet contended or change anyone's fair share. An integer >= 0; absent means 0.
   */
  extra?: number;
  /**
   * Most leases the holder keeps: the manager takes back what it holds beyond this. An integer >= 0;
   * a holder never sets it below the leases it has in use.
   */
  hold: number;
  /**
   * A long poll: answer at once if what the holder `known` differs from the manager's count (or it
   * sent no `known`), else once its leases, cap or the fleet size change, a newer request of it
   * arrives, or 2 ticks passed.
   */
  wait: boolean;
  /** What the holder knows from its last answer (its held count less what it gave back since). */
  known?: FleetKnown;
  /** The fleet size configured in the holder's process, applied now when given (a process start or a reload). */
  slots?: number;
  /** Shown in the manager's state query: host, pid and supplier name. At most 300 characters. */
  label?: string;
}

/**
 * What a holder knows of its leases: a long poll answers at once when the manager's count differs.
 *
 * @example
 * ```ts
 * import type { FleetKnown } from 'slotwise/internal/workflows/fleet/types.js';
 * const known: FleetKnown = { held: 2, cap: null, slots: 5 };
 * ```
 */
export interface FleetKnown {
  held: number;
  cap: number | null;
  slots: number;
}

/**
 * The manager's answer to a {@link FleetSyncRequest}: what the holder holds now (absolute, so a lost
 * answer loses nothing: the next one says it again) and what it may keep.
 *
 * @example
 * ```ts
 * import type { FleetView } from 'slotwise/internal/workflows/fleet/types.js';
 * const view: FleetView = {
 *   fleet: 'licensed-api', holderId: 'h1', seq: 17, superseded: false, held: 2, cap: 2,
 *   slots: 5, leased: 5, waiting: 3, holders: 3, validForMs: 26_250, generation: 0, pollAfterMs: null,
 * };
 * ```
 */
export interface FleetView {
  fleet: string;
  holderId: string;
  /** The `seq` of the request answered. */
  seq: number;
  /** A newer request of this holder was applied after this one: its answer is the one to use. */
  superseded: boolean;
  /** Leases the holder holds, as the manager counts them. */
  held: number;
  /**
   * Most leases the holder may keep while the fleet is contended (its fair share of `slots` over
   * every holder's demand); leases above it go back as their permits are released. `null` when no
   * holder waits: keep what you hold and give idle leases back after the linger.
   */
  cap: number | null;
  /** The fleet size. */
  slots: number;
  /** Leases held by all holders. May exceed `slots` for a while after `slots` was lowered. */
  leased: number;
  /** Leases holders wait for beyond what they hold, within their fair shares. */
  waiting: number;
  /** Holders the manager knows. */
  holders: number;
  /**
   * The manager keeps this holder's leases at least this many milliseconds after this request
   * reached it: a holder may use them until `sent + validForMs - margin`.
   */
  validForMs: number;
  /** How many times this manager continued as new. */
  generation: number;
  /**
   * `null`: send the next request when you like (the long poll was held, or there was news).
   * A number: the manager held too many long polls to hold this one; send the next request after
   * this many milliseconds unless there are leases to give back.
   */
  pollAfterMs: number | null;
}

/** One holder as the manager keeps it. */
export interface FleetHolder {
  id: string;
  label: string;
  /** Leases granted and not returned or expired. */
  held: number;
  /** Leases wanted in all (the last request's `want`). */
  want: number;
  /** Leases it would take beyond `want` from those nobody needs (the last request's `extra`). */
  extra?: number;
  /** The last applied request's `seq`. */
  seq: number;
  /** The manager tick of the last renewal (any request renews). */
  renewedAt: number;
  /** The lease clock's reading at the last renewal (managers on the lease clock only). */
  renewedAtMs?: number;
  /** The grant counter when it was last granted a lease (-1: never); the round-robin order. */
  servedAt: number;
  /** Join order; the order in which an uneven fair split's remainder rotates. */
  order: number;
}

/** A holder that left or expired, remembered so that a late request of it is not taken as new. */
export interface FleetDeparted {
  id: string;
  seq: number;
  /** The manager tick it left. */
  at: number;
}

/** Counters of a fleet since its manager first started. */
export interface FleetStats {
  /** Leases granted. */
  granted: number;
  /** Leases holders gave back. */
  returned: number;
  /** Leases taken back from holders that stopped renewing. */
  expired: number;
  /** Holders that stopped renewing. */
  expiredHolders: number;
  /** Sync requests applied (stale ones included). */
  syncs: number;
  /** Times `slots` changed. */
  slotChanges: number;
}

/** The whole lease state of one fleet: plain JSON, carried across continue-as-new as is. */
export interface FleetLeaseState {
  fleet: string;
  slots: number;
  /** Manager ticks fired since the first run. */
  tick: number;
  /** Leases granted so far: the round-robin clock. */
  grants: number;
  /**
   * Join order from which the remainder of an uneven fair split is handed out next; each contended
   * tick passes one remainder lease on to the next holder in join order.
   */
  rotation: number;
  /** Holders that get one lease of the remainder of an uneven fair split, longest-held first. */
  bonus: string[];
  /** The next holder's join order. */
  nextOrder: number;
  holders: FleetHolder[];
  departed: FleetDeparted[];
  stats: FleetStats;
  /** The lease clock, once a manager on it ticked or took a request. */
  clock?: FleetLeaseClock;
}

/**
 * Time as a lease manager counts it for expiry: workflow time (recorded in history, so it replays
 * exactly), except that a gap between two ticks longer than {@link FLEET_CLOCK_GAP_TICKS} ticks
 * counts as one tick. It never runs faster than real time, so a renewed lease is never dropped
 * sooner than {@link FLEET_EXPIRE_TICKS} ticks after the renewal reached the manager.
 */
export interface FleetLeaseClock {
  /** Milliseconds counted up to the last tick. */
  ms: number;
  /** Workflow time (epoch milliseconds) of the last tick. */
  tickAt: number;
}

/**
 * Input of {@link fleetLeaseManagerWorkflow}: a fleet and its size for a first start; the carried
 * state and generation after a continue-as-new.
 *
 * @example
 * ```ts
 * import type { FleetManagerInput } from 'slotwise/internal/workflows/fleet/types.js';
 * const input: FleetManagerInput = { fleet: 'licensed-api', slots: 40, settings: { leaseTtlMs: 30_000 } };
 * ```
 */
export interface FleetManagerInput {
  fleet: string;
  /** The fleet size for a first start (a carried `state` has its own). */
  slots: number;
  settings?: Partial<FleetSettings>;
  state?: FleetLeaseState;
  generation?: number;
}

/**
 * What a lease manager returns when it completes after its idle timeout.
 *
 * @example
 * ```ts
 * import type { FleetManagerResult } from 'slotwise/internal/workflows/fleet/types.js';
 * const result: FleetManagerResult = {
 *   fleet: 'licensed-api', generation: 0,
 *   stats: { granted: 90, returned: 88, expired: 2, expiredHolders: 1, syncs: 240, slotChanges: 0 },
 * };
 * ```
 */
export interface FleetManagerResult {
  fleet: string;
  generation: number;
  stats: FleetStats;
}

/** One holder in a {@link FleetStateSnapshot}. */
export interface FleetHolderSnapshot {
  id: string;
  label: string;
  held: number;
  want: number;
  /** Its cap now (see {@link FleetView.cap}). */
  cap: number | null;
  /** Ticks since its last renewal. */
  ticksSinceRenewal: number;
}

/**
 * The answer of {@link fleetStateQuery} (and of `setSlots`): a fleet's size, leases, holders and
 * counters. `getFleetState` (`slotwise/client`) asks for it.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { getFleetState } from 'slotwise/client';
 * const state = await getFleetState(new Client(), 'licensed-api');
 * state.leased; // => 5
 * ```
 */
export interface FleetStateSnapshot {
  fleet: string;
  slots: number;
  leased: number;
  waiting: number;
  contended: boolean;
  tick: number;
  tickMs: number;
  generation: number;
  settings: FleetSettings;
  holders: FleetHolderSnapshot[];
  stats: FleetStats;
}

/**
 * Argument of the `setSlots` update.
 *
 * @example
 * ```ts
 * import type { FleetSetSlotsRequest } from 'slotwise/internal/workflows/fleet/types.js';
 * const request: FleetSetSlotsRequest = { slots: 50 };
 * ```
 */
export interface FleetSetSlotsRequest {
  /** The new fleet size, an integer >= 1. Leases in use are kept; a smaller size stops new grants until enough return. */
  slots: number;
}
