import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import { processWide } from '../process-state.js';
import type { UsedActivityPermit } from '../suppliers/slot-pairing.js';
import type { SupplierEvent } from '../suppliers/types.js';
import type { EvictionReason } from './eviction-failure.js';
import { activityBacklogReading, type BacklogProbe } from './task-queue-backlog.js';

/**
 * Runs a function in the async context of module load, outside any activity: the capacity timer must
 * not inherit the context of the activity that happened to start it (the Worker ties client calls made
 * in an activity's context to that activity's cancellation).
 */
const outsideActivities = AsyncLocalStorage.snapshot();

/** One eviction, as {@link onEviction} listeners receive it. */
export interface EvictionEvent {
  /** Why the waiting activity gave its slot back. */
  reason: EvictionReason;
  /** Name of the slotwise supplier whose slot was freed, or `undefined` when none was paired. */
  supplier: string | undefined;
  namespace: string;
  taskQueue: string;
  activityType: string;
  activityId: string;
  /** The workflow that scheduled the activity (`undefined` for an activity started without one). */
  workflowId: string | undefined;
  /** The attempt that was evicted (the retry is `attempt + 1`). */
  attempt: number;
  /** The waiter's `priority`. */
  priority: number;
  /** How long the attempt had waited, in milliseconds. */
  waitedMs: number;
  /** The `nextRetryDelay` the attempt asked for, in milliseconds. */
  retryDelayMs: number;
}

/** A function called with every {@link EvictionEvent}; it must not throw (errors are logged). */
export type EvictionListener = (event: EvictionEvent) => void;

/** What {@link evictionStats} returns. */
export interface EvictionStats {
  /** Activities inside {@link evictableWait} in this process right now. */
  waiting: number;
  /** Evictions since the process started, by reason. */
  evictions: Record<EvictionReason, number>;
}

/** Temporal's default priority key (the middle of the default range 1-5): tasks without one. */
export const DEFAULT_PRIORITY_KEY = 3;

/** The activity a waiter belongs to. */
export interface WaiterInfo {
  namespace: string;
  taskQueue: string;
  activityType: string;
  activityId: string;
  workflowId: string | undefined;
  attempt: number;
  isLocal: boolean;
  /**
   * The Temporal priority key the activity was dispatched with ({@link DEFAULT_PRIORITY_KEY} when it has
   * none): only backlog work with a lower key (dispatched before it) may evict it.
   */
  priorityKey: number;
}

/** An evictable wait, as {@link evictableWait} registers it. */
export interface EvictableWaiter {
  readonly priority: number;
  readonly capacityEviction: boolean;
  /** When the wait began, on the registry's clock. */
  readonly since: number;
  readonly info: WaiterInfo;
  readonly logger: Logger;
  /** The slot the activity holds, once paired. */
  slot(): UsedActivityPermit | undefined;
  /** The Worker's client, for backlog reads; `undefined` when the Worker has none. */
  client(): Client | undefined;
  /** Ends the wait as evicted and frees its slot; returns the retry delay in ms. Called once. */
  evict(reason: EvictionReason, waitedMs: number): number;
}

/** Options of an {@link EvictionRegistry} (tests use them; the process-wide one takes the defaults). */
export interface EvictionRegistryOptions {
  /** Monotonic clock in milliseconds. @default performance.now */
  now?: () => number;
  /** Milliseconds between two capacity checks while a capacity-evictable wait runs. @default 250 */
  checkIntervalMs?: number;
  /**
   * Milliseconds after a capacity eviction on a supplier before the next one there: the freed slot's
   * poller needs this long to take its task out of the backlog, or the same task would evict twice.
   * @default 300
   */
  settleMs?: number;
  /** Reads a task queue's activity backlog. @default {@link activityBacklogReading} */
  probe?: BacklogProbe;
  /**
   * How long the server's per-priority backlog counts may lag, in milliseconds: after a capacity
   * eviction, until the counts show one more wait or this long, the evicted wait (back in the backlog
   * at its own priority) is taken off the fresh total as a wait. A 1.29 dev server lagged up to 5 s.
   * @default 10_000
   */
  statsLagMs?: number;
}

/** Per-supplier state of the capacity check. */
interface SupplierState {
  /** Activity task queues seen in the supplier's reservations (a supplier may serve several). */
  readonly queues: Set<string>;
  readonly unsubscribe: () => void;
  probing: boolean;
  lastEvictionAt: number;
}

/** The inputs of one capacity decision on one supplier. */
export interface CapacityDemand {
  /** Reservations waiting on the supplier. */
  waiting: number;
  /** Activity tasks in the backlog of the queues the supplier serves, now. */
  total: number;
  /**
   * The same backlog per Temporal priority key, as the server last reported it (it may lag by
   * seconds); `undefined` when the server does not report it.
   */
  byPriority: ReadonlyMap<number, number> | undefined;
  /**
   * Waits evicted so recently that their calls, back in the backlog, may not be in `byPriority` yet.
   * @default 0
   */
  recentlyEvicted?: number;
}

/**
 * The waiters a capacity decision evicts. A wait gives its slot only to backlog work that outranks it:
 * dispatched with a lower Temporal priority key than the wait was, so that the poller of the freed slot
 * takes that work, not another wait (evicting a wait for a wait is an eviction storm: the evicted one
 * comes back and evicts another). Waits are taken lowest `priority` first, then longest waiting; each
 * takes one unit of outranking work, and no more than reservations wait on the supplier.
 *
 * The per-priority counts may be stale: tasks that outrank no candidate, and waits evicted so recently
 * that the counts may not show them back in the backlog yet, are taken off the fresh `total` (what is
 * left of it can outrank someone). That stops evictions as soon as the outranking work has been
 * dispatched, and keeps an eviction from feeding the next one. Without per-priority counts nothing is evicted: new work cannot
 * be told from waits.
 */
export function pickCapacityVictims(
  candidates: readonly EvictableWaiter[],
  demand: CapacityDemand,
): EvictableWaiter[] {
  const { byPriority } = demand;
  if (byPriority === undefined || candidates.length === 0) return [];
  const queue = [...candidates].sort((a, b) => a.priority - b.priority || a.since - b.since);
  // Tasks that outrank no candidate (a key no lower than every candidate's) come off the fresh total.
  const highestKey = Math.max(...candidates.map((c) => c.info.priorityKey));
  let outrankNobody = 0;
  for (const [key, count] of byPriority) if (key >= highestKey) outrankNobody += count;
  let budget = Math.min(demand.waiting, demand.total - outrankNobody - (demand.recentlyEvicted ?? 0));
  const units = new Map([...byPriority].filter(([, count]) => count > 0).sort(([a], [b]) => a - b));
  const victims: EvictableWaiter[] = [];
  for (const waiter of queue) {
    if (budget <= 0) break;
    const key = [...units.keys()].find((k) => k < waiter.info.priorityKey);
    if (key === undefined) continue;
    const left = units.get(key)! - 1;
    if (left > 0) units.set(key, left);
    else units.delete(key);
    victims.push(waiter);
    budget--;
  }
  return victims;
}

/**
 * The evictable waits of a process and the decisions that end them. TTL and shutdown evictions are
 * triggered by the waits themselves; capacity evictions by a check every `checkIntervalMs` that runs
 * while a capacity-evictable wait exists: for each supplier holding such waits, when reservations wait
 * on it, it reads the backlog of the activity task queues the supplier serves (in total and per
 * priority key) and evicts per {@link pickCapacityVictims}. Evictions are counted by reason and
 * reported to listeners.
 *
 * One registry serves the process ({@link evictionRegistry}); a separate instance is for tests.
 *
 * @example
 * ```ts
 * import { EvictionRegistry } from 'slotwise/internal/activities/eviction-registry.js';
 *
 * const registry = new EvictionRegistry({
 *   checkIntervalMs: 100,
 *   probe: async () => ({ total: 0, byPriority: new Map() }),
 * });
 * const stop = registry.onEviction((event) => console.log(event.reason, event.taskQueue));
 * registry.stats(); // => { waiting: 0, evictions: { ttl: 0, capacity: 0, shutdown: 0 } }
 * stop();
 * ```
 */
export class EvictionRegistry {
  readonly #waiters = new Set<EvictableWaiter>();
  readonly #listeners = new Set<EvictionListener>();
  readonly #counts: Record<EvictionReason, number> = { ttl: 0, capacity: 0, shutdown: 0 };
  readonly #suppliers = new Map<string, SupplierState>();
  readonly #failingQueues = new Set<string>();
  readonly #noPriorityQueues = new Set<string>();
  readonly #now: () => number;
  readonly #checkIntervalMs: number;
  readonly #settleMs: number;
  readonly #statsLagMs: number;
  /**
   * Capacity evictions per supplier not yet seen in the server's counts: when, and how many waits the
   * counts showed then (dropped once they show more, or after `statsLagMs`).
   */
  readonly #recentEvictions = new Map<string, Array<{ at: number; waitsCounted: number }>>();
  /** Reads a task queue's activity backlog; replaceable in tests. */
  probe: BacklogProbe;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: EvictionRegistryOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#checkIntervalMs = options.checkIntervalMs ?? 250;
    this.#settleMs = options.settleMs ?? 300;
    this.#statsLagMs = options.statsLagMs ?? 10_000;
    this.probe =
      options.probe ??
      ((client, namespace, taskQueue) => activityBacklogReading(client, namespace, taskQueue));
  }

  /** The registry's clock, in milliseconds. */
  now(): number {
    return this.#now();
  }

  /** Registers a wait; returns the function that unregisters it (when it ends other than by eviction). */
  add(waiter: EvictableWaiter): () => void {
    this.#waiters.add(waiter);
    this.#updateTimer();
    return () => {
      if (this.#waiters.delete(waiter)) this.#updateTimer();
    };
  }

  /** Evicts one registered wait; `false` when it is no longer registered. */
  evict(waiter: EvictableWaiter, reason: EvictionReason): boolean {
    if (!this.#waiters.delete(waiter)) return false;
    const now = this.#now();
    const waitedMs = now - waiter.since;
    const supplier = waiter.slot()?.permit.supplier;
    const retryDelayMs = waiter.evict(reason, waitedMs);
    this.#counts[reason]++;
    const { info } = waiter;
    this.#updateTimer();
    const event: EvictionEvent = {
      reason,
      supplier,
      namespace: info.namespace,
      taskQueue: info.taskQueue,
      activityType: info.activityType,
      activityId: info.activityId,
      workflowId: info.workflowId,
      attempt: info.attempt,
      priority: waiter.priority,
      waitedMs,
      retryDelayMs,
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        waiter.logger.warn('slotwise: an eviction listener threw', { error });
      }
    }
    return true;
  }

  /** Evicts every registered wait (capacity-evictable or not); returns how many. */
  evictAll(reason: EvictionReason): number {
    let evicted = 0;
    for (const waiter of [...this.#waiters]) if (this.evict(waiter, reason)) evicted++;
    return evicted;
  }

  /** Calls `listener` on every eviction; returns the function that stops it. */
  onEviction(listener: EvictionListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Registered waits and eviction counts. */
  stats(): EvictionStats {
    return { waiting: this.#waiters.size, evictions: { ...this.#counts } };
  }

  /** One capacity check over every supplier holding capacity-evictable waits (the timer calls it). */
  async check(): Promise<void> {
    const groups = new Map<string, { slot: UsedActivityPermit; candidates: EvictableWaiter[] }>();
    for (const waiter of this.#waiters) {
      const slot = this.#heldSlot(waiter);
      if (slot === undefined) continue;
      const group = groups.get(slot.permit.supplier);
      if (group) group.candidates.push(waiter);
      else groups.set(slot.permit.supplier, { slot, candidates: [waiter] });
    }
    for (const [name, state] of this.#suppliers) {
      if (!groups.has(name)) {
        state.unsubscribe();
        this.#suppliers.delete(name);
      }
    }
    await Promise.all(
      [...groups].map(([name, group]) => this.#checkSupplier(this.#stateOf(name, group.slot), group.slot)),
    );
  }

  /** The slot of a capacity-evictable waiter that still holds one. */
  #heldSlot(waiter: EvictableWaiter): UsedActivityPermit | undefined {
    if (!waiter.capacityEviction || !this.#waiters.has(waiter)) return undefined;
    const slot = waiter.slot();
    return slot?.isHeld() ? slot : undefined;
  }

  #stateOf(name: string, slot: UsedActivityPermit): SupplierState {
    let state = this.#suppliers.get(name);
    if (state === undefined) {
      const queues = new Set<string>();
      const unsubscribe = slot.subscribe((event: SupplierEvent) => {
        if (event.type === 'reservation' && event.slotType === 'activity') queues.add(event.taskQueue);
      });
      state = { queues, unsubscribe, probing: false, lastEvictionAt: -Infinity };
      this.#suppliers.set(name, state);
    }
    return state;
  }

  async #checkSupplier(state: SupplierState, slot: UsedActivityPermit): Promise<void> {
    const started = this.#now();
    if (state.probing || started < state.lastEvictionAt + this.#settleMs || slot.waiting() === 0) return;
    const candidates = () =>
      [...this.#waiters].filter((w) => this.#heldSlot(w)?.permit.supplier === slot.permit.supplier);
    state.probing = true;
    try {
      const before = candidates();
      let demand: Omit<CapacityDemand, 'waiting'>;
      if (before.every((w) => w.info.isLocal)) {
        // Core reserves local-activity slots only for scheduled local activities: each is real work,
        // and it outranks every wait (key 0).
        demand = { total: slot.waiting(), byPriority: new Map([[0, slot.waiting()]]) };
      } else {
        const read = await this.#readBacklog(state, before);
        if (read === undefined) return;
        demand = read;
      }
      const supplier = slot.permit.supplier;
      const now = this.#now();
      const current = candidates();
      // Waits in the backlog as the server counts them (a key that outranks none of the candidates).
      const highestKey = Math.max(...current.map((c) => c.info.priorityKey));
      let waitsCounted = 0;
      for (const [key, count] of demand.byPriority ?? []) if (key >= highestKey) waitsCounted += count;
      // An eviction is seen in the counts once they show more waits than when it happened.
      const recent = (this.#recentEvictions.get(supplier) ?? []).filter(
        (r) => r.at > now - this.#statsLagMs && waitsCounted <= r.waitsCounted,
      );
      const victims = pickCapacityVictims(current, {
        ...demand,
        waiting: slot.waiting(),
        recentlyEvicted: recent.length,
      });
      for (const victim of victims) {
        this.evict(victim, 'capacity');
        if (!victim.info.isLocal) recent.push({ at: now, waitsCounted });
      }
      if (recent.length > 0) this.#recentEvictions.set(supplier, recent);
      else this.#recentEvictions.delete(supplier);
      if (victims.length > 0) state.lastEvictionAt = this.#now();
    } finally {
      state.probing = false;
    }
  }

  /** Backlog of the queues a supplier serves, in total and per priority key. */
  async #readBacklog(
    state: SupplierState,
    waiters: EvictableWaiter[],
  ): Promise<Omit<CapacityDemand, 'waiting'> | undefined> {
    const remote = waiters.filter((w) => !w.info.isLocal);
    const client = remote.map((w) => w.client()).find((c) => c !== undefined);
    if (client === undefined) return undefined;
    const { namespace } = remote[0]!.info;
    const queues = new Set([...remote.map((w) => w.info.taskQueue), ...state.queues]);
    const logger = remote[0]!.logger;
    const readings = await Promise.all(
      [...queues].map(async (taskQueue) => {
        const key = `${namespace}\u0000${taskQueue}`;
        try {
          const reading = await this.probe(client, namespace, taskQueue);
          this.#failingQueues.delete(key);
          if (reading.byPriority === undefined && !this.#noPriorityQueues.has(key)) {
            this.#noPriorityQueues.add(key);
            logger.warn(
              `slotwise: the server reports no backlog per priority for task queue "${taskQueue}"; capacity eviction ` +
                'cannot tell new work from other waits there and evicts nothing (TTL and shutdown still evict)',
            );
          }
          return reading;
        } catch (error) {
          if (!this.#failingQueues.has(key)) {
            this.#failingQueues.add(key);
            logger.warn(
              `slotwise: cannot read the backlog of task queue "${taskQueue}"; capacity eviction waits until it can`,
              { error },
            );
          }
          return { total: 0, byPriority: new Map<number, number>() };
        }
      }),
    );
    let total = 0;
    let byPriority: Map<number, number> | undefined = new Map();
    for (const reading of readings) {
      total += reading.total;
      if (reading.byPriority === undefined || byPriority === undefined) byPriority = undefined;
      else
        for (const [key, count] of reading.byPriority)
          byPriority.set(key, (byPriority.get(key) ?? 0) + count);
    }
    return { total, byPriority };
  }

  #updateTimer(): void {
    const needed = [...this.#waiters].some((w) => w.capacityEviction);
    if (needed && this.#timer === undefined) {
      this.#timer = outsideActivities(() =>
        setInterval(() => {
          this.check().catch((error: unknown) => {
            const [first] = this.#waiters;
            first?.logger.warn('slotwise: the capacity eviction check failed', { error });
          });
        }, this.#checkIntervalMs),
      );
      this.#timer.unref?.();
    } else if (!needed && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** The process-wide registry {@link evictableWait} uses (one for every copy of slotwise in the process). */
export const evictionRegistry: EvictionRegistry = processWide(
  'evictionRegistry',
  () => new EvictionRegistry(),
);

/**
 * Calls `listener` on every eviction of an {@link evictableWait} in this process (for metrics and
 * logs); returns the function that stops it. The listener runs synchronously and must not throw.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from 'prom-client';
 * import { onEviction } from 'slotwise/activities';
 *
 * const registry = new Registry();
 * const evictions = new Counter({
 *   name: 'slotwise_evictions_total',
 *   help: 'Evictable waits that gave their slot back, by reason.',
 *   labelNames: ['reason', 'supplier'],
 *   registers: [registry],
 * });
 * const stop = onEviction((event) => evictions.inc({ reason: event.reason, supplier: event.supplier ?? '' }));
 * // later: stop();
 * ```
 */
export function onEviction(listener: EvictionListener): () => void {
  return evictionRegistry.onEviction(listener);
}

/**
 * Activities waiting in an {@link evictableWait} in this process now, and evictions so far by reason.
 *
 * @example
 * ```ts
 * import { evictionStats } from 'slotwise/activities';
 *
 * evictionStats(); // => { waiting: 2, evictions: { ttl: 0, capacity: 1, shutdown: 0 } }
 * ```
 */
export function evictionStats(): EvictionStats {
  return evictionRegistry.stats();
}

/**
 * Evicts every activity waiting in an {@link evictableWait} in this process now, with reason
 * `shutdown`, and returns how many. Call it when shutdown begins, so waiting activities free their
 * slots and get retried (on another Worker) at once instead of after `shutdownGraceTime`: the Worker
 * cancels activities only once that grace time is over, and `evictableWait` turns that cancellation
 * into a shutdown eviction too.
 *
 * @example
 * ```ts
 * import type { Worker } from '@temporalio/worker';
 * import { evictAllWaiting } from 'slotwise/activities';
 *
 * export function stop(worker: Worker): void {
 *   worker.shutdown();
 *   evictAllWaiting(); // => 3: three waiting activities will resume elsewhere
 * }
 * ```
 */
export function evictAllWaiting(): number {
  return evictionRegistry.evictAll('shutdown');
}
