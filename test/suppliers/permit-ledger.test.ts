import { describe, expect, it } from 'vitest';
import { PermitLedger } from '../../src/suppliers/permit-ledger.js';
import type { SupplierEvent } from '../../src/suppliers/types.js';
import { flush, recordingLogger, track } from '../helpers/fakes.js';

const request = { slotType: 'activity' as const, taskQueue: 'q' };

function ledgerWith(limit: { value: number }, now = { value: 0 }) {
  const logger = recordingLogger();
  const ledger: PermitLedger<{ lane: number }> = new PermitLedger({
    name: 'test',
    logger,
    now: () => now.value,
    admit: () => (ledger.issued < limit.value ? { lane: ledger.issued } : null),
  });
  return { ledger, logger };
}

describe('PermitLedger', () => {
  it('reserve() puts the admit function’s extra fields on the permit', async () => {
    const { ledger } = ledgerWith({ value: 2 });
    const a = await ledger.reserve(request, new AbortController().signal);
    const b = ledger.tryReserve(request);
    expect([a.lane, b?.lane]).toEqual([0, 1]);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('recordOf() knows only the permits it issued: not a copy, even one that carries every own key', async () => {
    const { ledger } = ledgerWith({ value: 2 });
    const permit = ledger.tryReserve(request)!;
    expect(Object.keys(permit)).toEqual(['lane', 'id', 'supplier', 'slotType', 'taskQueue', 'sticky']);
    expect(ledger.recordOf(permit)?.permit).toBe(permit);
    const spread = { ...permit };
    const forged = Object.defineProperties({}, Object.getOwnPropertyDescriptors(permit));
    expect([ledger.recordOf(spread), ledger.recordOf(forged)]).toEqual([undefined, undefined]);
    expect([ledger.release(spread), ledger.release(forged)]).toEqual([false, false]);
    const other = ledgerWith({ value: 1 }).ledger;
    expect(other.recordOf(permit)).toBeUndefined();
    expect(ledger.release(permit)).toBe(true);
    expect(ledger.recordOf(permit)?.state).toBe('released');
    expect(ledger.release(permit)).toBe(false);
    expect(ledger.issued).toBe(0);
  });

  it('wake() lets waiters through when the admit rule changes its mind', async () => {
    const limit = { value: 0 };
    const { ledger } = ledgerWith(limit);
    const waiters = [1, 2, 3].map(() => track(ledger.reserve(request, new AbortController().signal)));
    limit.value = 2;
    ledger.wake();
    await flush();
    expect(waiters.map((w) => w.settled())).toEqual([true, true, false]);
    expect([ledger.issued, ledger.waiting]).toEqual([2, 1]);
  });

  it('wake() contains an admit function that throws: logged, counted, the waiter keeps waiting', async () => {
    const logger = recordingLogger();
    let broken = true;
    const ledger = new PermitLedger({
      name: 'flaky',
      logger,
      admit: () => {
        if (broken) throw new Error('reading unavailable');
        return {};
      },
    });
    const waiter = track(ledger.reserve(request, new AbortController().signal));
    await flush();
    expect(waiter.settled()).toBe(false);
    expect(ledger.errors).toBe(1);
    expect(logger.messages('error')).toEqual([
      "slotwise supplier 'flaky': error in admit: reading unavailable",
    ]);
    broken = false;
    ledger.wake();
    await flush();
    expect(waiter.settled()).toBe(true);
  });

  it('subscribe() reports reservations with wait time, uses and releases with reasons', async () => {
    const limit = { value: 1 };
    const now = { value: 1000 };
    const { ledger } = ledgerWith(limit, now);
    const events: SupplierEvent[] = [];
    const unsubscribe = ledger.subscribe((e) => events.push(e));
    const first = await ledger.reserve(request, new AbortController().signal);
    const second = ledger.reserve(request, new AbortController().signal);
    ledger.tryReserve(request);
    now.value = 3500;
    ledger.markUsed(first, { type: 'activity', activityType: 'x' });
    ledger.release(first);
    const secondPermit = await second;
    ledger.release(secondPermit, 'manual');
    unsubscribe();
    ledger.tryReserve(request);
    expect(
      events.map((e) =>
        e.type === 'reservation'
          ? `${e.result}:${e.waitSeconds}`
          : e.type === 'release'
            ? `release:${e.reason}`
            : e.type,
      ),
    ).toEqual(['granted:0', 'eager-denied:0', 'used', 'release:normal', 'granted:2.5', 'release:manual']);
  });

  it('subscribe() contains a listener that throws', async () => {
    const { ledger, logger } = ledgerWith({ value: 1 });
    ledger.subscribe(() => {
      throw new Error('listener bug');
    });
    const permit = await ledger.reserve(request, new AbortController().signal);
    expect(ledger.release(permit)).toBe(true);
    expect(ledger.issued).toBe(0);
    expect(ledger.errors).toBe(2);
    expect(logger.messages('error')[0]).toContain("listener for 'reservation' events: listener bug");
  });

  it('release() reports unused for a permit never marked used and returns false the second time', async () => {
    const { ledger } = ledgerWith({ value: 1 });
    const permit = await ledger.reserve(request, new AbortController().signal);
    expect(ledger.release(permit)).toBe(true);
    expect(ledger.recordOf(permit)?.releaseReason).toBe('unused');
    expect(ledger.release(permit)).toBe(false);
    expect(ledger.release({})).toBe(false);
  });

  it('startTurnsAt() goes round the groups in key order from the one that many places on, set until a wake-up serves a waiter', async () => {
    const limit = { value: 0 };
    const { ledger } = ledgerWith(limit);
    ledger.startTurnsAt(1);
    // Polls start waiting in an order of their own; the start is counted in name order (q1).
    const queues = ['q2', 'q2', 'q0', 'q0', 'q1', 'q1'];
    const granted: string[] = [];
    for (const taskQueue of queues) {
      void ledger
        .reserve({ slotType: 'activity', taskQueue }, new AbortController().signal)
        .then((permit) => granted.push(permit.taskQueue));
    }
    await flush();
    // Wake-ups that serve nobody (here each reservation's, while nothing is admitted) keep the start.
    expect(granted).toEqual([]);
    limit.value = 4;
    ledger.wake();
    await flush();
    // From q1, then round in name order: q2, q0, and q1 again.
    expect(granted).toEqual(['q1', 'q2', 'q0', 'q1']);
    limit.value = 6;
    ledger.wake(); // set once: the round goes on (q2, q0) rather than starting again
    await flush();
    expect(granted.slice(4)).toEqual(['q2', 'q0']);
  });
});
