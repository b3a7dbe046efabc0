import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../src/activities/concurrency-batcher.js';

/** A send whose calls are recorded and answered by hand (`signal`: the batcher gave the send up). */
function manualSend() {
  const calls: Array<{
    to: string;
    items: number[];
    signal: AbortSignal | undefined;
    deadline: number | undefined;
    answer(): void;
    fail(error: unknown): void;
  }> = [];
  const send = (to: string, items: number[], signal?: AbortSignal, deadline?: number) =>
    new Promise<number[]>((resolve, reject) => {
      calls.push({
        to,
        items,
        signal,
        deadline,
        answer: () => resolve(items.map((x) => x * 10)),
        fail: reject,
      });
    });
  return { calls, send };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
/** Lets an answered send settle and the batcher start what waited for its slot. */
const answered = async () => {
  await turn();
  await turn();
};

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
    vi.useFakeTimers();
    try {
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { backoffMs: () => 30 });
      const gaveUp = new AbortController();
      const kept = batcher.submit('c', 1);
      const dropped = batcher.submit('c', 2, gaveUp.signal).catch((error: Error) => error.message);
      await vi.advanceTimersByTimeAsync(0);
      calls[0]!.fail(new Error('limit on number of concurrent in-flight updates has been reached (10)'));
      gaveUp.abort(new Error('local activity timed out'));
      expect(await dropped).toBe('local activity timed out');
      await vi.advanceTimersByTimeAsync(29);
      expect(calls).toHaveLength(1); // backing off
      const joined = batcher.submit('c', 3);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => c.items)).toEqual([
        [1, 2],
        [1, 3],
      ]);
      calls[1]!.answer();
      expect(await Promise.all([kept, joined])).toEqual([10, 30]);
    } finally {
      vi.useRealTimers();
    }
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

  describe('a send that hangs (update never accepted, server slow)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('is given up after sendTimeoutMs: its send is aborted, its slot freed, its callers retried in a new send', async () => {
      vi.useFakeTimers();
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { maxInFlight: 1, sendTimeoutMs: 1_000, backoffMs: () => 100 });
      const a = batcher.submit('c', 1);
      const b = batcher.submit('c', 2);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.map((c) => c.items)).toEqual([[1, 2]]);
      const later = batcher.submit('c', 3); // waits: the one send allowed is in flight
      await vi.advanceTimersByTimeAsync(999);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.signal?.aborted).toBe(false);
      expect(batcher.stats('c')).toEqual({ inFlight: 1, pending: 1 });
      await vi.advanceTimersByTimeAsync(1);
      expect(calls[0]!.signal?.aborted).toBe(true);
      expect(batcher.stats('c')).toEqual({ inFlight: 0, pending: 3 });
      await vi.advanceTimersByTimeAsync(100); // the backoff after a failure
      expect(calls.map((c) => c.items)).toEqual([
        [1, 2],
        [1, 2, 3],
      ]);
      // The abandoned send answering late changes nothing: the callers take the retry's answer.
      calls[0]!.fail(new Error('aborted'));
      calls[1]!.answer();
      expect(await Promise.all([a, b, later])).toEqual([10, 20, 30]);
      expect(batcher.stats('c')).toEqual({ inFlight: 0, pending: 0 });
    });

    it('keeps retrying, every send bounded, until one is answered; nothing is lost', async () => {
      vi.useFakeTimers();
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { sendTimeoutMs: 500, backoffMs: () => 50 });
      const all = Promise.all([1, 2, 3].map((x) => batcher.submit('c', x)));
      for (let round = 1; round <= 4; round++) {
        await vi.advanceTimersByTimeAsync(550);
        expect(calls).toHaveLength(round + 1);
        expect(calls.slice(0, round).every((c) => c.signal?.aborted)).toBe(true);
      }
      calls[4]!.answer();
      expect(await all).toEqual([10, 20, 30]);
      expect(calls.map((c) => c.items)).toEqual(Array(5).fill([1, 2, 3]));
    });

    it('lasts as long as its callers wait (their latest deadline), not sendTimeoutMs, and tells the send that deadline', async () => {
      vi.useFakeTimers();
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { sendTimeoutMs: 1_000, backoffMs: () => 100 });
      const now = Date.now();
      const a = batcher.submit('c', 1, undefined, now + 5_000);
      const b = batcher.submit('c', 2, undefined, now + 4_000);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.map((c) => c.deadline)).toEqual([now + 5_000]);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(calls[0]!.signal?.aborted).toBe(false); // a slow answer in time is not cut short
      await vi.advanceTimersByTimeAsync(1);
      expect(calls[0]!.signal?.aborted).toBe(true);
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toHaveLength(2);
      calls[1]!.answer();
      expect(await Promise.all([a, b])).toEqual([10, 20]);
    });

    it('a send answered within sendTimeoutMs is not aborted, and its timer does not linger', async () => {
      vi.useFakeTimers();
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { sendTimeoutMs: 1_000 });
      const a = batcher.submit('c', 1);
      await vi.advanceTimersByTimeAsync(900);
      calls[0]!.answer();
      expect(await a).toBe(10);
      await vi.advanceTimersByTimeAsync(0); // the flush after the answer
      expect(vi.getTimerCount()).toBe(0);
      expect(calls[0]!.signal?.aborted).toBe(false);
    });

    it('is given up at once when every caller of its batch has given up, freeing its slot for the others', async () => {
      vi.useFakeTimers();
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { maxInFlight: 1, sendTimeoutMs: 60_000 });
      const first = new AbortController();
      const second = new AbortController();
      const a = batcher.submit('c', 1, first.signal).catch((error: Error) => error.message);
      const b = batcher.submit('c', 2, second.signal).catch((error: Error) => error.message);
      await vi.advanceTimersByTimeAsync(0);
      const c = batcher.submit('c', 3);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.map((x) => x.items)).toEqual([[1, 2]]);
      first.abort(new Error('local activity timed out'));
      await vi.advanceTimersByTimeAsync(0);
      expect(calls[0]!.signal?.aborted).toBe(false); // caller 2 still waits for it
      second.abort(new Error('local activity timed out'));
      await vi.advanceTimersByTimeAsync(0);
      expect(calls[0]!.signal?.aborted).toBe(true);
      expect(calls.map((x) => x.items)).toEqual([[1, 2], [3]]); // no backoff: nothing failed
      calls[1]!.answer();
      expect(await c).toBe(30);
      expect(await Promise.all([a, b])).toEqual(['local activity timed out', 'local activity timed out']);
    });
  });
});

describe('Batcher across destinations (one per controller shard)', () => {
  it('keeps at most maxInFlightTotal sends in flight over all destinations, so that requests to shards gather into batches as big as to one controller', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send, { maxInFlight: 3, maxInFlightTotal: 3 });
    const answers: Array<Promise<number>> = [];
    // Four shards asked at once: three sends go, the fourth shard waits for a slot.
    for (const to of ['a', 'b', 'c', 'd']) answers.push(batcher.submit(to, 1));
    await turn();
    expect(calls.map((c) => [c.to, c.items])).toEqual([
      ['a', [1]],
      ['b', [1]],
      ['c', [1]],
    ]);
    expect(batcher.stats('d')).toEqual({ inFlight: 0, pending: 1 });
    // More for 'a' and 'd' meanwhile: they wait and gather.
    for (const x of [2, 3]) {
      answers.push(batcher.submit('a', x));
      answers.push(batcher.submit('d', x));
      await turn();
    }
    expect(calls).toHaveLength(3);
    calls[0]!.answer(); // 'a' answered: one slot, and 'd' has waited longest
    await answered();
    expect(calls.map((c) => [c.to, c.items])[3]).toEqual(['d', [1, 2, 3]]);
    expect(calls).toHaveLength(4);
    calls[1]!.answer(); // 'b' answered: the slot goes to 'a'
    await answered();
    expect(calls.map((c) => [c.to, c.items])[4]).toEqual(['a', [2, 3]]);
    for (const call of [calls[2]!, calls[3]!, calls[4]!]) call.answer();
    expect(await Promise.all(answers)).toEqual([10, 10, 10, 10, 20, 20, 30, 30]);
  });

  it('gives the slot a send frees to the destination that waited longest, not back to the one that sent', async () => {
    const { calls, send } = manualSend();
    const batcher = new Batcher(send, { maxInFlight: 3, maxInFlightTotal: 1 });
    const answers = [batcher.submit('a', 1), batcher.submit('b', 1)];
    await turn();
    answers.push(batcher.submit('a', 2)); // after 'b''s item: 'b' goes first
    await turn();
    expect(calls.map((c) => [c.to, c.items])).toEqual([['a', [1]]]);
    calls[0]!.answer();
    await answered();
    calls[1]!.answer();
    await answered();
    calls[2]!.answer();
    expect(calls.map((c) => [c.to, c.items])).toEqual([
      ['a', [1]],
      ['b', [1]],
      ['a', [2]],
    ]);
    expect(await Promise.all(answers)).toEqual([10, 10, 20]);
  });

  it('stops counting a send not answered within stallMs: a controller that does not answer holds up the others no longer', async () => {
    vi.useFakeTimers();
    try {
      const { calls, send } = manualSend();
      const batcher = new Batcher(send, { maxInFlightTotal: 1, stallMs: 1_000, sendTimeoutMs: 60_000 });
      const dead = batcher.submit('dead', 1);
      await vi.advanceTimersByTimeAsync(0);
      const alive = batcher.submit('alive', 2);
      await vi.advanceTimersByTimeAsync(999);
      expect(calls.map((c) => c.to)).toEqual(['dead']);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => c.to)).toEqual(['dead', 'alive']);
      expect(calls[0]!.signal?.aborted).toBe(false); // still waited for: only no longer counted
      calls[1]!.answer();
      expect(await alive).toBe(20);
      // The stalled send answering late frees nothing twice: one slot, one send at a time again.
      calls[0]!.answer();
      expect(await dead).toBe(10);
      const [x, y] = [batcher.submit('p', 3), batcher.submit('q', 4)];
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.map((c) => c.to)).toEqual(['dead', 'alive', 'p']);
      calls[2]!.answer();
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.map((c) => c.to)).toEqual(['dead', 'alive', 'p', 'q']);
      calls[3]!.answer();
      expect(await Promise.all([x, y])).toEqual([30, 40]);
    } finally {
      vi.useRealTimers();
    }
  });
});
