import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/activities/concurrency-batcher.js';

/** A send whose calls are recorded and answered by hand. */
function manualSend() {
  const calls: Array<{ to: string; items: number[]; answer(): void; fail(error: unknown): void }> = [];
  const send = (to: string, items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      calls.push({ to, items, answer: () => resolve(items.map((x) => x * 10)), fail: reject });
    });
  return { calls, send };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Batcher (the concurrency activities gather a process requests to one controller)', () => {
  it('sends what arrives in one turn as one batch and gives each caller its own answer', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send);
    const answers = Promise.all([1, 2, 3, 4, 5].map((x) => batcher.submit('c', x)));
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3, 4, 5]]);
    calls[0]!.answer();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
  });

  it('keeps at most maxInFlight sends per destination; what arrives meanwhile goes together next', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send, { maxInFlight: 2 });
    const first = batcher.submit('c', 1);
    await turn();
    const second = batcher.submit('c', 2);
    await turn();
    const later = [3, 4, 5, 6].map((x) => batcher.submit('c', x));
    const other = batcher.submit('d', 7); // another destination has its own sends
    await turn();
    expect(calls.map((c) => [c.to, c.items])).toEqual([
      ['c', [1]],
      ['c', [2]],
      ['d', [7]],
    ]);
    expect(batcher.stats('c')).toEqual({ inFlight: 2, pending: 4 });
    calls[0]!.answer();
    expect(await first).toBe(10);
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [7], [3, 4, 5, 6]]);
    calls[1]!.answer();
    calls[2]!.answer();
    calls[3]!.answer();
    expect(await Promise.all([second, other, ...later])).toEqual([20, 70, 30, 40, 50, 60]);
    expect(batcher.stats('c')).toEqual({ inFlight: 0, pending: 0 });
  });

  it('splits at maxBatch', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send, { maxBatch: 2, maxInFlight: 5 });
    const all = Promise.all([1, 2, 3, 4, 5].map((x) => batcher.submit('c', x)));
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
    for (const call of calls) call.answer();
    expect(await all).toEqual([10, 20, 30, 40, 50]);
  });

  it('retries a failed batch after the backoff, without the callers that gave up meanwhile', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send, { backoffMs: () => 30 });
    const gaveUp = new AbortController();
    const kept = batcher.submit('c', 1);
    const dropped = batcher.submit('c', 2, gaveUp.signal);
    await turn();
    calls[0]!.fail(new Error('limit on number of concurrent in-flight updates has been reached (10)'));
    gaveUp.abort(new Error('local activity timed out'));
    await expect(dropped).rejects.toThrow('local activity timed out');
    await turn();
    expect(calls).toHaveLength(1); // backing off
    const joined = batcher.submit('c', 3);
    await sleep(60);
    expect(calls.map((c) => c.items)).toEqual([
      [1, 2],
      [1, 3],
    ]);
    calls[1]!.answer();
    expect(await Promise.all([kept, joined])).toEqual([10, 30]);
  });

  it('rejects a batch that failed for good, and a caller that had already given up', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send, { permanent: (e) => (e as Error).message === 'bad' });
    const a = batcher.submit('c', 1);
    const b = batcher.submit('c', 2);
    await turn();
    calls[0]!.fail(new Error('bad'));
    await expect(a).rejects.toThrow('bad');
    await expect(b).rejects.toThrow('bad');
    const aborted = AbortSignal.abort(new Error('already'));
    await expect(batcher.submit('c', 3, aborted)).rejects.toThrow('already');
    await turn();
    expect(calls).toHaveLength(1);
  });

  it('a batch answered short rejects the callers it did not answer', async () => {
    const batcher = new Batcher<number, number>(async (_to, items) => items.slice(1));
    const results = await Promise.allSettled([1, 2].map((x) => batcher.submit('c', x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });
});
