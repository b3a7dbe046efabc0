import { describe, expect, it } from 'vitest';
import { validateFleetSyncRequest } from '../../src/workflows/fleet/definitions.js';
import { emptyFleetState, FleetLeases } from '../../src/workflows/fleet/lease-state.js';
import { FLEET_TICKS_PER_TTL, type FleetLeaseState } from '../../src/workflows/fleet/types.js';

const sync = (leases: FleetLeases, holderId: string, seq: number, want: number, hold = want) =>
  leases.sync({ holderId, seq, want, hold, wait: false });
const held = (leases: FleetLeases) => Object.fromEntries(leases.state.holders.map((h) => [h.id, h.held]));

describe('FleetLeases', () => {
  it('sync() grants a holder what it wants while the fleet has room', () => {
    const leases = new FleetLeases(emptyFleetState('api', 5));
    sync(leases, 'a', 1, 3);
    sync(leases, 'b', 1, 2);
    expect(held(leases)).toEqual({ a: 3, b: 2 });
    expect(leases.leased).toBe(5);
    expect(leases.contended).toBe(false);
    expect([leases.capOf('a'), leases.capOf('b')]).toEqual([null, null]);
    expect(leases.state.stats.granted).toBe(5);
  });

  it('sync() grants extra leases only from those no holder needs; they never make the fleet contended, and the cap sends them back', () => {
    const leases = new FleetLeases(emptyFleetState('api', 7));
    leases.sync({ holderId: 'a', seq: 1, want: 2, hold: 2, wait: false });
    leases.sync({ holderId: 'a', seq: 2, want: 3, extra: 3, hold: 1_000_000, wait: false });
    // 3 demanded of 7: extras may take half of the other 4.
    expect(held(leases)).toEqual({ a: 5 });
    expect(leases.contended).toBe(false);
    expect(leases.capOf('a')).toBeNull();
    // b's demand takes the free leases first; a's extras are not demand, so the shares are the demands.
    sync(leases, 'b', 1, 4);
    expect(held(leases)).toEqual({ a: 5, b: 2 });
    expect(leases.contended).toBe(true);
    expect([leases.capOf('a'), leases.capOf('b')]).toEqual([3, 4]);
    expect(leases.waiting).toBe(2);
    // a gives back down to its cap; b gets them.
    leases.sync({ holderId: 'a', seq: 3, want: 3, hold: 3, wait: false });
    expect(held(leases)).toEqual({ a: 3, b: 4 });
    expect(leases.contended).toBe(false);
    expect(leases.state.stats.granted).toBe(9);
  });

  it('sync() grants extras from what is free after every demand, and a request without extra asks for none', () => {
    const leases = new FleetLeases(emptyFleetState('api', 10));
    sync(leases, 'a', 1, 2);
    sync(leases, 'b', 1, 2);
    leases.sync({ holderId: 'a', seq: 2, want: 4, extra: 4, hold: 1_000_000, wait: false });
    // 6 demanded of 10: a's extras take half of the other 4, and b's demand can still grow by 2.
    expect(held(leases)).toEqual({ a: 6, b: 2 });
    sync(leases, 'b', 2, 4);
    expect(held(leases)).toEqual({ a: 6, b: 4 });
    expect(leases.contended).toBe(false);
    leases.sync({ holderId: 'a', seq: 3, want: 4, hold: 4, wait: false });
    leases.sync({ holderId: 'b', seq: 3, want: 4, extra: 4, hold: 1_000_000, wait: false });
    expect(held(leases)).toEqual({ a: 4, b: 5 });
    expect(leases.state.holders.map((h) => h.extra)).toEqual([undefined, 4]);
  });

  it('sync() never grants more than slots; a later holder waits and caps are set to fair shares', () => {
    const leases = new FleetLeases(emptyFleetState('api', 5));
    sync(leases, 'a', 1, 5);
    sync(leases, 'b', 1, 5);
    expect(held(leases)).toEqual({ a: 5, b: 0 });
    expect(leases.contended).toBe(true);
    // 5 over demands (5, 5): level 2, remainder 1 to the first in join order.
    expect([leases.capOf('a'), leases.capOf('b')]).toEqual([3, 2]);
    expect(leases.waiting).toBe(2);
  });

  it('sync() with hold below held takes leases back and grants them to waiting holders', () => {
    const leases = new FleetLeases(emptyFleetState('api', 5));
    sync(leases, 'a', 1, 5);
    sync(leases, 'b', 1, 5);
    sync(leases, 'a', 2, 5, 3); // a keeps its cap
    expect(held(leases)).toEqual({ a: 3, b: 2 });
    expect(leases.state.stats.returned).toBe(2);
    expect(leases.waiting).toBe(0);
  });

  it('sync() serves waiting holders round-robin: the one granted longest ago first', () => {
    const state: FleetLeaseState = {
      ...emptyFleetState('api', 2),
      holders: [
        { id: 'x', label: 'x', held: 0, want: 5, seq: 1, renewedAt: 0, servedAt: 10, order: 0 },
        { id: 'y', label: 'y', held: 0, want: 5, seq: 1, renewedAt: 0, servedAt: 3, order: 1 },
        { id: 'z', label: 'z', held: 1, want: 1, seq: 1, renewedAt: 0, servedAt: 1, order: 2 },
      ],
      grants: 10,
      nextOrder: 3,
    };
    const leases = new FleetLeases(state);
    // Shares of 2 over demands (2, 2, 1): x 1, y 1, z 0; one lease is free.
    sync(leases, 'z', 2, 1);
    expect(held(leases)).toEqual({ x: 0, y: 1, z: 1 });
    expect(leases.find('y')!.servedAt).toBe(11);
  });

  it('sync() ignores a request older than one applied (or a repeat of it), renewing only', () => {
    const leases = new FleetLeases(emptyFleetState('api', 5));
    sync(leases, 'a', 5, 3);
    leases.tick();
    expect(sync(leases, 'a', 4, 0).stale).toBe(true);
    expect(sync(leases, 'a', 5, 1, 1).stale).toBe(true);
    expect(held(leases)).toEqual({ a: 3 });
    expect(leases.find('a')!.want).toBe(3);
    expect(leases.find('a')!.renewedAt).toBe(1);
  });

  it('sync() forgets a holder that holds and wants nothing, and a late request of it stays stale', () => {
    const leases = new FleetLeases(emptyFleetState('api', 5));
    sync(leases, 'a', 1, 2);
    sync(leases, 'a', 2, 0);
    expect(leases.state.holders).toEqual([]);
    expect(sync(leases, 'a', 1, 2).stale).toBe(true);
    expect(leases.leased).toBe(0);
    // A newer request joins again.
    expect(sync(leases, 'a', 3, 1).stale).toBe(false);
    expect(held(leases)).toEqual({ a: 1 });
  });

  it('tick() drops a holder exactly FLEET_TICKS_PER_TTL ticks after its last renewal and regrants its leases', () => {
    const leases = new FleetLeases(emptyFleetState('api', 3));
    sync(leases, 'dead', 1, 3);
    sync(leases, 'live', 1, 3);
    expect(held(leases)).toEqual({ dead: 3, live: 0 });
    for (let t = 1; t < FLEET_TICKS_PER_TTL; t++) {
      expect(leases.tick()).toEqual([]);
      sync(leases, 'live', 1 + t, 3);
    }
    expect(leases.tick()).toEqual([{ id: 'dead', label: 'dead', held: 3 }]);
    expect(held(leases)).toEqual({ live: 3 });
    expect(leases.state.stats).toMatchObject({ expired: 3, expiredHolders: 1, granted: 6 });
  });

  describe('on the lease clock (tickMs given, workflow time passed in)', () => {
    const tickMs = 500;
    const at = (leases: FleetLeases, holderId: string, seq: number, want: number, now: number) =>
      leases.sync({ holderId, seq, want, hold: want, wait: false }, now);

    it('drops a holder at the first tick 7 ticks of time after its renewal, however few ticks fired', () => {
      const leases = new FleetLeases(emptyFleetState('api', 3), { tickMs });
      at(leases, 'dead', 1, 3, 10_000);
      at(leases, 'live', 1, 3, 10_000);
      // Slow workflow tasks: each tick comes 2 ticks of time after the one before.
      expect(leases.tick(11_000)).toEqual([]);
      at(leases, 'live', 2, 3, 11_000);
      expect(leases.tick(12_000)).toEqual([]);
      at(leases, 'live', 3, 3, 12_000);
      expect(leases.tick(13_000)).toEqual([]); // 3000 ms: not yet 7 x 500
      at(leases, 'live', 4, 3, 13_000);
      expect(leases.tick(13_499)).toEqual([]); // 3499 ms
      expect(leases.tick(13_500)).toEqual([{ id: 'dead', label: 'dead', held: 3 }]); // 3500 ms, 5 ticks
      expect(held(leases)).toEqual({ live: 3 });
      expect(leases.state.stats).toMatchObject({ expired: 3, expiredHolders: 1 });
    });

    it('never drops a holder sooner than 7 ticks of time after its renewal, however many ticks fired', () => {
      const leases = new FleetLeases(emptyFleetState('api', 3), { tickMs });
      at(leases, 'a', 1, 2, 0);
      for (let t = 1; t <= 34; t++) expect(leases.tick(t * 100)).toEqual([]); // 34 ticks in 3400 ms
      expect(leases.tick(3_500)).toEqual([{ id: 'a', label: 'a', held: 2 }]);
    });

    it('counts a gap of more than 4 ticks as one tick: holders that could not renew through an outage are kept', () => {
      const leases = new FleetLeases(emptyFleetState('api', 3), { tickMs });
      at(leases, 'a', 1, 2, 0);
      expect(leases.tick(500)).toEqual([]);
      expect(leases.tick(10_500)).toEqual([]); // 10 s away: the clock reads 1000
      expect(leases.state.clock).toEqual({ ms: 1_000, tickAt: 10_500 });
      expect(leases.tick(12_500)).toEqual([]); // a gap of exactly 4 ticks counts in full: 3000
      expect(leases.tick(12_999)).toEqual([]); // 3499
      expect(leases.tick(13_000)).toEqual([{ id: 'a', label: 'a', held: 2 }]); // 3500
    });

    it('a holder renewed between ticks is read on the clock at that time', () => {
      const leases = new FleetLeases(emptyFleetState('api', 3), { tickMs });
      leases.tick(0);
      at(leases, 'a', 1, 1, 400);
      expect(leases.find('a')!.renewedAtMs).toBe(400);
      expect(leases.tick(2_000)).toEqual([]);
      expect(leases.tick(3_800)).toEqual([]); // 3400 ms after the renewal
      expect(leases.tick(3_900)).toEqual([{ id: 'a', label: 'a', held: 1 }]);
    });

    it('a state carried from a run that counted ticks keeps counting ticks for holders not renewed since', () => {
      const old = new FleetLeases(emptyFleetState('api', 3));
      old.sync({ holderId: 'a', seq: 1, want: 1, hold: 1, wait: false });
      const leases = new FleetLeases(old.state, { tickMs });
      for (let t = 1; t < FLEET_TICKS_PER_TTL; t++) expect(leases.tick(t)).toEqual([]);
      expect(leases.tick(FLEET_TICKS_PER_TTL)).toEqual([{ id: 'a', label: 'a', held: 1 }]);
    });
  });

  it('setSlots() lower keeps leases held and grants nothing until enough came back', () => {
    const leases = new FleetLeases(emptyFleetState('api', 4));
    sync(leases, 'a', 1, 4);
    leases.setSlots(2);
    expect(leases.leased).toBe(4);
    expect(leases.capOf('a')).toBe(2);
    sync(leases, 'b', 1, 1);
    expect(held(leases)).toEqual({ a: 4, b: 0 });
    sync(leases, 'a', 2, 4, 3);
    expect(held(leases)).toEqual({ a: 3, b: 0 });
    sync(leases, 'a', 3, 4, 1);
    expect(held(leases)).toEqual({ a: 1, b: 1 });
    expect(leases.state.stats.slotChanges).toBe(1);
  });

  it('setSlots() higher grants waiting holders at once', () => {
    const leases = new FleetLeases(emptyFleetState('api', 2));
    sync(leases, 'a', 1, 4);
    leases.setSlots(4);
    expect(held(leases)).toEqual({ a: 4 });
  });

  it('sync() applies the slots a request carries', () => {
    const leases = new FleetLeases(emptyFleetState('api', 2));
    leases.sync({ holderId: 'a', seq: 1, want: 3, hold: 3, wait: false, slots: 3 });
    expect(leases.state.slots).toBe(3);
    expect(held(leases)).toEqual({ a: 3 });
  });

  it('viewKey() changes when the holder is granted, capped or the fleet is resized', () => {
    const leases = new FleetLeases(emptyFleetState('api', 2));
    sync(leases, 'a', 1, 2);
    const first = leases.viewKey('a');
    sync(leases, 'b', 1, 2);
    const capped = leases.viewKey('a');
    expect(capped).not.toBe(first);
    leases.setSlots(3);
    expect(leases.viewKey('a')).not.toBe(capped);
    expect(leases.viewKey('nobody')).toBe('gone|3');
  });
});

describe('validateFleetSyncRequest()', () => {
  const request = { holderId: 'h', seq: 1, want: 1, hold: 1, wait: false };
  it('names the field that is wrong', () => {
    expect(() => validateFleetSyncRequest({ ...request, want: -1 })).toThrow(
      'fleet sync request: expected `want` to be an integer >= 0, got -1',
    );
    expect(() => validateFleetSyncRequest({ ...request, extra: 1.5 })).toThrow(
      'fleet sync request: expected `extra` to be an integer >= 0, got 1.5',
    );
    expect(() => validateFleetSyncRequest({ ...request, extra: 2 })).not.toThrow();
    expect(() => validateFleetSyncRequest(request)).not.toThrow();
  });
});
