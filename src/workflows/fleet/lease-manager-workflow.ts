import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { HistoryBudget } from '../durable/history-budget.js';
import { RecordedTimer } from '../durable/recorded-timer.js';
import {
  fleetSetSlotsUpdate,
  fleetSettings,
  fleetStateQuery,
  fleetSyncUpdate,
  validateFleetSlots,
  validateFleetSyncRequest,
} from './definitions.js';
import { emptyFleetState, FleetLeases } from './lease-state.js';
import {
  FLEET_EXPIRE_TICKS,
  FLEET_HISTORY_BUDGET_PATCH,
  FLEET_LEASE_CLOCK_PATCH,
  FLEET_TICKS_PER_TTL,
  FLEET_WAIT_TICKS,
  type FleetManagerInput,
  type FleetManagerResult,
  type FleetStateSnapshot,
  type FleetSyncRequest,
  type FleetView,
} from './types.js';

/** Events one more step of the manager may need: a sync accepted and answered, and a tick timer. */
const STEP_EVENTS = 3;

/**
 * The durable lease manager of one fleet (workflow id {@link fleetManagerId}). Every
 * {@link FleetSlotSupplier} of the fleet reaches it with the {@link fleetSyncUpdate} update (with
 * update-with-start, so the first one starts it); it applies requests to a {@link FleetLeases} and
 * answers each holder with what it holds now.
 *
 * - Time is workflow time (recorded in history, so replay computes the same): while any holder
 *   exists the manager ticks on a schedule of one tick (`leaseTtlMs / 8`) apart, each timer running
 *   to its tick's deadline, and drops a holder at the first tick at least 7 ticks of lease-clock
 *   time after its last renewal. So a dead holder's leases return within the TTL (plus the latency
 *   of one workflow task), however slow the workflow tasks in between were; a long gap (the server
 *   or every manager Worker away) counts as one tick, as holders could not renew meanwhile. Runs
 *   from before this (no {@link FLEET_LEASE_CLOCK_PATCH} marker) count 8 tick timers of a tick each.
 * - A sync with `wait` is a long poll: it answers once the holder's leases, cap or the fleet size
 *   change, a newer request of the holder arrives, or 2 ticks passed. At most `maxWaitingSyncs` are
 *   held at once (the server limits updates in flight per workflow); others are answered at once
 *   and poll again a tick later.
 * - It continues as new before its history passes `maxHistoryEvents` events (or when the server
 *   suggests it), counting every event it causes with the {@link HistoryBudget} the per-key
 *   concurrency controller uses: each sync (accepted, answered), each tick timer, and the answers the
 *   long polls it holds still owe. It first answers every waiting sync, then carries the lease state;
 *   holders simply send their next sync. Syncs that arrive while it drains are answered at once from
 *   the budget's reserve. Runs from before this (no {@link FLEET_HISTORY_BUDGET_PATCH} marker)
 *   continue as new once their history reached `maxHistoryEvents`, plus the answers they owed.
 * - It completes after `idleTimeoutMs` with no holder; the next sync starts a new one.
 *
 * Processes host it themselves (see {@link FleetSlotSupplier}); you only register it when you run
 * managers on Workers of your own (`hostManager: false`).
 *
 * @example
 * ```ts
 * // workflows.ts of a Worker that runs fleet lease managers on task queue 'slotwise-fleet'.
 * export { fleetLeaseManagerWorkflow } from 'slotwise/workflows';
 * ```
 */
export async function fleetLeaseManagerWorkflow(input: FleetManagerInput): Promise<FleetManagerResult> {
  const settings = fleetSettings(input.settings);
  const generation = input.generation ?? 0;
  const tickMs = settings.leaseTtlMs / FLEET_TICKS_PER_TTL;
  // Runs that started before the lease clock (no marker in their history) keep counting ticks.
  const onLeaseClock = patched(FLEET_LEASE_CLOCK_PATCH);
  // Runs that started before the history budget continue as new once their history is long.
  const onBudget = patched(FLEET_HISTORY_BUDGET_PATCH);
  const budget = new HistoryBudget(() => settings.maxHistoryEvents);
  budget.spend(2); // the two patch markers of this run's first workflow task
  const leases = new FleetLeases(
    input.state ?? emptyFleetState(input.fleet, input.slots),
    onLeaseClock ? { tickMs } : {},
  );
  const { fleet } = leases.state;
  const validForMs = Math.floor(FLEET_EXPIRE_TICKS * tickMs);
  let draining = false;
  /** Workflow time (ms) of the next tick's deadline; -Infinity until the first tick is scheduled. */
  let nextTickAt = Number.NEGATIVE_INFINITY;
  /** Long polls held now (the server limits updates in flight per workflow). */
  let waitingSyncs = 0;
  /** The tick's timer; one is armed at a time, and a continue-as-new drops a pending one. */
  const tickTimer = new RecordedTimer();

  const view = (request: FleetSyncRequest, pollAfterMs: number | null = null): FleetView => {
    const holder = leases.find(request.holderId);
    return {
      fleet,
      holderId: request.holderId,
      seq: request.seq,
      superseded: leases.seqOf(request.holderId) > request.seq,
      held: holder?.held ?? 0,
      cap: holder === undefined ? null : leases.capOf(holder.id),
      slots: leases.state.slots,
      leased: leases.leased,
      waiting: leases.waiting,
      holders: leases.state.holders.length,
      validForMs,
      generation,
      pollAfterMs,
    };
  };

  const snapshot = (): FleetStateSnapshot => ({
    fleet,
    slots: leases.state.slots,
    leased: leases.leased,
    waiting: leases.waiting,
    contended: leases.contended,
    tick: leases.state.tick,
    tickMs,
    generation,
    settings,
    holders: leases.holderSnapshots(),
    stats: { ...leases.state.stats },
  });

  setHandler(
    fleetSyncUpdate,
    async (request) => {
      budget.spend(1); // accepted now; answered below (in this workflow task or a later one)
      const slotsBefore = leases.state.slots;
      const { stale } = leases.sync(request, Date.now());
      if (leases.state.slots !== slotsBefore) {
        log.info('slotwise fleet: slots changed by a holder', {
          fleet,
          holder: request.label ?? request.holderId,
          from: slotsBefore,
          to: leases.state.slots,
        });
      }
      const { holderId, seq } = request;
      budget.spend(1); // the answer
      if (stale || !request.wait || draining || !leases.matches(holderId, request.known))
        return view(request);
      if (waitingSyncs >= settings.maxWaitingSyncs) return view(request, tickMs);
      const key = leases.viewKey(holderId);
      const until = leases.state.tick + FLEET_WAIT_TICKS;
      waitingSyncs++; // owed until answered (see owed())
      try {
        await condition(
          () =>
            draining ||
            leases.state.tick >= until ||
            leases.seqOf(holderId) !== seq ||
            leases.viewKey(holderId) !== key,
        );
      } finally {
        waitingSyncs--;
      }
      budget.spend(1); // the answer, in this workflow task
      return view(request);
    },
    { validator: validateFleetSyncRequest },
  );

  setHandler(
    fleetSetSlotsUpdate,
    ({ slots }) => {
      budget.spend(2); // accepted and answered
      const from = leases.state.slots;
      leases.setSlots(slots);
      if (from !== slots) log.info('slotwise fleet: slots changed', { fleet, from, to: slots });
      return snapshot();
    },
    {
      validator: (request) => {
        if (typeof request !== 'object' || request === null) {
          throw new TypeError('fleet setSlots: expected an object { slots }');
        }
        validateFleetSlots(request.slots);
      },
    },
  );

  setHandler(fleetStateQuery, snapshot);

  /** Events that commands already sent and long polls already accepted will still add. */
  const owed = () => waitingSyncs + (tickTimer.armed ? 1 : 0);
  const wantsContinueAsNew = () => {
    const info = workflowInfo();
    if (info.continueAsNewSuggested) return true;
    return onBudget ? budget.room(owed()) < STEP_EVENTS : info.historyLength >= settings.maxHistoryEvents;
  };

  for (;;) {
    if (wantsContinueAsNew()) {
      // Answer every waiting sync first (their holders send the next one to the new run).
      draining = true;
      await condition(allHandlersFinished);
      await continueAsNew<typeof fleetLeaseManagerWorkflow>({
        fleet,
        slots: leases.state.slots,
        settings,
        state: leases.state,
        generation: generation + 1,
      });
    }
    if (leases.state.holders.length === 0) {
      budget.spend(2); // the idle timer: started, then fired or cancelled
      const busy = await condition(
        () => leases.state.holders.length > 0 || wantsContinueAsNew(),
        settings.idleTimeoutMs,
      );
      if (!busy && leases.state.holders.length === 0 && allHandlersFinished()) {
        return { fleet, generation, stats: { ...leases.state.stats } };
      }
      continue;
    }
    // One tick; a history grown long meanwhile ends the wait at once (continue-as-new above). Ticks
    // keep a schedule in workflow time: the timer runs to the tick's deadline, so the latency of a
    // workflow task delays one tick, never all later ones. A schedule behind by a whole tick (the
    // server or every manager Worker was away) starts afresh from now rather than firing the missed
    // ticks at once, which would expire holders that had no chance to renew.
    const now = Date.now();
    if (nextTickAt <= now) nextTickAt = now + tickMs;
    if (tickTimer.arm(onLeaseClock ? Math.max(1, nextTickAt - now) : tickMs)) budget.spend(1);
    await condition(() => tickTimer.fired || wantsContinueAsNew());
    if (!tickTimer.take()) continue;
    nextTickAt += tickMs;
    for (const { label, held } of leases.tick(Date.now())) {
      log.warn('slotwise fleet: a holder stopped renewing; its leases return to the fleet', {
        fleet,
        holder: label,
        leases: held,
      });
    }
  }
}
