import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { type CancelWorkflowsProgress, cancelWorkflows } from '../../src/client/cancel-workflows.js';
import { SlotwiseOptionsError } from '../../src/errors.js';

type Status = 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'TERMINATED' | 'missing' | 'error';

/**
 * A stand-in for the two client calls cancelWorkflows makes (describe, cancel) and the list call, to
 * test our own bookkeeping: outcomes, order, concurrency and validation. The real server is exercised
 * in test/integration/bulk-cancel.test.ts.
 */
function fakeClient(statuses: Record<string, Status>, options: { delayMs?: number; listed?: string[] } = {}) {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const timed = async <T>(fn: () => T): Promise<T> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
      return fn();
    } finally {
      inFlight--;
    }
  };
  const client = {
    workflow: {
      getHandle: (workflowId: string, runId?: string) => ({
        describe: () =>
          timed(() => {
            calls.push(`describe ${workflowId}${runId ? `@${runId}` : ''}`);
            const status = statuses[workflowId];
            if (status === 'missing' || status === undefined) {
              throw new WorkflowNotFoundError('workflow not found', workflowId, runId);
            }
            if (status === 'error') throw new Error(`PERMISSION_DENIED for ${workflowId}`);
            return { runId: `run-of-${workflowId}`, status: { name: status } };
          }),
        cancel: () =>
          timed(() => {
            calls.push(`cancel ${workflowId}@${runId}`);
          }),
      }),
      list: ({ query }: { query: string }) => ({
        async *[Symbol.asyncIterator]() {
          calls.push(`list ${query}`);
          if (query === 'bad') throw new Error('invalid query: unknown field');
          for (const workflowId of options.listed ?? []) yield { workflowId, runId: `listed-${workflowId}` };
        },
      }),
    },
  };
  return {
    client: client as unknown as Client,
    calls,
    maxInFlight: () => maxInFlight,
  };
}

describe('cancelWorkflows', () => {
  it('cancelWorkflows() sorts each id into exactly one outcome, in the order given', async () => {
    const { client, calls } = fakeClient({
      a: 'RUNNING',
      b: 'COMPLETED',
      c: 'missing',
      d: 'error',
      e: 'RUNNING',
      f: 'CANCELLED',
    });
    const result = await cancelWorkflows(client, { workflowIds: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect(result).toEqual({
      dryRun: false,
      matched: ['a', 'b', 'c', 'd', 'e', 'f'],
      cancelled: ['a', 'e'],
      alreadyClosed: ['b', 'f'],
      notFound: ['c'],
      failed: [{ workflowId: 'd', error: new Error('PERMISSION_DENIED for d') }],
    });
    expect(calls.filter((c) => c.startsWith('cancel')).sort()).toEqual([
      'cancel a@run-of-a',
      'cancel e@run-of-e',
    ]);
  });

  it('cancelWorkflows() ignores duplicate ids', async () => {
    const { client, calls } = fakeClient({ a: 'RUNNING' });
    const result = await cancelWorkflows(client, { workflowIds: ['a', 'a', 'a'] });
    expect(result.matched).toEqual(['a']);
    expect(result.cancelled).toEqual(['a']);
    expect(calls).toEqual(['describe a', 'cancel a@run-of-a']);
  });

  it('cancelWorkflows() keeps at most `concurrency` runs in flight, 10 by default', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const statuses = Object.fromEntries(ids.map((id) => [id, 'RUNNING' as const]));
    const three = fakeClient(statuses, { delayMs: 5 });
    const result = await cancelWorkflows(three.client, { workflowIds: ids }, { concurrency: 3 });
    expect(result.cancelled).toEqual(ids);
    expect(three.maxInFlight()).toBe(3);
    const byDefault = fakeClient(statuses, { delayMs: 5 });
    await cancelWorkflows(byDefault.client, { workflowIds: ids });
    expect(byDefault.maxInFlight()).toBe(10);
  });

  it('cancelWorkflows() targets every run a query lists, pinned to its run id', async () => {
    const { client, calls } = fakeClient({ x: 'RUNNING', y: 'TERMINATED' }, { listed: ['x', 'y'] });
    const result = await cancelWorkflows(client, { query: "WorkflowType = 'w'" });
    expect(result).toMatchObject({ matched: ['x', 'y'], cancelled: ['x'], alreadyClosed: ['y'] });
    expect(calls).toContain('describe x@listed-x');
  });

  it('cancelWorkflows() with dryRun lists the matches and calls nothing else', async () => {
    const { client, calls } = fakeClient({ x: 'RUNNING' }, { listed: ['x'] });
    const byQuery = await cancelWorkflows(client, { query: "WorkflowType = 'w'" }, { dryRun: true });
    expect(byQuery).toEqual({
      dryRun: true,
      matched: ['x'],
      cancelled: [],
      alreadyClosed: [],
      notFound: [],
      failed: [],
    });
    const byIds = await cancelWorkflows(client, { workflowIds: ['p', 'q'] }, { dryRun: true });
    expect(byIds.matched).toEqual(['p', 'q']);
    expect(calls).toEqual(["list WorkflowType = 'w'"]);
  });

  it('cancelWorkflows() reports progress once per run, and survives a throwing callback', async () => {
    const { client } = fakeClient({ a: 'RUNNING', b: 'missing', c: 'COMPLETED' });
    const seen: CancelWorkflowsProgress[] = [];
    const result = await cancelWorkflows(
      client,
      { workflowIds: ['a', 'b', 'c'] },
      {
        concurrency: 1,
        onProgress: (progress) => {
          seen.push(progress);
          throw new Error('progress bar crashed');
        },
      },
    );
    expect(seen).toEqual([
      { done: 1, total: 3, workflowId: 'a', outcome: 'cancelled' },
      { done: 2, total: 3, workflowId: 'b', outcome: 'notFound' },
      { done: 3, total: 3, workflowId: 'c', outcome: 'alreadyClosed' },
    ]);
    expect(result.failed).toEqual([]);
  });

  it('cancelWorkflows() throws when the server rejects the query', async () => {
    const { client } = fakeClient({});
    await expect(cancelWorkflows(client, { query: 'bad' })).rejects.toThrow(
      'cancelWorkflows: listing workflows for the query failed: invalid query: unknown field',
    );
  });

  it('cancelWorkflows() validates its input before any call, with precise messages', async () => {
    const { client, calls } = fakeClient({});
    const cases: Array<[unknown, unknown, string]> = [
      [
        { workflowIds: ['a'], query: 'x' },
        {},
        'cancelWorkflows: pass either `workflowIds` or `query`, not both.',
      ],
      [
        {},
        {},
        'cancelWorkflows: pass `workflowIds` (an array of workflow ids) or `query` (a visibility query).',
      ],
      [
        { workflowIds: [] },
        {},
        'cancelWorkflows: expected `workflowIds` to be a non-empty array of workflow ids, got `[]` (array).',
      ],
      [
        { workflowIds: ['a', 7] },
        {},
        'cancelWorkflows: expected `workflowIds[1]` to be a non-empty string, got `7` (number).',
      ],
      [
        { query: '  ' },
        {},
        'cancelWorkflows: expected `query` to be a non-empty visibility query such as `WorkflowType = \'x\'`, got `"  "` (string).',
      ],
      [
        'a,b',
        {},
        'cancelWorkflows: expected a target `{ workflowIds: [...] }` or `{ query: \'...\' }`, got `"a,b"` (string).',
      ],
      [{ ids: ['a'] }, {}, 'cancelWorkflows: unknown option `ids`. Known options: workflowIds, query.'],
      [
        { workflowIds: ['a'] },
        { concurrency: 0 },
        'cancelWorkflows: expected `concurrency` to be an integer in [1, 1000], got `0` (number).',
      ],
      [
        { workflowIds: ['a'] },
        { dryRun: 'yes' },
        'cancelWorkflows: expected `dryRun` to be a boolean, got `"yes"` (string).',
      ],
      [
        { workflowIds: ['a'] },
        { concurency: 3 },
        'cancelWorkflows: unknown option `concurency`. Did you mean `concurrency`? Known options: concurrency, dryRun, onProgress.',
      ],
    ];
    for (const [target, options, message] of cases) {
      await expect(cancelWorkflows(client, target as never, options as never)).rejects.toThrow(
        new SlotwiseOptionsError(message),
      );
    }
    await expect(cancelWorkflows({} as Client, { workflowIds: ['a'] })).rejects.toThrow(
      'cancelWorkflows: expected a Client from @temporalio/client, got `{}` (object).',
    );
    expect(calls).toEqual([]);
  });
});
