/**
 * The process-wide singletons of slotwise, by key. Each is created, typed and used by one owner module
 * (the only module that passes its key to {@link processWide}); this list is the one place that shows
 * them all:
 * - `slotPairing` (suppliers/slot-pairing.ts): pairs running activities with the permits core marked
 *   used for them.
 * - `evictionRegistry` (activities/eviction-registry.ts): the evictable waits of the process and their
 *   eviction counts.
 * - `activityClaims` (activities/slot-interceptor.ts): pairing claims of running activities, by
 *   activity context (set by the activity interceptor).
 * - `resumeStates` (activities/resume-state.ts): what `proxyEvictableActivities()` told each running
 *   evictable call about its evicted predecessors, by activity context.
 * - `permitIds` (suppliers/permit-ledger.ts): the next permit id; permit ids are unique in the process.
 * - `grantWatch` (suppliers/permit-ledger.ts): which ledgers have reservations waiting and which hold
 *   granted permits whose reservation signals nothing listens on yet.
 * - `suppliersPerKind` (suppliers/ledger-slot-supplier.ts): suppliers created so far per kind, for
 *   default names (`fixed-1`, `fixed-2`, ...).
 * - `concurrencySinks` (activities/concurrency-activities.ts): the task queues whose Workers have the
 *   concurrency release sink, and the client each one's activities use.
 * - `concurrencyReleases` (activities/concurrency-activities.ts): releases on their way to their
 *   concurrency controllers, for a Worker's shutdown to wait for.
 *
 * Why they are process-wide: the published package has an ES module build and a CommonJS build, each
 * with several entry points (`slotwise`, `slotwise/activities`, ...). A program may load both builds
 * (its own code with `import`, a dependency with `require`), and then each build has its own module
 * instances. A supplier from one (`FixedSlotSupplier` from `slotwise`) and the activity helpers from
 * another (`releaseSlot()` from `slotwise/activities`) must still meet in one pairing registry, or
 * `currentSlot()` finds nothing. So these objects live on `globalThis` under one `Symbol.for` key,
 * which every copy of the code resolves to the same symbol.
 *
 * This module imports nothing of slotwise: the owners know the types, so the lowest layer does not
 * depend on the layers above it.
 */
export type ProcessSingletonKey =
  | 'slotPairing'
  | 'evictionRegistry'
  | 'activityClaims'
  | 'resumeStates'
  | 'permitIds'
  | 'grantWatch'
  | 'suppliersPerKind'
  | 'concurrencySinks'
  | 'concurrencyReleases';

/**
 * The layout version of the state below. Bump it whenever a singleton's type or meaning changes
 * incompatibly, so that two different slotwise versions in one process never share objects whose
 * methods they disagree on.
 */
export const PROCESS_STATE_VERSION = 1;

/** The `globalThis` key of the state; `Symbol.for` makes it the same symbol in every copy of slotwise. */
export const PROCESS_STATE_KEY: unique symbol = Symbol.for('slotwise.process-state');

/** What is stored under {@link PROCESS_STATE_KEY}. */
export interface ProcessState {
  readonly version: number;
  readonly singletons: Partial<Record<ProcessSingletonKey, unknown>>;
}

let ownState: ProcessState | undefined;

/**
 * The state stored on `holder` (`globalThis` in production), created there when absent. When a copy
 * with another {@link PROCESS_STATE_VERSION} put its state there first, this copy gets a state of its
 * own and `warn` is told why.
 */
export function claimProcessState(
  holder: object,
  warn: (message: string) => void,
  version: number = PROCESS_STATE_VERSION,
): ProcessState {
  const found = (holder as { [PROCESS_STATE_KEY]?: ProcessState })[PROCESS_STATE_KEY];
  if (found?.version === version) return found;
  const created: ProcessState = { version, singletons: {} };
  if (found === undefined) {
    Object.defineProperty(holder, PROCESS_STATE_KEY, { value: created, enumerable: false });
  } else {
    // Another slotwise version owns the shared state: sharing it could break both copies.
    warn(
      `Two incompatible copies of slotwise are loaded in this process (process state version ${String(found.version)} ` +
        `and ${version}). Each keeps its own state, so currentSlot(), releaseSlot() and evictableWait() work only ` +
        'with suppliers from the same copy. Install a single version of slotwise (`npm ls slotwise` shows where each comes from).',
    );
  }
  return created;
}

function processState(): ProcessState {
  ownState ??= claimProcessState(globalThis, (message) =>
    process.emitWarning(message, { code: 'SLOTWISE_DUPLICATE_STATE' }),
  );
  return ownState;
}

/**
 * The process-wide instance of one singleton, created by `create` the first time any copy of
 * slotwise asks for it. Only the key's owner module (see {@link ProcessSingletonKey}) calls this with
 * that key, so the type it gives is the one the owner stored.
 *
 * @example
 * ```ts
 * import { processWide } from 'slotwise/internal/process-state.js';
 * const ids = processWide('permitIds', () => ({ next: 1 }));
 * ids.next++; // => 1 the first time in a process, whichever slotwise build runs it
 * ```
 */
export function processWide<T>(key: ProcessSingletonKey, create: () => T): T {
  const { singletons } = processState();
  const found = singletons[key];
  if (found !== undefined) return found as T;
  const created = create();
  singletons[key] = created;
  return created;
}
