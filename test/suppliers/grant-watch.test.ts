// A reservation aborted after its permit was granted: core never saw the permit, so the supplier
// takes it back. Its signal is listened to only while some reservation of the process waits; these
// tests check every way such a permit comes back without a listener, and that none is added while
// nothing waits. The listener bookkeeping is process-wide, so every test here leaves nothing waiting.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { activityInfo, flush, reserveCtx, track } from '../helpers/fakes.js';

/** Controllers of reservations that may still wait when a test ends: aborted after each test. */
const pending: AbortController[] = [];
function controller(): AbortController {
  const c = new AbortController();
  pending.push(c);
  return c;
}

/** A one-slot supplier whose slot went to a reservation aborted after the grant; `reasons` lists its releases. */
async function slotGrantedThenAborted() {
  const supplier = new FixedSlotSupplier({ slots: 1 });
  const reasons: string[] = [];
  supplier.subscribe((e) => e.type === 'release' && reasons.push(e.reason));
  const c = controller();
  await supplier.reserveSlot(reserveCtx(), c.signal);
  c.abort('Request Cancelled');
  return { supplier, reasons };
}

afterEach(() => {
  for (const c of pending.splice(0)) c.abort('test over');
});

describe('a permit granted to a reservation aborted before core saw it', () => {
  it('is granted without a listener on its signal while nothing waits, and none is left on it', async () => {
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const c = controller();
    const add = vi.spyOn(c.signal, 'addEventListener');
    const permit = await supplier.reserveSlot(reserveCtx(), c.signal);
    expect(add).toHaveBeenCalledTimes(0);
    supplier.releaseSlot({ permit });
    expect(supplier.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
  });

  it('is listened for while a reservation waits: the waiter gets its slot at the abort, with no other call', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const held = await supplier.reserveSlot(reserveCtx(), controller().signal);
    const waiting = track(supplier.reserveSlot(reserveCtx(), controller().signal));
    const other = new FixedSlotSupplier({ slots: 1 });
    const c = controller();
    const add = vi.spyOn(c.signal, 'addEventListener');
    // Granted while a reservation of the process waits (in another supplier): listened to at once.
    const otherPermit = await other.reserveSlot(reserveCtx(), c.signal);
    expect(add).toHaveBeenCalledTimes(1);
    expect(otherPermit).toBeDefined();
    supplier.releaseSlot({ permit: held });
    await flush();
    expect(waiting.settled()).toBe(true);
    const reasons: string[] = [];
    other.subscribe((e) => e.type === 'release' && reasons.push(e.reason));
    c.abort('Request Cancelled'); // nothing waits any more, but this grant was listened to
    expect(reasons).toEqual(['reclaimed']);
  });

  it('is taken back when a reservation starts waiting, which gets the slot at once', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const c = controller();
    await supplier.reserveSlot(reserveCtx(), c.signal);
    c.abort('Request Cancelled');
    const next = track(supplier.reserveSlot(reserveCtx(), controller().signal));
    await flush();
    expect(next.settled()).toBe(true);
    expect(next.error()).toBeUndefined();
    expect(supplier.snapshot()).toMatchObject({ issued: 1, waiting: 0 });
  });

  it('is taken back when one granted earlier is aborted once a reservation waits', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const c = controller();
    await supplier.reserveSlot(reserveCtx(), c.signal); // granted while nothing waits
    const next = track(supplier.reserveSlot(reserveCtx(), controller().signal)); // now it is listened to
    await flush();
    expect(next.settled()).toBe(false);
    c.abort('Request Cancelled');
    await flush();
    expect(next.settled()).toBe(true);
  });

  it('is taken back by a tryReserveSlot() that finds no room, which then gets it', async () => {
    const { supplier, reasons } = await slotGrantedThenAborted();
    expect(reasons).toEqual([]);
    expect(supplier.tryReserveSlot(reserveCtx())).not.toBeNull();
    expect(reasons).toEqual(['reclaimed']);
    expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 0, waiting: 0 });
  });

  it("of a composite is taken back when a reservation waits on one of its parts, whose waiter gets the part's slot", async () => {
    const part = new FixedSlotSupplier({ slots: 1 });
    const both = new CompositeSlotSupplier([part, new FixedSlotSupplier({ slots: 4 })]);
    const c = controller();
    await both.reserveSlot(reserveCtx(), c.signal);
    c.abort('Request Cancelled');
    const direct = track(part.reserveSlot(reserveCtx(), controller().signal));
    await flush();
    expect(direct.settled()).toBe(true);
    expect(both.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
    expect(part.snapshot()).toMatchObject({ issued: 1, waiting: 0 });
    both.close();
  });

  it('is taken back within about a second when nothing else looks', async () => {
    const { reasons } = await slotGrantedThenAborted();
    expect(reasons).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(reasons).toEqual(['reclaimed']);
  });

  it('is never taken back once marked used, even if its signal fires later', async () => {
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const c = controller();
    const permit = await supplier.reserveSlot(reserveCtx(), c.signal);
    supplier.markSlotUsed({ permit, slotInfo: activityInfo() });
    c.abort('Request Cancelled');
    expect(supplier.tryReserveSlot(reserveCtx())).toBeNull();
    const waiting = track(supplier.reserveSlot(reserveCtx(), controller().signal));
    await flush();
    expect(waiting.settled()).toBe(false);
    expect(supplier.snapshot()).toMatchObject({ issued: 1, used: 1, waiting: 1 });
  });
});
