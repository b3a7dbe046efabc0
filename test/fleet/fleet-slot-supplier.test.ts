import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetSlotSupplier, type FleetSlotSupplierOptions } from '../../src/fleet/fleet-slot-supplier.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SlotwisePermit } from '../../src/suppliers/types.js';
import { FLEET_TICKS_PER_TTL } from '../../src/workflows/fleet/types.js';
import { activityInfo, recordingLogger, reserveCtx, track } from '../helpers/fakes.js';
import { FakeFleetManager } from './fake-fleet-manager.js';

let counter = 0;
const suppliers: FleetSlotSupplier[] = [];

function fleetSupplier(manager: FakeFleetManager, options: Partial<FleetSlotSupplierOptions> = {}) {
  const logger = recordingLogger();
  const supplier = new FleetSlotSupplier({
    fleet: 'fleet',
    slots: manager.leases.state.slots,
    transport: manager.transport(),
    name: `fleet-test-${++counter}`,
    lingerMs: 1_000,
    minSyncIntervalMs: 0,
    now: () => Date.now(),
    logger,
    ...options,
  });
  suppliers.push(supplier);
  return Object.assign(supplier, { logger });
}

/** Lets batched evaluations (setImmediate), answers (microtasks) and due timers run. */
const settle = async (ms = 0) => {
  await vi.advanceTimersByTimeAsync(ms);
  await vi.advanceTimersByTimeAsync(0);
};

const reserve = (supplier: FleetSlotSupplier, signal = new AbortController().signal) =>
  supplier.reserveSlot(reserveCtx('q'), signal);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(async () => {
  for (const supplier of suppliers.splice(0)) void supplier.close();
  await vi.runOnlyPendingTimersAsync();
  vi.useRealTimers();
});

describe('FleetSlotSupplier', () => {
  it('reserveSlot() waits for a lease from the manager, then reuses a spare lease with no request', async () => {
    const manager = new FakeFleetManager(3);
    const supplier = fleetSupplier(manager);
    const first = track(reserve(supplier));
    await settle();
    expect(first.settled()).toBe(true);
    expect(manager.requests).toHaveLength(2); // the ask, then the long poll that renews
    expect(manager.requests[0]).toMatchObject({ want: 1, slots: 3, wait: true });
    expect(manager.held(supplier.holderId)).toBe(1);

    supplier.releaseSlot({ permit: first.value()! });
    await settle();
    const second = track(reserve(supplier));
    await settle();
    expect(second.settled()).toBe(true);
    expect(manager.requests).toHaveLength(2);
    expect(supplier.snapshot()).toMatchObject({ issued: 1, fleet: { held: 1, inUse: 1, valid: true } });
  });

  it('reserveSlot() asks for leases in one batch when several reservations arrive together', async () => {
    const manager = new FakeFleetManager(5);
    const supplier = fleetSupplier(manager);
    const permits = [1, 2, 3, 4].map(() => track(reserve(supplier)));
    await settle();
    expect(manager.requests[0]).toMatchObject({ want: 4 });
    expect(permits.every((p) => p.settled())).toBe(true);
    expect(manager.held(supplier.holderId)).toBe(4);
  });

  it('while its demand outgrows the leases it holds, it asks for as many again, so the next reservations need no round trip', async () => {
    const manager = new FakeFleetManager(20);
    const supplier = fleetSupplier(manager);
    const permits = [1, 2].map(() => track(reserve(supplier)));
    await settle();
    expect(manager.requests[0]).toMatchObject({ want: 2 }); // the first leases: only what it needs
    expect(manager.requests[0]!.extra).toBeUndefined();

    permits.push(track(reserve(supplier)));
    await settle();
    const ask = manager.requests.find((r) => r.want === 3);
    expect(ask).toMatchObject({ want: 3, extra: 3 });
    expect(manager.held(supplier.holderId)).toBe(6);

    const asked = manager.requests.length;
    for (let i = 0; i < 3; i++) permits.push(track(reserve(supplier)));
    await settle();
    expect(permits.every((p) => p.settled())).toBe(true);
    expect(manager.requests.slice(asked).filter((r) => r.extra !== undefined)).toEqual([]);
    expect(supplier.snapshot()).toMatchObject({ issued: 6, fleet: { held: 6, inUse: 6 } });

    // The extras were spare leases: back after the linger once demand falls.
    for (const p of permits.splice(0, 4)) supplier.releaseSlot({ permit: p.value()! });
    await settle(1_100);
    expect(manager.held(supplier.holderId)).toBe(2);
  });

  it('keeps at most 2 requests unanswered while the manager is slow; the changes meanwhile go out together', async () => {
    const manager = new FakeFleetManager(50);
    const inner = manager.transport();
    const held: Array<() => void> = [];
    let unanswered = 0;
    let most = 0;
    const slow: typeof inner = {
      ...inner,
      sync: (request, signal) => {
        unanswered++;
        most = Math.max(most, unanswered);
        return new Promise((resolve, reject) => {
          held.push(() => {
            inner.sync(request, signal).then(resolve, reject);
          });
        }).finally(() => unanswered--) as ReturnType<typeof inner.sync>;
      },
    };
    const supplier = fleetSupplier(manager, { transport: slow });
    const permits = [track(reserve(supplier))];
    await settle();
    held.shift()!(); // the first ask reaches the manager
    await settle();
    expect(permits[0]!.settled()).toBe(true);
    // Demand changes every 30 ms while the manager takes nothing in.
    for (let i = 0; i < 20; i++) {
      permits.push(track(reserve(supplier)));
      await settle(30);
    }
    expect(most).toBe(2);
    // Let everything through: the last request carries the demand of all 21 reservations.
    while (held.length > 0) {
      held.shift()!();
      await settle();
    }
    await settle(30);
    while (held.length > 0) {
      held.shift()!();
      await settle();
    }
    expect(permits.every((p) => p.settled())).toBe(true);
    expect(supplier.snapshot().issued).toBe(21);
    expect(most).toBe(2);
  });

  it('asks for no extra leases while the fleet is contended, and gives extras back when another process needs them', async () => {
    const manager = new FakeFleetManager(6);
    const a = fleetSupplier(manager);
    const aPermits = [track(reserve(a))];
    await settle();
    aPermits.push(track(reserve(a)));
    await settle();
    expect(manager.held(a.holderId)).toBe(4); // needs 2, asked 2 more
    const b = fleetSupplier(manager);
    const bPermits = [0, 1, 2, 3].map(() => track(reserve(b)));
    await settle();
    expect(bPermits.every((p) => p.settled())).toBe(true);
    expect([manager.held(a.holderId), manager.held(b.holderId)]).toEqual([2, 4]);
    // Contended now: a's next growth asks only what it needs.
    aPermits.push(track(reserve(a)));
    await settle();
    expect(manager.requestsOf(a.holderId).at(-1)).toMatchObject({ want: 3 });
    expect(manager.requestsOf(a.holderId).at(-1)!.extra).toBeUndefined();
    expect(a.snapshot().issued + b.snapshot().issued).toBe(6);
  });

  it('releaseSlot() keeps a spare lease for lingerMs, then gives it back', async () => {
    const manager = new FakeFleetManager(2);
    const supplier = fleetSupplier(manager, { lingerMs: 1_000 });
    const permit = track(reserve(supplier));
    await settle();
    supplier.releaseSlot({ permit: permit.value()! });
    await settle(990);
    expect(manager.held(supplier.holderId)).toBe(1);
    await settle(20);
    expect(manager.held(supplier.holderId)).toBe(0);
    expect(manager.leases.state.stats.returned).toBe(1);
    expect(supplier.snapshot().fleet).toMatchObject({ held: 0, usable: 0 });
  });

  it('releaseSlot() gives a lease back at once when another process waits, and that process gets it', async () => {
    const manager = new FakeFleetManager(2);
    const a = fleetSupplier(manager);
    const b = fleetSupplier(manager);
    const aPermits = [track(reserve(a)), track(reserve(a))];
    await settle();
    expect(manager.held(a.holderId)).toBe(2);
    const bPermit = track(reserve(b));
    await settle();
    expect(bPermit.settled()).toBe(false);
    expect(a.snapshot().fleet.cap).toBe(1);

    a.releaseSlot({ permit: aPermits[0]!.value()! });
    await settle();
    expect(bPermit.settled()).toBe(true);
    expect([manager.held(a.holderId), manager.held(b.holderId)]).toEqual([1, 1]);
    expect(a.snapshot().issued + b.snapshot().issued).toBe(2);
  });

  it('releaseSlot() above the cap does not hand the lease to a waiter of the same process', async () => {
    const manager = new FakeFleetManager(2);
    const a = fleetSupplier(manager);
    const b = fleetSupplier(manager);
    const aPermits = [track(reserve(a)), track(reserve(a))];
    await settle();
    const aThird = track(reserve(a));
    const bFirst = track(reserve(b));
    await settle();
    expect([a.snapshot().fleet.cap, b.snapshot().fleet.cap]).toEqual([1, 1]);
    a.releaseSlot({ permit: aPermits[0]!.value()! });
    await settle();
    expect(aThird.settled()).toBe(false);
    expect(bFirst.settled()).toBe(true);
    expect([a.snapshot().issued, b.snapshot().issued]).toEqual([1, 1]);
  });

  it('a second give-back while the first one is still waiting at the manager is sent at once', async () => {
    const manager = new FakeFleetManager(4);
    const a = fleetSupplier(manager);
    const aPermits = [0, 1, 2, 3].map(() => track(reserve(a)));
    await settle();
    expect(manager.held(a.holderId)).toBe(4);
    const b = fleetSupplier(manager);
    const bPermits = [track(reserve(b)), track(reserve(b))];
    await settle();
    expect(a.snapshot().fleet.cap).toBe(2);
    // One release: a keeps 3 (its permits out) and gives one back; that request then waits at the
    // manager as a long poll (nothing else changes for a).
    a.releaseSlot({ permit: aPermits[0]!.value()! });
    await settle();
    expect([manager.held(a.holderId), manager.held(b.holderId)]).toEqual([3, 1]);
    // A second release while that request waits: the second lease goes back now, not at the renewal.
    a.releaseSlot({ permit: aPermits[1]!.value()! });
    await settle();
    expect([manager.held(a.holderId), manager.held(b.holderId)]).toEqual([2, 2]);
    expect(bPermits.every((p) => p.settled())).toBe(true);
  });

  it('spare leases go back at once, linger or not, as soon as another process waits', async () => {
    const manager = new FakeFleetManager(2);
    const a = fleetSupplier(manager, { lingerMs: 60_000 });
    const permits = [track(reserve(a)), track(reserve(a))];
    await settle();
    for (const p of permits) a.releaseSlot({ permit: p.value()! });
    await settle(1_000);
    expect(manager.held(a.holderId)).toBe(2);
    const b = fleetSupplier(manager);
    const waiting = track(reserve(b));
    await settle();
    expect(waiting.settled()).toBe(true);
    expect(manager.held(a.holderId)).toBe(0);
    expect(manager.held(b.holderId)).toBe(1);
  });

  it('reserveSlot() never lets two processes together exceed the fleet, under a random load', async () => {
    const manager = new FakeFleetManager(3);
    const processes = [fleetSupplier(manager), fleetSupplier(manager), fleetSupplier(manager)];
    const out: Array<{ supplier: FleetSlotSupplier; permit: SlotwisePermit }> = [];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let maxOut = 0;
    for (let step = 0; step < 300; step++) {
      const roll = random();
      if (roll < 0.5) {
        const supplier = processes[Math.floor(random() * 3)]!;
        void reserve(supplier).then((permit) => out.push({ supplier, permit }));
      } else if (roll < 0.9 && out.length > 0) {
        const [done] = out.splice(Math.floor(random() * out.length), 1);
        done!.supplier.releaseSlot({ permit: done!.permit });
      } else {
        manager.tick();
      }
      await settle(Math.floor(random() * 300));
      const issued = processes.reduce((sum, p) => sum + p.snapshot().issued, 0);
      maxOut = Math.max(maxOut, issued);
      expect(issued).toBeLessThanOrEqual(3);
      expect(manager.leases.leased).toBeLessThanOrEqual(3);
      for (const p of processes) expect(p.snapshot().issued).toBeLessThanOrEqual(manager.held(p.holderId));
    }
    expect(maxOut).toBe(3);
  });

  it('while the fleet is contended, a process puts at most one idle poll on each task queue; the next waits for its task', async () => {
    const manager = new FakeFleetManager(4);
    const b = fleetSupplier(manager);
    const bPermits = [track(reserve(b)), track(reserve(b))];
    await settle();
    for (const p of bPermits) b.markSlotUsed({ permit: p.value()!, slotInfo: activityInfo() });
    const a = fleetSupplier(manager);
    // Three polls of one queue (as when it has run dry) and the fleet is contended: a's share is 2.
    const polls = [0, 1, 2].map(() => track(a.reserveSlot(reserveCtx('dry'), new AbortController().signal)));
    await settle();
    expect(a.snapshot().fleet).toMatchObject({ held: 2, cap: 2 });
    // One poll holds a lease while it waits; the other lease stays for a poll that can use it.
    expect(polls.map((p) => p.settled())).toEqual([true, false, false]);
    expect(a.snapshot().issued).toBe(1);
    const other = track(a.reserveSlot(reserveCtx('busy'), new AbortController().signal));
    await settle();
    expect(other.settled()).toBe(true);
    expect(a.snapshot().issued).toBe(2);
    // A task arrives on the first poll: the queue has no idle poll now, and its next poll gets the
    // next lease that frees up (here the other queue's, released without a task).
    a.markSlotUsed({ permit: polls[0]!.value()!, slotInfo: activityInfo() });
    a.releaseSlot({ permit: other.value()! });
    await settle();
    expect(polls.map((p) => p.settled())).toEqual([true, true, false]);
    expect(a.snapshot().issued).toBe(2);
    // The second poll ends without a task (a long poll timed out): the third takes its lease.
    a.releaseSlot({ permit: polls[1]!.value()! });
    await settle();
    expect(polls.map((p) => p.settled())).toEqual([true, true, true]);
    expect(a.snapshot().issued).toBe(2);
    expect(manager.held(a.holderId) + manager.held(b.holderId)).toBe(4);
  });

  it('while contended, processes that join together put their first polls on different task queues, then go round them', async () => {
    const manager = new FakeFleetManager(3);
    // Another holder has the whole fleet: the three processes join a contended fleet, as Worker
    // processes that start together do.
    const other = manager.transport();
    const leave = new AbortController().signal;
    await other.sync({ holderId: 'other', seq: 1, want: 3, hold: 3, wait: false }, leave);
    const processes = [fleetSupplier(manager), fleetSupplier(manager), fleetSupplier(manager)];
    // Each process has 2 pollers on each of 3 task queues (core reserves a permit before each poll).
    const polls = processes.map((p) =>
      ['q0', 'q0', 'q1', 'q1', 'q2', 'q2'].map((queue) => ({
        queue,
        permit: track(p.reserveSlot(reserveCtx(queue), new AbortController().signal)),
      })),
    );
    await settle();
    expect(processes.map((p) => p.snapshot().issued)).toEqual([0, 0, 0]);
    await other.sync({ holderId: 'other', seq: 2, want: 0, hold: 0, wait: false }, leave);
    await settle();
    expect(processes.map((p) => p.snapshot().fleet)).toMatchObject([
      { held: 1, cap: 1 },
      { held: 1, cap: 1 },
      { held: 1, cap: 1 },
    ]);
    const issued = (i: number) => polls[i]!.filter((p) => p.permit.settled());
    // One lease each: on three different queues, not all three on the first one (which would leave
    // two queues with no poll at all).
    expect(processes.map((_, i) => issued(i).length)).toEqual([1, 1, 1]);
    const first = processes.map((_, i) => issued(i)[0]!.queue);
    expect([...first].sort()).toEqual(['q0', 'q1', 'q2']);
    // Each process's lease then goes round the queues: a task arrives on the poll, ends, and the next
    // poll is on the next queue.
    const a = processes[0]!;
    const seen = new Set(issued(0));
    let current = issued(0)[0]!;
    const served = [current.queue];
    for (let round = 0; round < 2; round++) {
      a.markSlotUsed({ permit: current.permit.value()!, slotInfo: activityInfo() });
      a.releaseSlot({ permit: current.permit.value()!, slotInfo: activityInfo() });
      await settle();
      const fresh = issued(0).filter((p) => !seen.has(p));
      expect(fresh).toHaveLength(1);
      current = fresh[0]!;
      seen.add(current);
      served.push(current.queue);
    }
    expect([...served].sort()).toEqual(['q0', 'q1', 'q2']);
    expect(a.snapshot().issued).toBe(1);
  });

  it('while the fleet is not contended, every poll of a task queue gets a lease', async () => {
    const manager = new FakeFleetManager(10);
    const a = fleetSupplier(manager);
    const polls = [0, 1, 2].map(() => track(a.reserveSlot(reserveCtx('dry'), new AbortController().signal)));
    await settle();
    expect(a.snapshot().fleet.cap).toBeNull();
    expect(polls.every((p) => p.settled())).toBe(true);
    expect(a.snapshot().issued).toBe(3);
  });

  it('tryReserveSlot() refuses once the leases were not renewed in time, and counts them as expired', async () => {
    const manager = new FakeFleetManager(3, 8_000);
    const supplier = fleetSupplier(manager, { lingerMs: 60_000 });
    const permit = track(reserve(supplier));
    await settle();
    supplier.releaseSlot({ permit: permit.value()! });
    manager.failWith = new Error('UNAVAILABLE: server down');
    // The long poll in flight answers after 2 ticks; every later request fails.
    manager.tick(2);
    await settle();
    expect(supplier.tryReserveSlot(reserveCtx('q'))).not.toBeNull();
    // Valid until sent + validForMs - one tick = sent + 6000 ms (ttl 8000: ticks of 1000 ms).
    await settle(6_000);
    expect(supplier.tryReserveSlot(reserveCtx('q'))).toBeNull();
    expect(supplier.snapshot().fleet).toMatchObject({ valid: false, expiredLeases: 1, usable: 0 });
    expect(supplier.logger.messages('warn').some((m) => m.includes('were not renewed in time'))).toBe(true);

    manager.failWith = undefined;
    await settle(5_000);
    expect(supplier.snapshot().fleet.valid).toBe(true);
  });

  it('leases of a process that stops renewing return to the fleet after the TTL, and the others get them', async () => {
    const manager = new FakeFleetManager(2);
    let dead = false;
    const doomed = fleetSupplier(manager, { transport: manager.transport(() => dead) });
    const live = fleetSupplier(manager);
    void reserve(doomed);
    void reserve(doomed);
    await settle();
    const waiting = track(reserve(live));
    await settle();
    expect(waiting.settled()).toBe(false);
    dead = true; // its process is gone: no more renewals reach the manager
    for (let t = 1; t < FLEET_TICKS_PER_TTL; t++) {
      manager.tick();
      await settle(1_000);
      expect(waiting.settled()).toBe(false);
    }
    manager.tick();
    await settle();
    expect(waiting.settled()).toBe(true);
    expect(manager.leases.state.stats).toMatchObject({ expired: 2, expiredHolders: 1 });
    expect(manager.held(live.holderId)).toBe(1);
  });

  it('a process the manager cannot hold a long poll for polls again a tick later, not at once', async () => {
    const manager = new FakeFleetManager(3);
    manager.maxWaiting = 1;
    const processes = [fleetSupplier(manager), fleetSupplier(manager), fleetSupplier(manager)];
    for (const p of processes) void reserve(p);
    await settle();
    expect(processes.map((p) => manager.held(p.holderId))).toEqual([1, 1, 1]);
    const before = manager.requests.length;
    for (let i = 0; i < 10; i++) {
      await settle(1_000);
      manager.tick(); // a tick every 1000 ms, as the manager's timer fires
    }
    // One long poll is held at a time (answered every 2 ticks); the others ask once per 1000 ms.
    // Without the pause they would ask again at once, thousands of times.
    const sent = manager.requests.length - before;
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(sent).toBeLessThanOrEqual(33);
    expect(processes.map((p) => manager.held(p.holderId))).toEqual([1, 1, 1]);
  });

  it('close() gives every lease back', async () => {
    const manager = new FakeFleetManager(3);
    const supplier = fleetSupplier(manager, { lingerMs: 60_000 });
    const permits = [track(reserve(supplier)), track(reserve(supplier))];
    await settle();
    for (const p of permits) supplier.releaseSlot({ permit: p.value()! });
    expect(manager.held(supplier.holderId)).toBe(2);
    await supplier.close();
    expect(manager.leases.leased).toBe(0);
    expect(manager.requests.at(-1)).toMatchObject({ want: 0, hold: 0, wait: false });
  });

  it('setSlots() changes the fleet size at the manager and the next request does not carry the old size', async () => {
    const manager = new FakeFleetManager(2);
    const supplier = fleetSupplier(manager);
    void reserve(supplier);
    await settle();
    await supplier.setSlots(4);
    expect(manager.slotRequests).toEqual([4]);
    expect(manager.leases.state.slots).toBe(4);
    expect(supplier.slots).toBe(4);
    void reserve(supplier);
    await settle();
    expect(manager.requests.slice(1).map((r) => r.slots ?? 'none')).not.toContain(2);
    expect(manager.requests.at(-1)!.slots).toBeUndefined();
  });

  it('a fleet part of a CompositeSlotSupplier learns demand from refused tries and fills the composite', async () => {
    const manager = new FakeFleetManager(3);
    const fleet = fleetSupplier(manager);
    const local = new FixedSlotSupplier({ slots: 10, name: 'local-cap' });
    const both = new CompositeSlotSupplier([local, fleet], { name: 'both' });
    const permits = [1, 2, 3, 4].map(() =>
      track(both.reserveSlot(reserveCtx('q'), new AbortController().signal)),
    );
    for (let i = 0; i < 10; i++) await settle();
    expect(permits.filter((p) => p.settled())).toHaveLength(3);
    expect(both.snapshot()).toMatchObject({ issued: 3, waiting: 1, parts: [{ issued: 3 }, { issued: 3 }] });
    both.markSlotUsed({ permit: permits[0]!.value()!, slotInfo: activityInfo() });
    both.releaseSlot({ permit: permits[0]!.value()!, slotInfo: activityInfo() });
    await settle();
    expect(permits.filter((p) => p.settled())).toHaveLength(4);
    both.close();
  });

  it('issues no permit beyond its leases for any task queue: a fleet has no floors', async () => {
    const manager = new FakeFleetManager(1);
    const supplier = fleetSupplier(manager, { lingerMs: 60_000 });
    const first = track(reserve(supplier));
    await settle();
    expect(first.settled()).toBe(true);
    // Another task queue and a local activity: each would be owed a floor permit by a local supplier.
    expect(supplier.tryReserveSlot(reserveCtx('other-queue'))).toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q', 'local-activity'))).toBeNull();
    const waiting = track(reserve(supplier, new AbortController().signal));
    await settle();
    expect(waiting.settled()).toBe(false);
    expect(supplier.snapshot()).toMatchObject({ issued: 1, fleet: { held: 1 } });
    expect(supplier.floors).toEqual({ workflow: 0, activity: 0, localActivity: 0 });
    expect(
      () =>
        new FleetSlotSupplier({
          fleet: 'a',
          slots: 1,
          transport: manager.transport(),
          floors: { activity: 1 },
        } as unknown as FleetSlotSupplierOptions),
    ).toThrow('unknown option `floors`');
  });

  it('markSlotUsed() and releaseSlot() never throw, even for permits it never issued', () => {
    const manager = new FakeFleetManager(1);
    const supplier = fleetSupplier(manager);
    expect(() => supplier.markSlotUsed({ permit: { id: -1 }, slotInfo: activityInfo() })).not.toThrow();
    expect(() => supplier.releaseSlot({ permit: { id: -1 } })).not.toThrow();
    expect(supplier.snapshot().errors).toBe(2);
  });

  it('reserveSlot() rejects with the abort reason when core aborts while it waits for a lease, and asks for less', async () => {
    const manager = new FakeFleetManager(1);
    const holder = fleetSupplier(manager);
    void reserve(holder);
    await settle();
    const other = fleetSupplier(manager);
    const controller = new AbortController();
    const waiting = track(reserve(other, controller.signal));
    await settle();
    expect(manager.leases.find(other.holderId)?.want).toBe(1);
    controller.abort('Request Cancelled');
    await settle();
    expect(waiting.error()).toBe('Request Cancelled');
    expect(manager.leases.find(other.holderId)).toBeUndefined();
  });
});

describe('new FleetSlotSupplier()', () => {
  it('names the bad option', () => {
    const transport = new FakeFleetManager(1).transport();
    expect(() => new FleetSlotSupplier({ fleet: '', slots: 1, transport })).toThrow(
      'FleetSlotSupplier: expected `fleet` to be a non-empty string of at most 200 characters, got `""` (string).',
    );
    expect(() => new FleetSlotSupplier({ fleet: 'a', slots: 0, transport })).toThrow(
      'expected `slots` to be an integer in [1, 1000000], got `0` (number).',
    );
    expect(() => new FleetSlotSupplier({ fleet: 'a', slots: 1, transport, leaseTtlMs: 100 })).toThrow(
      'expected `leaseTtlMs` to be a whole number of milliseconds in [800, 2147483647], got `100` (number).',
    );
    // Longer than a Node timer holds: the timer would fire at once.
    expect(() => new FleetSlotSupplier({ fleet: 'a', slots: 1, transport, leaseTtlMs: 2 ** 31 })).toThrow(
      'expected `leaseTtlMs` to be a whole number of milliseconds in [800, 2147483647], got `2147483648` (number).',
    );
    expect(() => new FleetSlotSupplier({ fleet: 'a', slots: 1, transport, lingerMs: 2 ** 31 })).toThrow(
      'expected `lingerMs` to be a whole number of milliseconds in [0, 2147483647], got `2147483648` (number).',
    );
    expect(() => new FleetSlotSupplier({ fleet: 'a', slots: 1 })).toThrow(
      "FleetSlotSupplier: expected `connection` (the NativeConnection your Workers use) to reach the lease manager of fleet 'a', got `undefined`.",
    );
    expect(
      () =>
        new FleetSlotSupplier({
          fleet: 'a',
          slots: 1,
          transport,
          slot: 2,
        } as unknown as FleetSlotSupplierOptions),
    ).toThrow('FleetSlotSupplier: unknown option `slot`. Did you mean `slots`?');
  });
});
