import type { Context } from '@temporalio/activity';
import type { EvictionRegistry } from './activities/eviction-registry.js';
import type { ResumeState } from './activities/resume-state.js';
import type { SlotClaim, SlotPairing } from './suppliers/slot-pairing.js';

/**
 * Every piece of slotwise state that must exist once per process, whichever copy of slotwise's code
 * creates it first.
 *
 * Why: the published package has an ES module build and a CommonJS build, each with several entry
 * points (`slotwise`, `slotwise/activities`, ...). A program may load both builds (its own code with
 * `import`, a dependency with `require`), and then each build has its own module instances. A
 * supplier from one (`FixedSlotSupplier` from `slotwise`) and the activity helpers from another
 * (`releaseSlot()` from `slotwise/activities`) must still meet in one pairing registry, or
 * `currentSlot()` finds nothing. So these objects live on `globalThis` under one `Symbol.for` key,
 * which every copy of the code resolves to the same symbol.
 */
export interface ProcessSingletons {
  /** Pairs running activities with the permits core marked used for them. */
  slotPairing: SlotPairing;
  /** The evictable waits of the process and their eviction counts. */
  evictionRegistry: EvictionRegistry;
  /** Pairing claims of running activities, by activity context (set by the activity interceptor). */
  activityClaims: WeakMap<Context, SlotClaim>;
  /**
   * What `proxyEvictableActivities()` told each running evictable call about its evicted predecessors,
   * by activity context (set by the activity interceptor, read by `evictableWait()`).
   */
  resumeStates: WeakMap<Context, ResumeState>;
  /** The next permit id: permit ids are unique in the process. */
  permitIds: { next: number };
  /** Suppliers created so far per kind, for default names (`fixed-1`, `fixed-2`, ...). */
  suppliersPerKind: Map<string, number>;
}

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
  readonly singletons: Partial<ProcessSingletons>;
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
 * slotwise asks for it.
 *
 * @example
 * ```ts
 * import { processWide } from 'slotwise/internal/process-state.js';
 * const ids = processWide('permitIds', () => ({ next: 1 }));
 * ids.next++; // => 1 the first time in a process, whichever slotwise build runs it
 * ```
 */
export function processWide<K extends keyof ProcessSingletons>(
  key: K,
  create: () => ProcessSingletons[K],
): ProcessSingletons[K] {
  const { singletons } = processState();
  const found = singletons[key];
  if (found !== undefined) return found as ProcessSingletons[K];
  const created = create();
  singletons[key] = created;
  return created;
}
