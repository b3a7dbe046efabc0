import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import type { LedgerSlotSupplier } from '../../src/suppliers/ledger-slot-supplier.js';
import { withSlotwise } from '../../src/worker/with-slotwise.js';
import { ConcurrencyProbe, testClient, uniqueQueue, until } from './helpers.js';

/** How often a supplier answered core's tryReserveSlot (eager dispatch), from its events. */
function eagerCalls(supplier: LedgerSlotSupplier): () => number {
  let calls = 0;
  supplier.subscribe((event) => {
    if (event.type === 'reservation' && event.result.startsWith('eager-')) calls++;
  });
  return () => calls;
}

// fanOutWorkflow schedules all its activities in its first workflow task, with the SDK's default
// eager dispatch (proxyActivities without allowEagerDispatch).
describe('eager activity dispatch with slotwise suppliers', () => {
  it('withSlotwise() with 2 activity slots completes one workflow task scheduling 400 activities, never more than 2 at once', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('eager-400');
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const probe = new ConcurrencyProbe();
    const slotwise = await withSlotwise(
      {
        connection,
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        // Long enough that the two slots overlap; short enough for 400 of them.
        activities: {
          simulatedWork: () => probe.around(() => new Promise((r) => setTimeout(() => r(0), 25))),
        },
      },
      { activity: { supplier: { type: 'fixed', slots: 2, name: 'two' } } },
      { env: {} },
    );
    try {
      const calls = eagerCalls(slotwise.built.suppliers.get('two')!);
      const worker = await Worker.create(slotwise.options);
      const done = await worker.runUntil(
        client.workflow.execute('fanOutWorkflow', {
          taskQueue,
          workflowId: taskQueue,
          args: [{ tasks: 400, workMs: 0 }],
        }),
      );
      expect(done).toBe(400);
      expect(probe.completed).toBe(400);
      expect(probe.max).toBe(2);
      expect(calls()).toBe(0);
    } finally {
      await slotwise.close();
      await connection.close();
    }
  }, 300_000);

  it('withSlotwise() with 50 activity slots held by long activities completes a workflow task scheduling 400 more', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('eager-full');
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const probe = new ConcurrencyProbe();
    let releaseLong!: () => void;
    const longMayEnd = new Promise<void>((resolve) => {
      releaseLong = resolve;
    });
    const slotwise = await withSlotwise(
      {
        connection,
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: {
          simulatedWork: () =>
            probe.around(async () => {
              if (Context.current().info.workflowExecution?.workflowId.endsWith('-long')) await longMayEnd;
              return 0;
            }),
        },
      },
      { activity: { supplier: { type: 'fixed', slots: 50, name: 'fifty' } } },
      { env: {} },
    );
    try {
      const supplier = slotwise.built.suppliers.get('fifty')!;
      const calls = eagerCalls(supplier);
      const worker = await Worker.create(slotwise.options);
      const [long, burst] = await worker.runUntil(async () => {
        const longRun = client.workflow.execute('fanOutWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-long`,
          args: [{ tasks: 50, workMs: 0 }],
        });
        await until('the long activities hold all 50 slots', () => supplier.snapshot().used === 50);
        // No slot is free while this workflow task schedules its 400 activities.
        const burstRun = client.workflow.execute('fanOutWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-burst`,
          args: [{ tasks: 400, workMs: 0 }],
        });
        await until('pollers wait for a slot', () => supplier.snapshot().waiting > 0);
        releaseLong();
        return Promise.all([longRun, burstRun]);
      });
      expect([long, burst]).toEqual([50, 400]);
      expect(probe.completed).toBe(450);
      expect(probe.max).toBe(50);
      expect(calls()).toBe(0);
    } finally {
      releaseLong();
      await slotwise.close();
      await connection.close();
    }
  }, 300_000);
});

interface CanaryRun {
  /** tryReserveSlot calls answered. */
  calls: number;
  /** The workflow's result, when it completed. */
  done: number | undefined;
  /** Activities that started. */
  activities: number;
  /** Whether the Worker was asked to shut down (3 s after the 128th call), and whether it stopped. */
  shutdownRequested: boolean;
  stopped: boolean;
  /** Error lines the supplier logged. */
  logs: string[];
  output: string;
}

/**
 * Runs test/integration/fixtures/eager-canary.ts: one workflow task scheduling `activities`
 * activities on a Worker with the SDK's default eager dispatch. Ends it once the workflow completed,
 * or `settleMs` after the 128th tryReserveSlot call was answered (the Worker has stopped by then if
 * the SDK bug is there), or after `hardTimeoutMs` in any case.
 */
function runCanary(activities: number, kind: 'hand-written' | 'slotwise'): Promise<CanaryRun> {
  // After the 128th call: 3 s until the canary asks its Worker to shut down, then 12 s for it to stop.
  const settleMs = 15_000;
  const hardTimeoutMs = 150_000;
  return new Promise<CanaryRun>((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve('test/integration/fixtures/eager-canary.ts'),
        inject('temporalAddress'),
        inject('workflowBundlePath'),
        String(activities),
        kind,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let settle: NodeJS.Timeout | undefined;
    const hard = setTimeout(() => child.kill('SIGKILL'), hardTimeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (settle === undefined && /^try 128$/m.test(output)) {
        settle = setTimeout(() => child.kill('SIGKILL'), settleMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', fail);
    child.on('close', () => {
      clearTimeout(hard);
      clearTimeout(settle);
      const lines = output.split('\n');
      const result = lines.map((l) => /^done (\d+)$/.exec(l)?.[1]).find((r) => r !== undefined);
      done({
        calls: lines.filter((l) => /^try \d+$/.test(l)).length,
        done: result === undefined ? undefined : Number(result),
        activities: lines.filter((l) => l === 'activity').length,
        shutdownRequested: lines.includes('shutdown requested'),
        stopped: lines.includes('stopped'),
        logs: lines.filter((l) => l.startsWith('log ')),
        output,
      });
    });
  });
}

// The SDK bug slotwise works around (README "Known issue"): @temporalio/core-bridge 1.24 answers at
// most 127 tryReserveSlot calls in one workflow-task completion. When this starts failing because
// 128 activities complete, the bug is fixed upstream: eager dispatch can come back.
describe('the eager-dispatch canary (SDK bug, child process with a hard timeout)', () => {
  it('a workflow task scheduling 127 activities on a custom supplier with < 3 free slots completes', async () => {
    const run = await runCanary(127, 'hand-written');
    expect(
      { calls: run.calls, activities: run.activities, done: run.done, stopped: run.stopped },
      run.output,
    ).toEqual({ calls: 127, activities: 127, done: 127, stopped: true });
  });

  it('128 activities: the 128th tryReserveSlot answer never reaches core; the workflow task never completes and the Worker never shuts down', async () => {
    const [handWritten, slotwise] = await Promise.all([
      runCanary(128, 'hand-written'),
      runCanary(128, 'slotwise'),
    ]);
    const outcome = (run: CanaryRun) => ({
      calls: run.calls,
      activities: run.activities,
      done: run.done,
      shutdownRequested: run.shutdownRequested,
      stopped: run.stopped,
    });
    const stalled = { calls: 128, activities: 0, done: undefined, shutdownRequested: true, stopped: false };
    expect(
      outcome(handWritten),
      `If 128 activities completed, the SDK bug is fixed: eager dispatch can come back.\n${handWritten.output}`,
    ).toEqual(stalled);
    // The same with a slotwise supplier, which names the stall and the option when it sees it.
    expect(outcome(slotwise), slotwise.output).toEqual(stalled);
    expect(slotwise.logs).toHaveLength(1);
    expect(slotwise.logs[0]).toContain('answered 128 eager activity reservations (tryReserveSlot) in a row');
    expect(slotwise.logs[0]).toContain('maxEagerActivityReservationsPerWorkflowTask: 0');
  });
});
