import { condition, continueAsNew, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { HistoryBudget } from '../durable/history-budget.js';
import { RecordedTimer } from '../durable/recorded-timer.js';
import { SignalOutbox } from '../durable/signal-outbox.js';
import { CONCURRENCY_ACTIVITY_TYPES, type ConcurrencyHolderStatus } from './activity-contract.js';
import { isMissingActivity, missingActivities } from './errors.js';
import { ConcurrencyGrants } from './grant-state.js';
import { concurrencyLocalActivities } from './local-activities.js';
import { DEFAULT_CONTROLLER_SETTINGS } from './options.js';
import {
  concurrencyAcquireBatchUpdate,
  concurrencyAcquireUpdate,
  concurrencyDecisionSignal,
  concurrencyProbeSignal,
  concurrencyReleaseBatchSignal,
  concurrencyReleaseSignal,
  concurrencyRequestSignal,
  concurrencyStateQuery,
} from './signals.js';
import type {
  ConcurrencyControllerInput,
  ConcurrencyControllerResult,
  ConcurrencyControllerSettings,
  ConcurrencyDecision,
  ConcurrencyEffect,
  ConcurrencyRequest,
  ConcurrencyRunRef,
} from './types.js';

/** Most runs described by one check (the rest are checked at the next ticks, in turn). */
const CHECK_BATCH = 200;
/** Room an accepted update needs: its accepted and completed events, and one signal it may cause. */
const UPDATE_ROOM = 4;
/** Without the check activity, a grant is probed at these ages (in ticks), then every 256 ticks. */
const PROBE_CAP_TICKS = 256;

/**
 * The marker (`patched()`) of controllers whose signal and update handlers send the commands their
 * change calls for before they return (see {@link concurrencyControllerWorkflow}). A run that started
 * before it (its history has no marker) sends them from its loop until it continues as new.
 */
export const CONCURRENCY_SETTLE_IN_HANDLERS_PATCH = 'slotwise-concurrency-settle-in-handlers';

/**
 * The marker of controllers that continue as new when decisions wait and the history has no room
 * left to send one (before it, they waited for the next check tick or incoming signal: up to
 * `probeIntervalMs` for a grant). Asked for only at that moment, so a run that never meets it records
 * nothing, and a run recorded before it replays as it ran.
 */
export const CONCURRENCY_NO_STRANDED_DECISIONS_PATCH = 'slotwise-concurrency-no-stranded-decisions';

/**
 * The marker of controllers that answer `full` to a request their state has no room for
 * (`maxStateBytes`); before it, a controller took every request, and one whose state outgrew the
 * server's payload limit was terminated by the server at its next continue-as-new. Asked for only
 * when a request first does not fit, so a run recorded before it replays as it ran.
 */
export const CONCURRENCY_STATE_BUDGET_PATCH = 'slotwise-concurrency-state-budget';

/** What the outbox carries: a decision for a run, or a probe of a run (not carried over). */
type OutboxTag = ConcurrencyEffect | { type: 'probe'; run: ConcurrencyRunRef };

const mergeSettings = (
  current: ConcurrencyControllerSettings,
  update: Partial<ConcurrencyControllerSettings> | undefined,
): ConcurrencyControllerSettings => {
  if (!update) return current;
  const next = { ...current };
  for (const name of ['probeIntervalMs', 'idleTimeoutMs', 'maxHistoryEvents', 'maxStateBytes'] as const) {
    const value = update[name];
    if (typeof value === 'number') next[name] = value;
  }
  if (typeof update.activities === 'boolean') next.activities = update.activities;
  return next;
};

/** The decision signalled to a run for an effect. */
function decisionOf(effect: ConcurrencyEffect): ConcurrencyDecision {
  const { requestId } = effect.run;
  if (effect.type === 'grant') return { requestId, outcome: 'granted' };
  if (effect.type === 'reject') return { requestId, outcome: 'rejected', reason: effect.reason };
  if (effect.type === 'full') {
    const { reason, ticket, retryAfterMs } = effect;
    return { requestId, outcome: 'full', reason, ticket, retryAfterMs };
  }
  return {
    requestId,
    outcome: 'cancelled',
    reason: `a newer run (${effect.by}) of key ${JSON.stringify(effect.run.key)} replaces it (CANCEL_IN_PROGRESS)`,
    by: effect.by,
  };
}

/** A probe is due at grant ages 2, 4, 8, ..., 256 ticks, then every 256 ticks. */
const probeDue = (age: number) =>
  age >= 2 && (age <= PROBE_CAP_TICKS ? (age & (age - 1)) === 0 : age % PROBE_CAP_TICKS === 0);

/**
 * The durable controller of one concurrency group (or of one shard of it). {@link withConcurrency}
 * starts it on first use (id {@link concurrencyControllerId}) and talks to it; you only need to export
 * it from the workflow bundle of the Workers of its task queue (and, for the fast path and for finding
 * runs that ended without releasing, register `concurrencyActivities` from `slotwise/activities` there):
 *
 * - Requests come as updates (through the acquire activity, which gathers the requests one Worker
 *   process makes at the same time into one `slotwise.concurrency.acquireBatch` update: a run gets its
 *   answer in the same workflow task that asked) or as signals (runs without the activities).
 *   Releases come as signals (one per run, or one per batch from a Worker process). They are applied
 *   to a {@link ConcurrencyGrants} as they arrive; its decisions for other runs (a grant, a refusal, a
 *   replacement) are signalled to those runs.
 * - A signal or update handler sends the decisions and timers its change calls for before it returns,
 *   so the controller makes the same commands whether the SDK runs an activation's signals, updates
 *   and other jobs in one batch or in two (it picks the mode on replay from a flag it records, and
 *   has been seen to record it for a task it ran the other way); its loop sends only what timers,
 *   checks and undeliverable decisions cause.
 * - No decision reads a clock. Time enters only as recorded timer firings (ticks): checks run on a
 *   tick, the idle exit on a timer that fired with nothing happening since it started. So replay is
 *   exact whatever the activations' clocks said (a query arriving during a pending workflow task can
 *   give an activation a stale `Date.now()`).
 * - Every `probeIntervalMs` (one tick) it checks the runs that have held their grant a whole tick:
 *   with the slotwise concurrency activities, a local activity describes them, which adds nothing to
 *   their histories, and finds runs that closed (their grant is freed) and runs a reset replaced (the
 *   new run keeps the grant and is told again). Without them it falls back to probe signals at grant
 *   ages of 2, 4, 8, ... ticks, then every 256 ticks (4 events in the run's history each). A decision
 *   that cannot be delivered triggers a check of that run at once.
 * - It continues as new before its history passes `maxHistoryEvents` (see {@link HistoryBudget}):
 *   updates are refused (and retried by the activity on the next run) when there is no room for them,
 *   and decisions unsent or in flight are carried over and sent again (runs take a repeated answer as
 *   one).
 * - It completes after `idleTimeoutMs` with nothing granted, waiting or in flight.
 *
 * @example
 * ```ts
 * // workflows.ts of your Worker: export the controller next to your own workflows.
 * import { withConcurrency } from 'slotwise/workflows';
 * export { concurrencyControllerWorkflow } from 'slotwise/workflows';
 *
 * export async function myWorkflow(tenant: string): Promise<number> {
 *   return withConcurrency({ group: 'reports', key: tenant, maxRuns: 2 }, async () => 42);
 * }
 * ```
 */
export async function concurrencyControllerWorkflow(
  input: ConcurrencyControllerInput,
): Promise<ConcurrencyControllerResult> {
  const { group, shard } = input;
  const generation = input.generation ?? 0;
  const settleInHandlers = patched(CONCURRENCY_SETTLE_IN_HANDLERS_PATCH);
  let settings = mergeSettings({ ...DEFAULT_CONTROLLER_SETTINGS }, input.settings);
  /** Whether this run answers `full` to requests its state has no room for: asked once, when first needed. */
  let budgetPatch: boolean | undefined;
  const grants = new ConcurrencyGrants(input.state, {
    get maxBytes() {
      return settings.maxStateBytes;
    },
    enforce: () => {
      budgetPatch ??= patched(CONCURRENCY_STATE_BUDGET_PATCH);
      return budgetPatch;
    },
  });
  let tick = input.tick ?? 0;
  const holderCheck = () => (settings.activities ? 'describe' : 'probe');
  /** Changes with every request, release and check result: the idle exit needs it unchanged. */
  let activity = 0;
  let idleArmedAt = -1;
  let checkDue = false;
  let checkCursor = 0;
  const budget = new HistoryBudget(() => settings.maxHistoryEvents);
  if (settleInHandlers) budget.spend(1); // the patch marker
  const checkTimer = new RecordedTimer();
  const idleTimer = new RecordedTimer();
  /** Runs holding a grant whose decision could not be delivered: checked at once. */
  const suspects = new Map<string, ConcurrencyRunRef>();
  const { [CONCURRENCY_ACTIVITY_TYPES.checkHolders]: checkHolders } = concurrencyLocalActivities();

  /** Runs found closed normally while holding: their release is on its way; reclaimed if still held next check. */
  const ended = new Set<string>();
  const reclaim = (requestId: string, why: string) => {
    ended.delete(requestId);
    const run = grants.findRunning(requestId);
    if (run) log.info('slotwise concurrency: reclaiming the grant of a closed run', { group, ...run, why });
    apply(grants.release(requestId, Date.now(), true, tick));
  };

  const outbox = new SignalOutbox<ConcurrencyDecision, OutboxTag>((message) => {
    const { tag } = message;
    if (tag.type === 'reject' || tag.type === 'full' || (tag.type === 'cancel' && tag.queued)) return; // it holds nothing
    const run = grants.findRunning(tag.run.requestId);
    if (run === undefined || run.runId !== tag.run.runId) return; // released, or moved on since
    if (tag.type === 'probe' || !settings.activities) reclaim(run.requestId, `${tag.type} not deliverable`);
    else suspects.set(run.requestId, { ...run });
  });

  const push = (effect: ConcurrencyEffect) => {
    const { run } = effect;
    outbox.push({
      id: `decision:${run.requestId}`,
      workflowId: run.workflowId,
      runId: run.runId,
      signal: concurrencyDecisionSignal,
      payload: decisionOf(effect),
      tag: effect,
    });
  };

  /** Applies what a change of the grant state decided; `answered` is told directly (update result). */
  function apply(effects: ConcurrencyEffect[], answered?: string): void {
    activity++;
    for (const effect of effects) if (effect.run.requestId !== answered) push(effect);
  }

  for (const effect of input.outbox ?? []) push(effect);
  for (const request of input.requests ?? []) {
    settings = mergeSettings(settings, request.settings);
    apply(grants.request(request, Date.now(), tick));
  }

  /** Events commands already sent will still add: signal outcomes and timer firings. */
  const owed = () => outbox.inflight + (checkTimer.armed ? 1 : 0) + (idleTimer.armed ? 1 : 0);
  const mustContinueAsNew = () => workflowInfo().continueAsNewSuggested || budget.room(owed()) < UPDATE_ROOM;
  /** Decisions wait and the room left cannot send one (a signal is two events) without taking an update's. */
  const stranded = () => outbox.unsent > 0 && budget.room(owed()) < UPDATE_ROOM + 2;
  /** Whether this run continues as new for stranded decisions: asked once, when first needed. */
  let strandedPatch: boolean | undefined;
  const continuesWhenStranded = () => {
    strandedPatch ??= patched(CONCURRENCY_NO_STRANDED_DECISIONS_PATCH);
    return strandedPatch;
  };

  /** Sends the decisions waiting, as many as the history budget allows (two events per signal: the command now, its outcome later). */
  const flushDecisions = () =>
    budget.spend(outbox.flush(Math.floor((budget.room(owed()) - UPDATE_ROOM) / 2)));
  /** Arms the idle timer when nothing is left to do, and the check timer while grants are held. */
  const armTimers = () => {
    if (grants.idle && outbox.empty && suspects.size === 0 && !idleTimer.armed) {
      idleTimer.arm(settings.idleTimeoutMs);
      idleArmedAt = activity;
      budget.spend(1);
    }
    if (grants.state.running.length > 0 && checkTimer.arm(settings.probeIntervalMs)) budget.spend(1);
  };
  /**
   * What a signal or an update changed, sent before its handler returns: decisions, then timers (when
   * the run must continue as new, the loop does that and carries the decisions over). See
   * {@link CONCURRENCY_SETTLE_IN_HANDLERS_PATCH}.
   */
  const settle = () => {
    if (!settleInHandlers || mustContinueAsNew()) return;
    flushDecisions();
    armTimers();
  };

  setHandler(
    concurrencyAcquireUpdate,
    (request: ConcurrencyRequest): ConcurrencyDecision => {
      settings = mergeSettings(settings, request.settings);
      budget.spend(2);
      const effects = grants.request(request, Date.now(), tick);
      apply(effects, request.requestId);
      settle();
      const own = effects.find((effect) => effect.run.requestId === request.requestId);
      return own ? decisionOf(own) : { requestId: request.requestId, outcome: 'queued' };
    },
    {
      // No room for this update's events: refuse it (nothing is recorded), continue as new, and let
      // the acquire activity retry on the next run.
      validator: (_request: ConcurrencyRequest) => {
        if (mustContinueAsNew()) throw new Error('slotwise concurrency controller: continuing as new; retry');
      },
    },
  );
  setHandler(
    concurrencyAcquireBatchUpdate,
    (requests: ConcurrencyRequest[]): ConcurrencyDecision[] => {
      budget.spend(2);
      // Each request is answered with the last decision the batch made for it (a later request of the
      // batch can replace an earlier one under CANCEL_IN_PROGRESS); decisions for other runs are signalled.
      const answers = new Map<string, ConcurrencyDecision>();
      for (const request of requests)
        answers.set(request.requestId, { requestId: request.requestId, outcome: 'queued' });
      for (const request of requests) {
        settings = mergeSettings(settings, request.settings);
        const effects = grants.request(request, Date.now(), tick);
        activity++;
        for (const effect of effects) {
          if (answers.has(effect.run.requestId)) answers.set(effect.run.requestId, decisionOf(effect));
          else push(effect);
        }
      }
      settle();
      return requests.map((request) => answers.get(request.requestId)!);
    },
    {
      validator: (requests: ConcurrencyRequest[]) => {
        if (!Array.isArray(requests))
          throw new Error('slotwise concurrency controller: expected an array of requests');
        if (mustContinueAsNew()) throw new Error('slotwise concurrency controller: continuing as new; retry');
      },
    },
  );
  setHandler(concurrencyRequestSignal, (request) => {
    settings = mergeSettings(settings, request.settings);
    apply(grants.request(request, Date.now(), tick));
    settle();
  });
  const released = (requestId: string) => {
    suspects.delete(requestId);
    ended.delete(requestId);
    apply(grants.release(requestId, Date.now(), false, tick));
  };
  setHandler(concurrencyReleaseSignal, ({ requestId }) => {
    released(requestId);
    settle();
  });
  setHandler(concurrencyReleaseBatchSignal, ({ requestIds }) => {
    for (const requestId of Array.isArray(requestIds) ? requestIds : []) released(requestId);
    settle();
  });
  setHandler(concurrencyStateQuery, () => ({
    group,
    ...(shard ? { shard } : {}),
    holderCheck: holderCheck(),
    generation,
    policy: grants.state.policy,
    settings,
    running: grants.state.running,
    queued: grants.state.queued,
    runningPerKey: grants.runningPerKey(),
    stats: grants.state.stats,
  }));

  /** The runs to check now: suspects first, then (on a tick) a batch of long-held grants in turn. */
  const checkTargets = (): ConcurrencyRunRef[] => {
    const targets = new Map<string, ConcurrencyRunRef>(suspects);
    suspects.clear();
    if (checkDue) {
      checkDue = false;
      const due = grants.checkTargets(tick);
      if (checkCursor >= due.length) checkCursor = 0;
      const batch = [...due.slice(checkCursor), ...due.slice(0, checkCursor)].slice(0, CHECK_BATCH);
      checkCursor += batch.length;
      for (const run of batch) if (!targets.has(run.requestId)) targets.set(run.requestId, run);
    }
    return [...targets.values()];
  };

  const applyStatuses = (targets: ConcurrencyRunRef[], statuses: ConcurrencyHolderStatus[]) => {
    for (const [index, status] of statuses.entries()) {
      const target = targets[index]!;
      const run = grants.findRunning(status.requestId);
      if (run === undefined || run.runId !== target.runId) continue; // released or moved meanwhile
      if (status.status === 'closed') reclaim(run.requestId, 'closed');
      else if (status.status === 'ended') {
        // It released before it closed; that signal can still be on its way. Not twice.
        if (ended.has(run.requestId)) reclaim(run.requestId, 'closed without its release arriving');
        else ended.add(run.requestId);
      } else if (status.status === 'moved' && status.runId !== undefined) {
        log.info('slotwise concurrency: a reset run takes over its grant', {
          group,
          ...run,
          to: status.runId,
        });
        apply(grants.moveRun(run.requestId, status.runId));
      }
    }
  };

  for (;;) {
    if (checkTimer.take()) {
      tick++;
      checkDue = true;
    }

    // Check holders: describe them (check activity), or probe the ones due (no activities on the Workers).
    if (settings.activities && (suspects.size > 0 || checkDue) && !mustContinueAsNew()) {
      const targets = checkTargets();
      if (targets.length > 0) {
        budget.spend(1); // the local activity's marker
        let statuses: ConcurrencyHolderStatus[] | undefined;
        try {
          statuses = await checkHolders(targets);
        } catch (error) {
          if (isMissingActivity(error)) throw missingActivities(error);
          log.warn('slotwise concurrency: checking runs failed; they are checked again next tick', {
            group,
            error,
          });
        }
        if (statuses) applyStatuses(targets, statuses);
      }
    }
    if (!settings.activities) {
      for (const run of suspects.values()) reclaim(run.requestId, 'decision not deliverable');
      suspects.clear();
      if (checkDue) {
        checkDue = false;
        for (const run of grants.state.running) {
          if (!probeDue(tick - (run.grantedTick ?? 0))) continue;
          outbox.push({
            id: `probe:${run.requestId}`,
            workflowId: run.workflowId,
            runId: run.runId,
            signal: concurrencyProbeSignal,
            payload: undefined,
            tag: { type: 'probe', run: { ...run } },
          });
        }
      }
    }

    if (mustContinueAsNew() || (stranded() && continuesWhenStranded())) {
      // Decisions unsent or in flight are sent again by the next run; probes and checks start afresh.
      const carried: ConcurrencyEffect[] = [];
      for (const { tag } of outbox.carry()) if (tag.type !== 'probe') carried.push(tag);
      for (const run of suspects.values()) {
        const running = grants.findRunning(run.requestId);
        if (running) carried.push(grants.answerOf(running));
      }
      await continueAsNew<typeof concurrencyControllerWorkflow>({
        group,
        ...(shard ? { shard } : {}),
        state: grants.state,
        outbox: carried,
        settings,
        generation: generation + 1,
        tick,
      });
    }

    flushDecisions();
    const quiet = grants.idle && outbox.empty && suspects.size === 0;
    if (idleTimer.take() && quiet && activity === idleArmedAt) {
      return { group, generation, stats: grants.state.stats };
    }
    armTimers();

    await condition(
      () =>
        checkTimer.fired ||
        idleTimer.fired ||
        suspects.size > 0 ||
        (outbox.unsent > 0 && (!stranded() || strandedPatch !== false)) ||
        mustContinueAsNew() ||
        (grants.idle && outbox.empty && !idleTimer.armed) ||
        (grants.state.running.length > 0 && !checkTimer.armed),
    );
  }
}
