import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import { activityInfo, flush, reserveCtx, track } from '../helpers/fakes.js';
import { describeSupplierContract } from './supplier-contract.js';

describeSupplierContract(
  'CompositeSlotSupplier',
  (capacity, logger) =>
    new CompositeSlotSupplier(
      [new FixedSlotSupplier({ slots: capacity }), new FixedSlotSupplier({ slots: capacity + 3 })],
      {
        logger,
      },
    ),
);

const signal = () => new AbortController().signal;
const counts = (s: FixedSlotSupplier) => {
  const { issued, used, waiting } = s.snapshot();
  return { issued, used, waiting };
};

/** A composite of two fixed parts, `a` of `slotsA` slots and `b` of `slotsB`, in that order. */
function twoParts(slotsA: number, slotsB: number) {
  const a = new FixedSlotSupplier({ slots: slotsA });
  const b = new FixedSlotSupplier({ slots: slotsB });
  return { a, b, both: new CompositeSlotSupplier([a, b]) };
}

/** One permit of `both` granted (`first`), and a second reservation made after it (`second`). */
async function firstAndSecond(both: CompositeSlotSupplier) {
  const first = await both.reserveSlot(reserveCtx(), signal());
  const second = track(both.reserveSlot(reserveCtx(), signal()));
  await flush();
  return { first, second };
}

describe('CompositeSlotSupplier', () => {
  it('constructor() rejects an empty list, a non-supplier part and a part listed twice', () => {
    const a = new FixedSlotSupplier({ slots: 1 });
    expect(() => new CompositeSlotSupplier([])).toThrow(SlotwiseOptionsError);
    expect(() => new CompositeSlotSupplier([])).toThrow(
      'CompositeSlotSupplier: expected a non-empty array of slotwise suppliers, got `[]` (array).',
    );
    expect(() => new CompositeSlotSupplier([a, { type: 'fixed-size', numSlots: 2 } as never])).toThrow(
      'CompositeSlotSupplier: expected part 1 to be a slotwise supplier (FixedSlotSupplier, CpuSlotSupplier, ...), got `{"type":"fixed-size","numSlots":2}` (object).',
    );
    expect(() => new CompositeSlotSupplier([a, a])).toThrow(
      `CompositeSlotSupplier: part 1 ('${a.name}') is listed twice.`,
    );
  });

  it('reserveSlot() holds no part while another part is full', async () => {
    const { a: wide, b: narrow, both } = twoParts(3, 1);
    const { first, second } = await firstAndSecond(both);
    expect(second.settled()).toBe(false);
    expect([counts(wide), counts(narrow)]).toEqual([
      { issued: 1, used: 0, waiting: 0 },
      { issued: 1, used: 0, waiting: 0 },
    ]);
    both.releaseSlot({ permit: first });
    await flush();
    expect(second.settled()).toBe(true);
    expect([wide.snapshot().issued, narrow.snapshot().issued, both.snapshot().issued]).toEqual([1, 1, 1]);
  });

  it('releaseSlot() tries the waiting reservation once, after every part is released', async () => {
    // Before: each part's release woke the composite too, so the waiter was tried (every part's
    // admission) after the first part was released and before the second was: 2 takes per part.
    const { a, b, both } = twoParts(1, 1);
    const { first, second } = await firstAndSecond(both);
    const takesA = vi.spyOn(a, 'takeForComposite');
    const takesB = vi.spyOn(b, 'takeForComposite');
    both.releaseSlot({ permit: first });
    await flush();
    expect(second.settled()).toBe(true);
    expect([takesA.mock.calls.length, takesB.mock.calls.length]).toEqual([1, 1]);
    expect([counts(a).issued, counts(b).issued, both.snapshot().issued]).toEqual([1, 1, 1]);
  });

  it('a workflow decision reads each part’s capacity without a snapshot of it', () => {
    // Before: every workflow decision built a whole snapshot of every part (a resource part's walks
    // every live permit for its charged cost) to read one number.
    const a = new FixedSlotSupplier({ slots: 5, floors: false });
    const b = new FixedSlotSupplier({ slots: 2, floors: false });
    const both = new CompositeSlotSupplier([a, b], { floors: false });
    const snapshots = [vi.spyOn(a, 'snapshot'), vi.spyOn(b, 'snapshot')];
    expect(both.tryReserveSlot(reserveCtx('q', 'workflow', true))).not.toBeNull();
    // Capacity 2 (the smaller part): a second sticky poll would leave the non-sticky one none.
    expect(both.tryReserveSlot(reserveCtx('q', 'workflow', true))).toBeNull();
    expect(both.tryReserveSlot(reserveCtx('q', 'workflow', false))).not.toBeNull();
    expect(snapshots.map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
    expect(both.snapshot().capacity).toBe(2);
  });

  it('reserveSlot() is woken when a part gains capacity', async () => {
    const { a, b, both } = twoParts(1, 1);
    const direct = await b.reserveSlot(reserveCtx(), signal());
    const waiting = track(both.reserveSlot(reserveCtx(), signal()));
    await flush();
    expect(waiting.settled()).toBe(false);
    b.setSlots(2);
    await flush();
    expect(waiting.settled()).toBe(true);
    b.releaseSlot({ permit: direct });
    expect([counts(a).issued, counts(b).issued]).toEqual([1, 1]);
  });

  it('markSlotUsed() and releaseSlot() apply to every part', async () => {
    const { a, b, both } = twoParts(2, 2);
    const permit = await both.reserveSlot(reserveCtx(), signal());
    expect(permit.parts).toHaveLength(2);
    both.markSlotUsed({ permit, slotInfo: activityInfo() });
    expect([counts(a), counts(b)]).toEqual([
      { issued: 1, used: 1, waiting: 0 },
      { issued: 1, used: 1, waiting: 0 },
    ]);
    both.releaseSlot({ permit, slotInfo: activityInfo() });
    both.releaseSlot({ permit, slotInfo: activityInfo() });
    expect([counts(a), counts(b), both.snapshot().errors, a.snapshot().errors]).toEqual([
      { issued: 0, used: 0, waiting: 0 },
      { issued: 0, used: 0, waiting: 0 },
      0,
      0,
    ]);
  });

  it('reserveSlot() aborted after the grant gives every part back', async () => {
    const { a, b, both } = twoParts(1, 1);
    const controller = new AbortController();
    await both.reserveSlot(reserveCtx(), controller.signal);
    controller.abort('Request Cancelled');
    expect([counts(a).issued, counts(b).issued, both.snapshot().issued]).toEqual([0, 0, 0]);
  });

  it('releaseEarly() releases every part early', async () => {
    const a = new FixedSlotSupplier({ slots: 1 });
    const both = new CompositeSlotSupplier([a]);
    const reasons: string[] = [];
    a.subscribe((e) => e.type === 'release' && reasons.push(e.reason));
    const permit = await both.reserveSlot(reserveCtx(), signal());
    both.markSlotUsed({ permit, slotInfo: activityInfo() });
    expect(both.releaseEarly(permit)).toBe(true);
    both.releaseSlot({ permit, slotInfo: activityInfo() });
    expect(reasons).toEqual(['manual']);
    expect(counts(a)).toEqual({ issued: 0, used: 0, waiting: 0 });
  });

  it('reserveSlot() lets a part’s own waiters go first', async () => {
    const a = new FixedSlotSupplier({ slots: 1 });
    const both = new CompositeSlotSupplier([a]);
    const held = await a.reserveSlot(reserveCtx(), signal());
    const direct = track(a.reserveSlot(reserveCtx(), signal()));
    const viaComposite = track(both.reserveSlot(reserveCtx(), signal()));
    a.releaseSlot({ permit: held });
    await flush();
    expect([direct.settled(), viaComposite.settled()]).toEqual([true, false]);
  });

  it('reserveSlot() never deadlocks two composites that share parts in opposite order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.nat(3)), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        async (plan, slotsA, slotsB) => {
          const a = new FixedSlotSupplier({ slots: slotsA });
          const b = new FixedSlotSupplier({ slots: slotsB });
          const ab = new CompositeSlotSupplier([a, b]);
          const ba = new CompositeSlotSupplier([b, a]);
          const held: Array<{ owner: CompositeSlotSupplier; permit: SlotwisePermit }> = [];
          const pending: Array<Promise<void>> = [];
          for (const [useAb, releases] of plan) {
            const owner = useAb ? ab : ba;
            pending.push(
              owner.reserveSlot(reserveCtx(), signal()).then((permit) => void held.push({ owner, permit })),
            );
            await flush();
            for (let i = 0; i < releases && held.length > 0; i++) {
              const { owner: o, permit } = held.shift()!;
              o.releaseSlot({ permit });
              await flush();
            }
            // Never more permits out in a part than its slots.
            expect(a.snapshot().issued).toBeLessThanOrEqual(slotsA);
            expect(b.snapshot().issued).toBeLessThanOrEqual(slotsB);
          }
          // Drain: releasing everything must let every reservation through.
          while (held.length > 0 || ab.snapshot().waiting + ba.snapshot().waiting > 0) {
            const next = held.shift();
            if (!next) throw new Error('deadlock: waiters remain with nothing held');
            next.owner.releaseSlot({ permit: next.permit });
            await flush();
          }
          await Promise.all(pending);
          expect([a.snapshot().issued, b.snapshot().issued]).toEqual([0, 0]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
