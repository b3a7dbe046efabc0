import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type CancelWorkflowsProgress, cancelWorkflows } from '../../src/client/cancel-workflows.js';
import { createWorker, testClient, uniqueQueue } from './helpers.js';

const PER_TYPE = 25;

/** Polls a count query until it reaches `expected`; visibility on the dev server lags a little. */
async function untilCount(
  client: Client,
  query: string,
  expected: number,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = -1;
  while (Date.now() < deadline) {
    count = (await client.workflow.count(query)).count;
    if (count === expected) return count;
    await sleep(100);
  }
  return count;
}

async function statuses(handles: WorkflowHandle[]): Promise<string[]> {
  return Promise.all(handles.map(async (h) => (await h.describe()).status.name));
}

/** Runs `slotwise cancel` against the test server the way the CLI does, with captured output. */
async function cli(argv: string[], confirm?: (question: string) => Promise<boolean>) {
  let out = '';
  let err = '';
  const code = await main(['cancel', ...argv, '--address', inject('temporalAddress')], {
    out: (line) => {
      out += `${line}\n`;
    },
    err: (line) => {
      err += `${line}\n`;
    },
    env: {},
    ...(confirm ? { confirm } : {}),
  });
  return { code, out, err };
}

describe('bulk cancellation against the dev server', () => {
  it('cancelWorkflows() cancels exactly the 25 runs of one type a query selects; the other 25 keep running', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('bulk-cancel');
    const worker = await createWorker({ taskQueue });
    await worker.runUntil(async () => {
      const start = (type: 'idleWorkflowA' | 'idleWorkflowB', prefix: string) =>
        Promise.all(
          Array.from({ length: PER_TYPE }, (_, i) =>
            client.workflow.start(type, { taskQueue, workflowId: `${taskQueue}-${prefix}-${i}` }),
          ),
        );
      const [a, b] = await Promise.all([start('idleWorkflowA', 'a'), start('idleWorkflowB', 'b')]);
      const aIds = a.map((h) => h.workflowId);
      const bIds = b.map((h) => h.workflowId);
      const running = (type: string) =>
        `WorkflowType = '${type}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
      const queryA = running('idleWorkflowA');
      const startedAt = Date.now();
      expect(await untilCount(client, queryA, PER_TYPE)).toBe(PER_TYPE);
      expect(await untilCount(client, running('idleWorkflowB'), PER_TYPE)).toBe(PER_TYPE);
      const visibleAfterMs = Date.now() - startedAt;

      // `slotwise cancel --dry-run` lists all 25 and cancels nothing.
      const dry = await cli(['--query', queryA, '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.err).toBe('');
      const dryLines = dry.out.trimEnd().split('\n');
      expect(dryLines[0]).toBe(`25 workflows match the query ${queryA} in namespace "default":`);
      expect(
        dryLines
          .slice(1, -1)
          .map((line) => line.trim())
          .sort(),
      ).toEqual([...aIds].sort());
      expect(dryLines.at(-1)).toBe('Dry run: nothing was cancelled.');

      // Without a terminal and without --yes it shows the summary, cancels nothing and exits 2.
      const unconfirmed = await cli(['--query', queryA]);
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.out.split('\n')).toHaveLength(1 + 10 + 1 + 1);
      expect(unconfirmed.out).toContain('  ... and 15 more\n');
      expect(unconfirmed.err).toBe(
        'slotwise cancel: not cancelling 25 workflows without confirmation, and stdin is not a terminal ' +
          'to ask on. Re-run with --yes to cancel them, or with --dry-run to list them all.\n',
      );

      // Asked and declined: nothing is cancelled, exit 1.
      const questions: string[] = [];
      const declined = await cli(['--query', queryA], async (question) => {
        questions.push(question);
        return false;
      });
      expect(declined.code).toBe(1);
      expect(questions).toEqual(['Cancel 25 workflows? [y/N] ']);
      expect(declined.err).toBe('slotwise cancel: declined; nothing was cancelled.\n');
      expect(new Set(await statuses([...a, ...b]))).toEqual(new Set(['RUNNING']));

      // The library call, by query, with a concurrency of 5.
      const progress: CancelWorkflowsProgress[] = [];
      const cancelStartedAt = Date.now();
      const result = await cancelWorkflows(
        client,
        { query: queryA },
        { concurrency: 5, onProgress: (p) => progress.push(p) },
      );
      expect([...result.cancelled].sort()).toEqual([...aIds].sort());
      expect(result).toMatchObject({ dryRun: false, alreadyClosed: [], notFound: [], failed: [] });
      expect(progress.map((p) => p.done)).toEqual(Array.from({ length: PER_TYPE }, (_, i) => i + 1));
      const cancelMs = Date.now() - cancelStartedAt;

      // Each cancelled workflow closes as cancelled once the Worker processed the request.
      const outcomes = await Promise.all(
        a.map((h) =>
          h.result().then(
            () => 'completed',
            (e: Error) => e.name,
          ),
        ),
      );
      expect(outcomes).toEqual(Array.from({ length: PER_TYPE }, () => 'WorkflowFailedError'));
      expect(await statuses(a)).toEqual(Array.from({ length: PER_TYPE }, () => 'CANCELLED'));
      expect(await statuses(b)).toEqual(Array.from({ length: PER_TYPE }, () => 'RUNNING'));
      console.log(
        `slotwise bulk cancel: 50 starts visible to the count query after ${visibleAfterMs} ms; ` +
          `cancelWorkflows() by query took ${cancelMs} ms for ${PER_TYPE} runs at concurrency 5; ` +
          `all ${PER_TYPE} closed as cancelled ${Date.now() - cancelStartedAt} ms after it began`,
      );

      // Clean up with `slotwise cancel --ids --yes`, which also reports closed and unknown ids.
      const missing = `${taskQueue}-never-started`;
      const cleanup = await cli(['--ids', [...bIds, aIds[0], missing].join(','), '--yes']);
      expect(cleanup.code).toBe(0);
      expect(cleanup.out).toContain(`27 workflows given by id in namespace "default":\n  ${bIds[0]}\n`);
      expect(cleanup.out).toContain('Cancelled 25, already closed 1, not found 1, failed 0.\n');
      expect(cleanup.err).toBe(`not found: ${missing}\n`);
      await Promise.all(b.map((h) => h.result().catch(() => undefined)));
      expect(await statuses(b)).toEqual(Array.from({ length: PER_TYPE }, () => 'CANCELLED'));
    });
  });

  it("main() exits 1 with the server's reason for an unknown namespace or a rejected query", async () => {
    const namespace = await cli(['--ids', 'a', '--namespace', 'no-such-namespace', '--yes']);
    expect(namespace.code).toBe(1);
    expect(namespace.out).toBe('');
    expect(namespace.err).toBe(
      `slotwise cancel: cannot use namespace "no-such-namespace" on ${inject('temporalAddress')}: ` +
        '5 NOT_FOUND: Namespace no-such-namespace is not found.\n',
    );
    const query = await cli(['--query', "WorkflowTyp = 'x'", '--yes']);
    expect(query.code).toBe(1);
    expect(query.out).toBe('');
    expect(query.err).toBe(
      'slotwise cancel: listing workflows for the query failed: Failed to list workflows ' +
        "(3 INVALID_ARGUMENT: invalid query: invalid expression: column name 'WorkflowTyp' is not a valid search attribute)\n",
    );
  });
});
