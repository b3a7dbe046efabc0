import { randomUUID } from 'node:crypto';
import { WorkflowUpdateStage } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { concurrencyActivities } from '../../src/activities/concurrency-activities.js';
import {
  concurrencyAcquireBatchUpdate,
  concurrencyControllerId,
  concurrencyRequestSignal,
  concurrencyStateQuery,
} from '../../src/workflows/concurrency/signals.js';
import type { ConcurrencyRequest } from '../../src/workflows/concurrency/types.js';
import { createWorker, testClient, uniqueQueue } from './helpers.js';
import { withoutLangFlag } from './history-files.js';

// Issue 12, the stalled group (test/fixtures/histories/stall/): the TypeScript SDK runs the jobs of an
// activation that carries signals either in one batch (signal handlers, update handlers, the other
// jobs, then the workflow's own code) or in two (signal handlers, the workflow's own code, then the
// rest), and on replay it picks the mode from SDK flag 2 (ProcessWorkflowActivationJobsAsSingleBatch)
// in the completed event of that task. The stalled history was made in two batches yet records the
// flag (with the flag removed from it, it replays), so on replay the controller accepted its updates
// before the decisions its loop had signalled, and every later task failed. A controller must make the
// same commands in either mode: its handlers send what they decide before they return, so its loop
// has nothing to send between the batches.
//
// Here a real controller gets 4 request signals and an update of 2 requests in one workflow task (its
// Worker is stopped while they arrive), and its history is replayed as recorded (one batch) and with
// flag 2 taken out of it (two batches). Before the fix the second replay failed with "Update machine
// does not handle this event: ... SignalExternalWorkflowExecutionInitiated".

const EventType = temporal.api.enums.v1.EventType;
type History = temporal.api.history.v1.IHistory;

describe('a controller that gets signals and an update in one workflow task', () => {
  it('replays whether the SDK ran the task in one batch or in two: the history as recorded and without SDK flag 2', {
    timeout: 60_000,
  }, async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('batch-modes');
    const group = `batch-modes-${taskQueue}`;
    const controllerId = concurrencyControllerId(group);
    const settings = { probeIntervalMs: 60_000, idleTimeoutMs: 60_000 };
    // Runs that do not exist: their decisions are signalled (and fail to arrive, which changes nothing here).
    const request = (n: number): ConcurrencyRequest => ({
      requestId: `${group}-run-${n}/original/0`,
      key: `key-${n}`,
      workflowId: `${group}-run-${n}`,
      runId: randomUUID(),
      policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 },
      settings,
    });

    const first = await createWorker({ taskQueue, activities: concurrencyActivities });
    const handle = await first.runUntil(async () => {
      const started = await client.workflow.start('concurrencyControllerWorkflow', {
        taskQueue,
        workflowId: controllerId,
        args: [{ group, settings }],
      });
      await started.query(concurrencyStateQuery);
      return started;
    });
    // No Worker: the signals wait in history and the update with the server, for the same task.
    for (let n = 0; n < 4; n++) await handle.signal(concurrencyRequestSignal, request(n));
    const answers = handle
      .startUpdate(concurrencyAcquireBatchUpdate, {
        args: [[request(10), request(11)]],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      })
      .then((update) => update.result());
    const second = await createWorker({ taskQueue, activities: concurrencyActivities });
    const state = await second.runUntil(async () => {
      await answers;
      return handle.query(concurrencyStateQuery);
    });

    expect((await answers).map((a) => a.outcome)).toEqual(['granted', 'granted']);
    // Each of the 6 keys got its one run in (the 4 runs that do not exist lose theirs when found closed).
    expect(state.stats.granted).toBe(6);
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).map((e) => EventType[e.eventType!]);
    // The scenario happened: one task accepted the update and signalled the 4 decisions.
    const accepted = types.indexOf('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
    const task = types.lastIndexOf('EVENT_TYPE_WORKFLOW_TASK_COMPLETED', accepted);
    const next = types.indexOf('EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', accepted);
    expect(
      types.slice(task, next).filter((t) => t === 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED'),
    ).toHaveLength(4);
    const signalled = types.slice(0, task).filter((t) => t === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    expect(signalled).toHaveLength(4);

    const replay = (h: History) =>
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        h,
        controllerId,
      );
    await replay(history);
    await replay(withoutLangFlag(history, 2));
  });
});
