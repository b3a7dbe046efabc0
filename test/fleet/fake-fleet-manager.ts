import type { FleetTransport } from '../../src/fleet/fleet-transport.js';
import { validateFleetSyncRequest } from '../../src/workflows/fleet/definitions.js';
import { emptyFleetState, FleetLeases } from '../../src/workflows/fleet/lease-state.js';
import {
  FLEET_TICKS_PER_TTL,
  FLEET_WAIT_TICKS,
  type FleetStateSnapshot,
  type FleetSyncRequest,
  type FleetView,
} from '../../src/workflows/fleet/types.js';

interface Waiter {
  ready(): boolean;
  answer(): void;
}

/**
 * An in-memory stand-in for the lease manager workflow, for unit tests of the process side: the
 * same FleetLeases state, the same long-poll rule (answer when the holder's view changes, a newer
 * request of it arrives, or 2 ticks passed), ticks advanced by the test. Not a mock of Temporal:
 * integration tests run the real workflow on a dev server.
 */
export class FakeFleetManager {
  readonly leases: FleetLeases;
  readonly requests: FleetSyncRequest[] = [];
  readonly slotRequests: number[] = [];
  readonly validForMs: number;
  /** While set, every request is rejected with this error (an unreachable manager). */
  failWith: Error | undefined;
  /** Most long polls held at once (the workflow's `maxWaitingSyncs`). */
  maxWaiting = 6;
  #waiters: Waiter[] = [];

  constructor(slots: number, leaseTtlMs = 8_000) {
    this.leases = new FleetLeases(emptyFleetState('fleet', slots));
    this.validForMs = Math.floor(((FLEET_TICKS_PER_TTL - 1) * leaseTtlMs) / FLEET_TICKS_PER_TTL);
  }

  /**
   * A transport to this manager (one per supplier, or shared: holders are told apart by id). While
   * `cut()` says so, requests never reach the manager and never answer (a dead process, a lost link).
   */
  transport(cut: () => boolean = () => false): FleetTransport {
    return {
      sync: (request, signal) =>
        cut()
          ? new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
            )
          : this.#sync(request, signal),
      setSlots: async (slots) => {
        this.slotRequests.push(slots);
        if (this.failWith) throw this.failWith;
        this.leases.setSlots(slots);
        this.#recheck();
        return this.snapshot();
      },
    };
  }

  /** Requests received from holder `id` (or all). */
  requestsOf(id?: string): FleetSyncRequest[] {
    return this.requests.filter((r) => id === undefined || r.holderId === id);
  }

  /** Fires `count` manager ticks. */
  tick(count = 1): void {
    for (let i = 0; i < count; i++) {
      this.leases.tick();
      this.#recheck();
    }
  }

  held(id: string): number {
    return this.leases.find(id)?.held ?? 0;
  }

  snapshot(): FleetStateSnapshot {
    return {
      fleet: 'fleet',
      slots: this.leases.state.slots,
      leased: this.leases.leased,
      waiting: this.leases.waiting,
      contended: this.leases.contended,
      tick: this.leases.state.tick,
      tickMs: 1000,
      generation: 0,
      settings: { leaseTtlMs: 8000, maxHistoryEvents: 2000, idleTimeoutMs: 600_000, maxWaitingSyncs: 6 },
      holders: this.leases.holderSnapshots(),
      stats: { ...this.leases.state.stats },
    };
  }

  #view(request: FleetSyncRequest, pollAfterMs: number | null = null): FleetView {
    const holder = this.leases.find(request.holderId);
    return {
      fleet: 'fleet',
      holderId: request.holderId,
      seq: request.seq,
      superseded: this.leases.seqOf(request.holderId) > request.seq,
      held: holder?.held ?? 0,
      cap: holder ? this.leases.capOf(holder.id) : null,
      slots: this.leases.state.slots,
      leased: this.leases.leased,
      waiting: this.leases.waiting,
      holders: this.leases.state.holders.length,
      validForMs: this.validForMs,
      generation: 0,
      pollAfterMs,
    };
  }

  #sync(request: FleetSyncRequest, signal: AbortSignal): Promise<FleetView> {
    this.requests.push(request);
    if (this.failWith) return Promise.reject(this.failWith);
    validateFleetSyncRequest(request);
    const { stale } = this.leases.sync(request);
    this.#recheck();
    const { holderId, seq } = request;
    if (stale || !request.wait || !this.leases.matches(holderId, request.known)) {
      return Promise.resolve(this.#view(request));
    }
    if (this.#waiters.length >= this.maxWaiting) return Promise.resolve(this.#view(request, 1_000));
    const key = this.leases.viewKey(holderId);
    const until = this.leases.state.tick + FLEET_WAIT_TICKS;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        ready: () =>
          this.leases.state.tick >= until ||
          this.leases.seqOf(holderId) !== seq ||
          this.leases.viewKey(holderId) !== key,
        answer: () => resolve(this.#view(request)),
      };
      this.#waiters.push(waiter);
      signal.addEventListener(
        'abort',
        () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  #recheck(): void {
    const ready = this.#waiters.filter((w) => w.ready());
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const waiter of ready) waiter.answer();
  }
}
