import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { ConcurrencyGrants } from './grant-state.js';
import { DEFAULT_CONTROLLER_SETTINGS } from './options.js';
import {
  concurrencyDecisionSignal,
  concurrencyProbeSignal,
  concurrencyReleaseSignal,
  concurrencyRequestSignal,
  concurrencyStateQuery,
} from './signals.js';
import type {
  ConcurrencyControllerInput,
  ConcurrencyControllerResult,
  ConcurrencyControllerSettings,
  ConcurrencyEffect,
  ConcurrencyRequest,
  ConcurrencyRunRef,
} from './types.js';

type ControllerEvent =
  | { type: 'request'; request: ConcurrencyRequest }
  | { type: 'release'; requestId: string; reclaimed: boolean };

const mergeSettings = (
  current: ConcurrencyControllerSettings,
  update: Partial<ConcurrencyControllerSettings> | undefined,
): ConcurrencyControllerSettings => {
  if (!update) return current;
  const next = { ...current };
  for (const name of ['probeIntervalMs', 'idleTimeoutMs', 'maxHistoryEvents'] as const) {
    const value = update[name];
    if (typeof value === 'number') next[name] = value;
  }
  return next;
};

/**
 * The durable controller of one concurrency group. {@link withConcurrency} starts it on first use
 * (as an abandoned child with id {@link concurrencyControllerId}) and signals it; you only need to
 * register it in the Workers' workflow bundle:
 *
 * - It applies requests and releases to a {@link ConcurrencyGrants} and carries out the decisions:
 *   signals a grant or a refusal to the run, or cancels the run's workflow (`CANCEL_IN_PROGRESS`).
 * - Release detection: a run gives its grant back from a `finally` block (completed, failed,
 *   cancelled, continued as new). A run that never gets there (terminated, timed out, reset) is
 *   found by a probe: every `probeIntervalMs` the controller signals each run that has held its
 *   grant that long; the server refuses to deliver a signal to a closed run, and that refusal frees
 *   the grant. A grant signal that cannot be delivered frees the grant the same way. All of it is
 *   workflow commands with recorded outcomes: deterministic on replay, no activity, no client.
 * - It continues as new after `maxHistoryEvents` events (or when the server suggests it), carrying
 *   running runs, waiting runs and decided-but-unsent effects; it first waits for the signals and
 *   cancellations it has in flight, whose outcomes it needs.
 * - It completes after `idleTimeoutMs` with nothing granted or waiting.
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
  const { group } = input;
  const generation = input.generation ?? 0;
  const grants = new ConcurrencyGrants(input.state);
  let settings = mergeSettings({ ...DEFAULT_CONTROLLER_SETTINGS }, input.settings);
  const inbox: ControllerEvent[] = (input.requests ?? []).map((request) => ({ type: 'request', request }));
  const outbox: ConcurrencyEffect[] = [...(input.outbox ?? [])];
  const probing = new Set<string>();
  let inflight = 0;

  setHandler(concurrencyRequestSignal, (request) => {
    inbox.push({ type: 'request', request });
  });
  setHandler(concurrencyReleaseSignal, ({ requestId }) => {
    inbox.push({ type: 'release', requestId, reclaimed: false });
  });
  setHandler(concurrencyStateQuery, () => ({
    group,
    generation,
    policy: grants.state.policy,
    settings,
    running: grants.state.running,
    queued: grants.state.queued,
    runningPerKey: grants.runningPerKey(),
    stats: grants.state.stats,
  }));

  // The holder is closed: free whatever it held or waited for.
  const reclaim = (run: ConcurrencyRunRef, why: string) => {
    if (grants.findRunning(run.requestId)) {
      log.info('slotwise concurrency: reclaiming the grant of a closed run', { group, ...run, why });
    }
    inbox.push({ type: 'release', requestId: run.requestId, reclaimed: true });
  };

  const track = (sent: Promise<void>, onFailure: () => void, onSettled?: () => void) => {
    inflight++;
    sent.then(undefined, onFailure).finally(() => {
      inflight--;
      onSettled?.();
    });
  };

  const send = (effect: ConcurrencyEffect) => {
    const { run } = effect;
    const target = getExternalWorkflowHandle(run.workflowId, run.runId);
    if (effect.type === 'cancel') {
      log.info('slotwise concurrency: cancelling a run replaced by a newer one', { group, ...run });
      track(target.cancel(), () => reclaim(run, 'cancel not deliverable'));
    } else if (effect.type === 'grant') {
      const decision = { requestId: run.requestId, outcome: 'granted' as const };
      track(target.signal(concurrencyDecisionSignal, decision), () => reclaim(run, 'grant not deliverable'));
    } else {
      const decision = { requestId: run.requestId, outcome: 'rejected' as const, reason: effect.reason };
      // A refused run holds nothing: if it is gone already there is nothing to free.
      track(target.signal(concurrencyDecisionSignal, decision), () => undefined);
    }
  };

  const probe = (run: ConcurrencyRunRef) => {
    probing.add(run.requestId);
    track(
      getExternalWorkflowHandle(run.workflowId, run.runId).signal(concurrencyProbeSignal),
      () => reclaim(run, 'probe not deliverable'),
      () => probing.delete(run.requestId),
    );
  };

  const wantsContinueAsNew = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= settings.maxHistoryEvents;
  };

  let lastProbeAt = Date.now();
  let idleSince = Date.now();
  for (;;) {
    const now = Date.now();
    while (inbox.length > 0) {
      const event = inbox.shift()!;
      if (event.type === 'request') {
        settings = mergeSettings(settings, event.request.settings);
        outbox.push(...grants.request(event.request, now));
      } else {
        outbox.push(...grants.release(event.requestId, now, event.reclaimed));
      }
    }

    if (wantsContinueAsNew()) {
      // New decisions wait in the outbox and travel with the state; in-flight ones must land first.
      if (inflight === 0) {
        await continueAsNew<typeof concurrencyControllerWorkflow>({
          group,
          state: grants.state,
          outbox,
          settings,
          generation: generation + 1,
        });
      }
    } else {
      for (const effect of outbox.splice(0)) send(effect);
      if (now - lastProbeAt >= settings.probeIntervalMs) {
        lastProbeAt = now;
        for (const run of grants.probeTargets(now, settings.probeIntervalMs)) {
          if (!probing.has(run.requestId)) probe(run);
        }
      }
    }

    const quiet = grants.idle && inflight === 0 && outbox.length === 0;
    if (!quiet) idleSince = now;
    else if (now - idleSince >= settings.idleTimeoutMs) {
      return { group, generation, stats: grants.state.stats };
    }

    let timeoutMs: number | undefined;
    if (grants.state.running.length > 0) timeoutMs = lastProbeAt + settings.probeIntervalMs - now;
    else if (quiet) timeoutMs = idleSince + settings.idleTimeoutMs - now;
    const wake = () => inbox.length > 0 || (inflight === 0 && wantsContinueAsNew());
    if (timeoutMs === undefined) await condition(wake);
    else await condition(wake, Math.max(1, timeoutMs));
  }
}
