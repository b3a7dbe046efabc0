import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import {
  concurrencyActivities,
  concurrencyReleaseSinks,
} from '../../src/activities/concurrency-activities.js';
import { slotwiseWorkerOptions } from '../../src/worker/slotwise-worker-options.js';
import { CONCURRENCY_SINK_NAME } from '../../src/workflows/concurrency/activity-contract.js';
import { concurrencyControllerId, concurrencyStateQuery } from '../../src/workflows/concurrency/signals.js';
import type { ConcurrencyStats } from '../../src/workflows/concurrency/types.js';
import { createWorker, testClient, uniqueQueue } from './helpers.js';

// Issue 12, the cost of withConcurrency() when its limits do not bind: a run gave its grant back in a
// second local activity, which cost its last workflow task one more activation, a marker in its
// history and (while the release waited for a batch update of other runs' requests) tens of
// milliseconds. A Worker made with slotwiseWorkerOptions() now has slotwise's release sink, and a run
// whose acquire activity ran on such a Worker releases through it: nothing in its history. Here 3 runs
// of each of 2 keys with maxRuns 1, so each key's runs wait for the one before to release: every
// grant comes back (released, none reclaimed: a lost release would only come back through the
// controller's holder check, tens of seconds later), one run per key at a time, and the runs'
// histories hold one local activity (the acquire) instead of two; they replay. A Worker without the
// sink still releases through the local activity.

const EventType = temporal.api.enums.v1.EventType;
const KEYS = ['a', 'b'];
const RUNS_PER_KEY = 3;

interface Outcome {
  results: number[];
  markersPerRun: number[];
  stats: ConcurrencyStats;
  peakPerKey: Record<string, number>;
  histories: Array<{ workflowId: string; history: temporal.api.history.v1.IHistory }>;
}

/**
 * How the Worker releases: slotwiseWorkerOptions() (the sink), plain options (the release activity), or
 * a sink that drops every release (what a Worker process killed right after a run ended loses).
 */
type Mode = 'sink' | 'activity' | 'lost';

async function runGroup(
  client: Client,
  mode: Mode,
  keys = KEYS,
  probeIntervalMs?: number,
): Promise<Outcome & { dropped: number }> {
  const taskQueue = uniqueQueue(`release-${mode}`);
  const group = `group-${taskQueue}`;
  const running = new Map<string, number>();
  const peak = new Map<string, number>();
  const options = {
    taskQueue,
    activities: {
      ...concurrencyActivities,
      simulatedWork: async ({ ms, index }: { ms: number; index?: number }) => {
        const key = (Context.current().info.workflowExecution?.workflowId ?? '').split('--')[1]!;
        running.set(key, (running.get(key) ?? 0) + 1);
        peak.set(key, Math.max(peak.get(key) ?? 0, running.get(key)!));
        try {
          await Context.current().sleep(ms);
          return index ?? 0;
        } finally {
          running.set(key, running.get(key)! - 1);
        }
      },
    },
  };
  let dropped = 0;
  if (mode === 'lost') {
    // The runs learn from their acquire that this Worker has the sink; the Worker's sink drops them.
    concurrencyReleaseSinks('default', taskQueue, () => undefined, console);
  }
  const worker = await createWorker(
    mode === 'sink'
      ? slotwiseWorkerOptions(options)
      : mode === 'lost'
        ? { ...options, sinks: { [CONCURRENCY_SINK_NAME]: { release: { fn: () => void dropped++ } } } }
        : options,
  );
  const workflowIds = keys.flatMap((key) =>
    Array.from({ length: RUNS_PER_KEY }, (_, i) => `${group}-run${i}--${key}`),
  );
  return worker.runUntil(async () => {
    const results = await Promise.all(
      workflowIds.map((workflowId, index) =>
        client.workflow.execute('concurrencyExampleWorkflow', {
          taskQueue,
          workflowId,
          args: [
            {
              concurrency: {
                group,
                key: workflowId.split('--')[1]!,
                maxRuns: 1,
                ...(probeIntervalMs ? { controller: { probeIntervalMs } } : {}),
              },
              workMs: 200,
              index,
            },
          ],
        }),
      ),
    );
    const histories = await Promise.all(
      workflowIds.map(async (workflowId) => ({
        workflowId,
        history: await client.workflow.getHandle(workflowId).fetchHistory(),
      })),
    );
    const markersPerRun = histories.map(
      ({ history }) =>
        (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED).length,
    );
    // Wait until the controller holds no grant (the sink's signal may still be on its way; a lost
    // release comes back through the holder check).
    const controller = client.workflow.getHandle(concurrencyControllerId(group));
    let state = await controller.query(concurrencyStateQuery);
    for (const deadline = Date.now() + 30_000; state.running.length > 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = await controller.query(concurrencyStateQuery);
    }
    return {
      results,
      markersPerRun,
      stats: state.stats,
      peakPerKey: Object.fromEntries(peak),
      histories,
      dropped,
    };
  });
}

describe('withConcurrency() releases through the Worker sink', () => {
  it('a Worker from slotwiseWorkerOptions(): every grant released (none reclaimed), one run per key at a time, one local activity per run, histories replay', {
    timeout: 90_000,
  }, async () => {
    const client = await testClient();
    const outcome = await runGroup(client, 'sink');
    expect(outcome.results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(outcome.markersPerRun).toEqual([1, 1, 1, 1, 1, 1]);
    expect(outcome.stats.granted).toBe(6);
    expect(outcome.stats.released).toBe(6);
    expect(outcome.stats.reclaimed).toBe(0);
    expect(outcome.peakPerKey).toEqual({ a: 1, b: 1 });
    for (const { workflowId, history } of outcome.histories) {
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        history,
        workflowId,
      );
    }
  });

  it('a Worker without the sink releases through the release local activity', {
    timeout: 90_000,
  }, async () => {
    const client = await testClient();
    const outcome = await runGroup(client, 'activity');
    expect(outcome.results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(outcome.markersPerRun).toEqual([2, 2, 2, 2, 2, 2]);
    expect(outcome.stats.released).toBe(6);
    expect(outcome.stats.reclaimed).toBe(0);
    expect(outcome.peakPerKey).toEqual({ a: 1, b: 1 });
  });

  it('a release that never arrives (its Worker process died with it) comes back through the controller’s holder check', {
    timeout: 90_000,
  }, async () => {
    const client = await testClient();
    const outcome = await runGroup(client, 'lost', ['a'], 1_000);
    expect(outcome.results).toEqual([0, 1, 2]);
    expect(outcome.dropped).toBe(3);
    expect(outcome.markersPerRun).toEqual([1, 1, 1]);
    // Each run's grant was reclaimed once the controller had found its run closed (twice, a tick apart).
    expect(outcome.stats.granted).toBe(3);
    expect(outcome.stats.released).toBe(3);
    expect(outcome.stats.reclaimed).toBe(3);
    expect(outcome.peakPerKey).toEqual({ a: 1 });
  });
});
