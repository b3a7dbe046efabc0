import { describe, expect, it } from 'vitest';
import { SlotPairing } from '../../src/suppliers/slot-pairing.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';

let id = 0;
const permit = (taskQueue = 'q'): SlotwisePermit => ({
  id: ++id,
  supplier: 's',
  slotType: 'activity',
  taskQueue,
  sticky: false,
});
const used = { releaseEarly: () => true, isHeld: () => true, waiting: () => 0, subscribe: () => () => {} };
const key = (activityType: string, taskQueue = 'q', isLocal = false) => ({
  activityType,
  taskQueue,
  isLocal,
});
const info = (activityType: string) => ({ type: 'activity' as const, activityType });

describe('SlotPairing', () => {
  it('claim() pairs with permits published earlier, per type, in order', () => {
    const pairing = new SlotPairing();
    const [a1, b1, a2] = [permit(), permit(), permit()];
    pairing.publish(a1, info('a'), used);
    pairing.publish(b1, info('b'), used);
    pairing.publish(a2, info('a'), used);
    expect(pairing.claim(key('a')).slot?.permit).toBe(a1);
    expect(pairing.claim(key('b')).slot?.permit).toBe(b1);
    expect(pairing.claim(key('a')).slot?.permit).toBe(a2);
    expect(pairing.pending()).toEqual({ unclaimed: 0, waiting: 0 });
  });

  it('publish() pairs with claims made earlier and calls onPaired once', () => {
    const pairing = new SlotPairing();
    const first = pairing.claim(key('a'));
    const second = pairing.claim(key('a'));
    const paired: number[] = [];
    second.onPaired = (slot) => paired.push(slot.permit.id);
    const [p1, p2] = [permit(), permit()];
    pairing.publish(p1, info('a'), used);
    expect([first.slot?.permit, second.slot]).toEqual([p1, undefined]);
    pairing.publish(p2, info('a'), used);
    expect(second.slot?.permit).toBe(p2);
    expect(paired).toEqual([p2.id]);
  });

  it('claim() keeps task queues and local activities apart', () => {
    const pairing = new SlotPairing();
    const onQ2 = permit('q2');
    pairing.publish(onQ2, info('a'), used);
    pairing.publish(
      { ...permit(), slotType: 'local-activity' },
      { type: 'local-activity', activityType: 'a' },
      used,
    );
    expect(pairing.claim(key('a', 'q')).slot).toBeUndefined();
    expect(pairing.claim(key('a', 'q2')).slot?.permit).toBe(onQ2);
    expect(pairing.claim(key('a', 'q', true)).slot?.permit.slotType).toBe('local-activity');
    expect(pairing.pending()).toEqual({ unclaimed: 0, waiting: 1 });
  });

  it('publish() ignores workflow slots', () => {
    const pairing = new SlotPairing();
    pairing.publish(permit(), { type: 'workflow', workflowType: 'w', isSticky: false }, used);
    expect(pairing.pending()).toEqual({ unclaimed: 0, waiting: 0 });
  });

  it('withdraw() and forget() drop unpaired claims and permits so they never pair later', () => {
    const pairing = new SlotPairing();
    const stale = pairing.claim(key('a'));
    pairing.withdraw(key('a'), stale);
    const released = permit();
    pairing.publish(released, info('a'), used);
    pairing.forget(released);
    const fresh = permit();
    pairing.publish(fresh, info('a'), used);
    expect(pairing.claim(key('a')).slot?.permit).toBe(fresh);
    expect(stale.slot).toBeUndefined();
    expect(pairing.pending()).toEqual({ unclaimed: 0, waiting: 0 });
  });

  it('isServed() is true once a supplier reserved slots of that kind on that queue', () => {
    const pairing = new SlotPairing();
    expect(pairing.isServed({ taskQueue: 'q', isLocal: false })).toBe(false);
    pairing.serve('activity', 'q');
    pairing.serve('workflow', 'w');
    expect(pairing.isServed({ taskQueue: 'q', isLocal: false })).toBe(true);
    expect(pairing.isServed({ taskQueue: 'q', isLocal: true })).toBe(false);
    expect(pairing.isServed({ taskQueue: 'w', isLocal: false })).toBe(false);
  });

  it('reuses the queue of a key that empties and refills, and drops empty queues past 64', () => {
    const pairing = new SlotPairing();
    for (let i = 0; i < 1000; i++) {
      pairing.publish(permit(), info('a'), used);
      expect(pairing.claim(key('a')).slot).toBeDefined();
    }
    expect(pairing.queuesKept()).toBe(1);
    // Keys that come and go (one task queue per run): at most 64 empty queues stay.
    for (let i = 1; i < 64; i++) {
      pairing.publish(permit(`q${i}`), info('a'), used);
      pairing.claim(key('a', `q${i}`));
    }
    expect(pairing.queuesKept()).toBe(64);
    pairing.claim(key('a', 'late'));
    expect(pairing.queuesKept()).toBe(65); // one waiting claim: not empty
    pairing.publish(permit('q64'), info('a'), used);
    pairing.claim(key('a', 'q64'));
    expect(pairing.queuesKept()).toBe(1); // the 65th empty queue dropped them all
    expect(pairing.pending()).toEqual({ unclaimed: 0, waiting: 1 });
    pairing.publish(permit('late'), info('a'), used);
    expect(pairing.pending()).toEqual({ unclaimed: 0, waiting: 0 });
  });
});
