import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { callRunning, type NotRunning } from '../../src/client/running-workflow.js';

/** A client whose one workflow describes itself as `describe` says. */
function fakeClient(describe: () => Promise<unknown>): Client {
  return {
    workflow: { getHandle: () => ({ describe }) },
    withDeadline: (_deadline: number, fn: () => Promise<unknown>) => fn(),
  } as unknown as Client;
}

const why = (reason: NotRunning) => new Error(JSON.stringify(reason));
const running = async () => ({ status: { name: 'RUNNING' } });

describe('callRunning()', () => {
  it('answers with what the call returns when the workflow runs', async () => {
    const client = fakeClient(running);
    await expect(callRunning(client, 'w', async () => 'state', why)).resolves.toBe('state');
  });

  it('a workflow that never ran, that closed, or that did not answer in time is not running, and says which', async () => {
    const never = fakeClient(async () => {
      throw new WorkflowNotFoundError('workflow not found for ID: w', 'w', undefined);
    });
    await expect(callRunning(never, 'w', async () => 1, why)).rejects.toThrow('{"kind":"never"}');
    const closed = fakeClient(async () => ({ status: { name: 'COMPLETED' } }));
    await expect(callRunning(closed, 'w', async () => 1, why)).rejects.toThrow(
      '{"kind":"closed","status":"completed"}',
    );
    for (const message of [
      '4 DEADLINE_EXCEEDED: Deadline exceeded',
      'query timed out',
      'no poller seen for task queue',
    ]) {
      const silent = fakeClient(running);
      await expect(
        callRunning(
          silent,
          'w',
          async () => {
            throw new Error(message);
          },
          why,
        ),
      ).rejects.toThrow(JSON.stringify({ kind: 'silent', message }));
    }
  });

  it('passes any other error through as it came', async () => {
    const denied = new Error('7 PERMISSION_DENIED: not allowed');
    const client = fakeClient(running);
    await expect(
      callRunning(
        client,
        'w',
        async () => {
          throw denied;
        },
        why,
      ),
    ).rejects.toBe(denied);
    const broken = new Error('14 UNAVAILABLE: connection reset');
    const failing = fakeClient(async () => {
      throw broken;
    });
    await expect(callRunning(failing, 'w', async () => 1, why)).rejects.toBe(broken);
  });
});
