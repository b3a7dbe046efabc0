import type { Client } from '@temporalio/client';
import type { WorkflowInfo } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import {
  concurrencyReleaseSinks,
  settleConcurrencyReleases,
} from '../../src/activities/concurrency-activities.js';
import { CONCURRENCY_SINK_NAME } from '../../src/workflows/concurrency/activity-contract.js';
import { recordingLogger } from '../helpers/fakes.js';

// A run releases through the Worker sink without waiting for the signal; withSlotwise()'s close() and
// shutdownGracefully() wait for those signals before the connection is closed.

/** A client whose release signals each settle when the test says so. */
function controlledClient() {
  const pending: Array<{ requestId: string; resolve: () => void; reject: (error: Error) => void }> = [];
  const client = {
    workflow: {
      getHandle: () => ({
        signal: (_name: string, { requestId }: { requestId: string }) =>
          new Promise<void>((resolve, reject) => pending.push({ requestId, resolve, reject })),
      }),
    },
  } as unknown as Client;
  return { client, pending };
}

const info = {} as WorkflowInfo;

describe('settleConcurrencyReleases()', () => {
  it('waits until every release handed to the sink has reached the server', async () => {
    const { client, pending } = controlledClient();
    const logger = recordingLogger();
    const sink = concurrencyReleaseSinks('ns', 'settle-1', () => client, logger)[CONCURRENCY_SINK_NAME]
      .release!;
    sink.fn(info, { controllerId: 'c', requestId: 'r1' });
    sink.fn(info, { controllerId: 'c', requestId: 'r2' });
    expect(pending.map((p) => p.requestId)).toEqual(['r1', 'r2']);
    let settled: number | undefined;
    const waiting = settleConcurrencyReleases().then((left) => {
      settled = left;
    });
    pending[0]!.resolve();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBeUndefined(); // r2 is still on its way
    pending[1]!.resolve();
    await waiting;
    expect(settled).toBe(0);
    expect(logger.entries).toEqual([]);
  });

  it('gives up after timeoutMs and says how many are still on their way; a failed release is logged', async () => {
    const { client, pending } = controlledClient();
    const logger = recordingLogger();
    const sink = concurrencyReleaseSinks('ns', 'settle-2', () => client, logger)[CONCURRENCY_SINK_NAME]
      .release!;
    sink.fn(info, { controllerId: 'c', requestId: 'r3' });
    expect(await settleConcurrencyReleases(30)).toBe(1);
    pending[0]!.reject(new Error('connection closed'));
    expect(await settleConcurrencyReleases(30)).toBe(0);
    expect(logger.messages('warn')).toEqual(['slotwise: a release did not reach its concurrency controller']);
  });
});
