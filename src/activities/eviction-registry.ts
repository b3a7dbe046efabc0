import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import { processWide } from '../process-state.js';
import type { UsedActivityPermit } from '../suppliers/slot-pairing.js';
import type { SupplierEvent } from '../suppliers/types.js';
import type { EvictionReason } from './eviction-failure.js';
import { activityBacklog, type BacklogProbe } from './task-queue-backlog.js';

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

/** The activity a waiter belongs to. */
export interface WaiterInfo {
  namespace: string;
  taskQueue: string;
  activityType: string;
  activityId: string;
  workflowId: string | undefined;
  attempt: number;
  isLocal: boolean;
  /** Names the activity across its attempts (namespace, workflow run, activity id). */
  resumeKey: string;
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
  /** Reads a task queue's activity backlog. @default {@link activityBacklog} */
  probe?: BacklogProbe;
  /** How long an evicted activity is expected back after its retry delay, in milliseconds. @default 600_000 */
  resumeExpiryMs?: number;
}

/** How long after its retry delay an evicted activity may take to show up in the backlog, in ms. */
const RESUME_GRACE_MS = 5000;

/** An evicted activity whose retry has not started here yet. */
interface PendingResume {
  namespace: string;
  taskQueue: string;
  priority: number;
  dueAt: number;
  expiresAt: number;
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
  /** Activity tasks in the backlog of the queues the supplier serves. */
  backlog: number;
  /** Priorities of evicted waits whose retries are among those backlog tasks. */
  resumePriorities: number[];
}

/**
 * The waiters a capacity decision evicts: one per waiting reservation that has a backlog task to run,
 * lowest `priority` first, then longest waiting. A backlog task that is the retry of an evicted wait is
 * not new work: it displaces only a waiter of strictly lower priority, so two waits do not evict each
 * other in turn.
 */
export function pickCapacityVictims(
  candidates: readonly EvictableWaiter[],
  demand: CapacityDemand,
): EvictableWaiter[] {
  const queue = [...candidates].sort((a, b) => a.priority - b.priority || a.since - b.since);
  const resumes = demand.resumePriorities.length;
  let budget = Math.min(demand.waiting, demand.backlog);
  const victims: EvictableWaiter[] = [];
  for (let n = Math.max(0, demand.backlog - resumes); n > 0 && budget > 0 && queue.length > 0; n--) {
    victims.push(queue.shift()!);
    budget--;
  }
  for (const priority of [...demand.resumePriorities].sort((a, b) => b - a)) {
    if (budget === 0 || queue.length === 0 || queue[0]!.priority >= priority) break;
    victims.push(queue.shift()!);
    budget--;
  }
  return victims;
}

/**
 * The evictable waits of a process and the decisions that end them. TTL and shutdown evictions are
 * triggered by the waits themselves; capacity evictions by a check every `checkIntervalMs` that runs
 * while a capacity-evictable wait exists: for each supplier holding such waits, when reservations wait
 * on it, it reads the backlog of the activity task queues the supplier serves and evicts per
 * {@link pickCapacityVictims}. Evictions are counted by reason and reported to listeners.
 *
 * One registry serves the process ({@link evictionRegistry}); a separate instance is for tests.
 *
 * @example
 * ```ts
 * import { EvictionRegistry } from 'slotwise/internal/activities/eviction-registry.js';
 *
 * const registry = new EvictionRegistry({ checkIntervalMs: 100, probe: async () => 0 });
 * const stop = registry.onEviction((event) => console.log(event.reason, event.taskQueue));
 * registry.stats(); // => { waiting: 0, evictions: { ttl: 0, capacity: 0, shutdown: 0 } }
 * stop();
 * ```
 */
export class EvictionRegistry {
  readonly #waiters = new Set<EvictableWaiter>();
  readonly #listeners = new Set<EvictionListener>();
  readonly #counts: Record<EvictionReason, number> = { ttl: 0, capacity: 0, shutdown: 0 };
  readonly #resumes = new Map<string, PendingResume>();
  readonly #suppliers = new Map<string, SupplierState>();
  readonly #failingQueues = new Set<string>();
  readonly #now: () => number;
  readonly #checkIntervalMs: number;
  readonly #settleMs: number;
  readonly #resumeExpiryMs: number;
  /** Reads a task queue's activity backlog; replaceable in tests. */
  probe: BacklogProbe;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: EvictionRegistryOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#checkIntervalMs = options.checkIntervalMs ?? 250;
    this.#settleMs = options.settleMs ?? 300;
    this.#resumeExpiryMs = options.resumeExpiryMs ?? 600_000;
    this.probe =
      options.probe ?? ((client, namespace, taskQueue) => activityBacklog(client, namespace, taskQueue));
  }

  /** The registry's clock, in milliseconds. */
  now(): number {
    return this.#now();
  }

  /** Registers a wait; returns the function that unregisters it (when it ends other than by eviction). */
  add(waiter: EvictableWaiter): () => void {
    this.#resumes.delete(waiter.info.resumeKey);
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
    if (!info.isLocal) {
      this.#resumes.set(info.resumeKey, {
        namespace: info.namespace,
        taskQueue: info.taskQueue,
        priority: waiter.priority,
        dueAt: now + retryDelayMs,
        expiresAt: now + retryDelayMs + this.#resumeExpiryMs,
      });
    }
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

  /** Evicted activities whose retry has not started in this process yet (for tests and diagnostics). */
  pendingResumes(): number {
    return this.#resumes.size;
  }

  /** One capacity check over every supplier holding capacity-evictable waits (the timer calls it). */
  async check(): Promise<void> {
    const now = this.#now();
    for (const [key, resume] of this.#resumes) if (resume.expiresAt <= now) this.#resumes.delete(key);
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
        // Core reserves local-activity slots only for scheduled local activities: each is real work.
        demand = { backlog: slot.waiting(), resumePriorities: [] };
      } else {
        const read = await this.#readBacklog(state, before, started);
        if (read === undefined) return;
        demand = read;
      }
      const victims = pickCapacityVictims(candidates(), { ...demand, waiting: slot.waiting() });
      for (const victim of victims) this.evict(victim, 'capacity');
      if (victims.length > 0) state.lastEvictionAt = this.#now();
    } finally {
      state.probing = false;
    }
  }

  /** Backlog of the queues a supplier serves, and the evicted waits among it. */
  async #readBacklog(
    state: SupplierState,
    waiters: EvictableWaiter[],
    started: number,
  ): Promise<Omit<CapacityDemand, 'waiting'> | undefined> {
    const remote = waiters.filter((w) => !w.info.isLocal);
    const client = remote.map((w) => w.client()).find((c) => c !== undefined);
    if (client === undefined) return undefined;
    const { namespace } = remote[0]!.info;
    const queues = new Set([...remote.map((w) => w.info.taskQueue), ...state.queues]);
    const logger = remote[0]!.logger;
    const counts = await Promise.all(
      [...queues].map(async (taskQueue) => {
        const key = `${namespace}\u0000${taskQueue}`;
        try {
          const backlog = await this.probe(client, namespace, taskQueue);
          this.#failingQueues.delete(key);
          return { taskQueue, backlog };
        } catch (error) {
          if (!this.#failingQueues.has(key)) {
            this.#failingQueues.add(key);
            logger.warn(
              `slotwise: cannot read the backlog of task queue "${taskQueue}"; capacity eviction waits until it can`,
              { error },
            );
          }
          return { taskQueue, backlog: 0 };
        }
      }),
    );
    let backlog = 0;
    const resumePriorities: number[] = [];
    for (const { taskQueue, backlog: count } of counts) {
      backlog += count;
      const due: Array<[string, PendingResume]> = [];
      for (const entry of this.#resumes) {
        const [, r] = entry;
        if (r.namespace === namespace && r.taskQueue === taskQueue && r.dueAt <= started) due.push(entry);
      }
      if (count === 0) {
        // None of them waits in the backlog: they run, ran elsewhere, or were given up. (A retry reaches
        // the backlog a moment after it is due: give it RESUME_GRACE_MS before concluding.)
        for (const [key, r] of due) if (r.dueAt + RESUME_GRACE_MS <= started) this.#resumes.delete(key);
        continue;
      }
      // Unknown which of them are in the backlog: assume the lowest priorities (fewer evictions).
      due.sort(([, a], [, b]) => a.priority - b.priority);
      for (const [, r] of due.slice(0, count)) resumePriorities.push(r.priority);
    }
    return { backlog, resumePriorities };
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
