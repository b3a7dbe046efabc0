import type { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { shutdownGracefully } from '../../src/activities/graceful-shutdown.js';

// The behaviour (grace time, cancellation, no leaked permit) is tested on a real Worker in
// test/integration/cancellation.test.ts; this covers the input check, which needs no Worker.
describe('shutdownGracefully', () => {
  it('shutdownGracefully() rejects a missing run promise with a clear message', async () => {
    await expect(shutdownGracefully({} as Worker, undefined as never)).rejects.toThrow(
      'shutdownGracefully: expected `running` to be the promise `worker.run()` returned; ' +
        'without run() the Worker never stops.',
    );
  });
});
