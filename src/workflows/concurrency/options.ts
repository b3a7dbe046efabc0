import { describeValue } from '../../describe-value.js';
import { ConcurrencyOptionsError } from './errors.js';
import { type ConcurrencyControllerSettings, type ConcurrencyPolicy, ConcurrencyStrategy } from './types.js';

/**
 * Options of {@link withConcurrency}.
 *
 * @example
 * ```ts
 * import type { WithConcurrencyOptions } from 'slotwise/workflows';
 * const options: WithConcurrencyOptions = {
 *   group: 'reports',
 *   key: 'tenant-a',
 *   maxRuns: 2,
 *   groupMaxRuns: 10,
 *   controller: { taskQueue: 'concurrency-control', probeIntervalMs: 30_000 },
 * };
 * ```
 */
export interface WithConcurrencyOptions {
  /**
   * The concurrency group: one controller workflow (id `slotwise-concurrency:<group>`) grants the
   * runs of all keys of a group. A non-empty string of at most 200 characters.
   */
  group: string;
  /** The concurrency key within the group (a user, a tenant, a resource). A string of at most 400 characters. */
  key: string;
  /** Most runs of one key that run at once. An integer >= 1. */
  maxRuns: number;
  /**
   * What to do with a new run for a key at its limit; see {@link ConcurrencyStrategy}.
   * @default 'GROUP_ROUND_ROBIN'
   */
  strategy?: ConcurrencyStrategy;
  /**
   * Most runs of the whole group that run at once, over all keys. An integer >= 1.
   * @default no group-wide limit
   */
  groupMaxRuns?: number;
  /** Where and how the group's controller workflow runs. */
  controller?: {
    /**
     * Task queue of the controller workflow when a run has to start it. Its Workers must register
     * {@link concurrencyControllerWorkflow} (and should register `concurrencyActivities`).
     * @default the task queue of the calling workflow
     */
    taskQueue?: string;
    /**
     * How many controller workflows share the group's keys (each key always goes to the same one, by a
     * hash of the key), so that a group with many keys is not limited by what one workflow can grant per
     * second. Only without `groupMaxRuns` (a group-wide limit needs one controller). Every run of a group
     * must pass the same value. An integer in [1, 64].
     * @default 1
     */
    shards?: number;
  } & Partial<ConcurrencyControllerSettings>;
}

/**
 * Controller settings used where a request does not say otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONTROLLER_SETTINGS } from 'slotwise/internal/workflows/concurrency/options.js';
 * DEFAULT_CONTROLLER_SETTINGS;
 * // => { probeIntervalMs: 10_000, idleTimeoutMs: 60_000, maxHistoryEvents: 2_000, maxStateBytes: 1_048_576, activities: true }
 * ```
 */
export const DEFAULT_CONTROLLER_SETTINGS: Readonly<ConcurrencyControllerSettings> = Object.freeze({
  probeIntervalMs: 10_000,
  idleTimeoutMs: 60_000,
  maxHistoryEvents: 2_000,
  maxStateBytes: 1_048_576,
  activities: true,
});

/**
 * {@link WithConcurrencyOptions} checked and split into what the controller needs.
 *
 * @example
 * ```ts
 * import type { ResolvedConcurrencyOptions } from 'slotwise/internal/workflows/concurrency/options.js';
 * const resolved: ResolvedConcurrencyOptions = {
 *   group: 'g',
 *   key: 'k',
 *   policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 },
 *   settings: {},
 *   controllerTaskQueue: undefined,
 *   shards: 1,
 *   activities: true,
 * };
 * ```
 */
export interface ResolvedConcurrencyOptions {
  /** The concurrency group. */
  group: string;
  /** The concurrency key. */
  key: string;
  /** Limits and strategy, sent with the request. */
  policy: ConcurrencyPolicy;
  /** Controller settings the caller set, sent with the request. */
  settings: Partial<ConcurrencyControllerSettings>;
  /** Task queue for a controller this run starts; `undefined` for the caller's own. */
  controllerTaskQueue: string | undefined;
  /** How many controllers share the group's keys. */
  shards: number;
  /** Ask and release through the concurrency activities (`controller.activities`). */
  activities: boolean;
}

const owner = 'withConcurrency';

function fail(option: string, expected: string, value: unknown, hint = ''): never {
  throw new ConcurrencyOptionsError(
    `${owner}: expected \`${option}\` to be ${expected}, got ${describeValue(value)}.${hint ? ` ${hint}` : ''}`,
  );
}

function integer(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(option, `an integer >= ${min}`, value);
  }
  return value;
}

function text(option: string, value: unknown, maxLength: number, allowEmpty: boolean): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '') || value.length > maxLength) {
    fail(option, `a ${allowEmpty ? '' : 'non-empty '}string of at most ${maxLength} characters`, value);
  }
  return value;
}

/**
 * Checks {@link WithConcurrencyOptions}; throws a {@link ConcurrencyOptionsError} naming the first bad option.
 *
 * @example
 * ```ts
 * import { resolveConcurrencyOptions } from 'slotwise/internal/workflows/concurrency/options.js';
 * resolveConcurrencyOptions({ group: 'g', key: 'k', maxRuns: 2 }).policy;
 * // => { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2 }
 * resolveConcurrencyOptions({ group: 'g', key: 'k', maxRuns: 2, strategy: 'cancel-newest' as never });
 * // => throws ConcurrencyOptionsError: ... Did you mean 'CANCEL_NEWEST'?
 * ```
 */
export function resolveConcurrencyOptions(options: WithConcurrencyOptions): ResolvedConcurrencyOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConcurrencyOptionsError(`${owner}: expected an options object, got ${describeValue(options)}.`);
  }
  const group = text('group', options.group, 200, false);
  const key = text('key', options.key, 400, true);
  const maxRuns = integer('maxRuns', options.maxRuns, 1);
  const strategy = options.strategy ?? ConcurrencyStrategy.GROUP_ROUND_ROBIN;
  const strategies = Object.values(ConcurrencyStrategy) as string[];
  if (!strategies.includes(strategy)) {
    const upper = typeof strategy === 'string' ? strategy.toUpperCase().replace(/[- ]/g, '_') : '';
    fail(
      'strategy',
      `one of ${strategies.map((s) => `'${s}'`).join(', ')}`,
      strategy,
      strategies.includes(upper) ? `Did you mean '${upper}'?` : '',
    );
  }
  const policy: ConcurrencyPolicy = { strategy, maxRuns };
  if (options.groupMaxRuns !== undefined)
    policy.groupMaxRuns = integer('groupMaxRuns', options.groupMaxRuns, 1);
  const controller = options.controller ?? {};
  if (typeof controller !== 'object' || controller === null) fail('controller', 'an object', controller);
  const settings: Partial<ConcurrencyControllerSettings> = {};
  if (controller.probeIntervalMs !== undefined) {
    settings.probeIntervalMs = integer('controller.probeIntervalMs', controller.probeIntervalMs, 100);
  }
  if (controller.idleTimeoutMs !== undefined) {
    settings.idleTimeoutMs = integer('controller.idleTimeoutMs', controller.idleTimeoutMs, 0);
  }
  if (controller.maxHistoryEvents !== undefined) {
    settings.maxHistoryEvents = integer('controller.maxHistoryEvents', controller.maxHistoryEvents, 100);
  }
  if (controller.maxStateBytes !== undefined) {
    settings.maxStateBytes = integer('controller.maxStateBytes', controller.maxStateBytes, 4_096);
  }
  if (controller.activities !== undefined) {
    if (typeof controller.activities !== 'boolean')
      fail('controller.activities', 'a boolean', controller.activities);
    settings.activities = controller.activities;
  }
  const controllerTaskQueue =
    controller.taskQueue === undefined
      ? undefined
      : text('controller.taskQueue', controller.taskQueue, 1000, false);
  const shards = controller.shards === undefined ? 1 : integer('controller.shards', controller.shards, 1);
  if (shards > 64) fail('controller.shards', 'an integer in [1, 64]', shards);
  if (shards > 1 && policy.groupMaxRuns !== undefined) {
    throw new ConcurrencyOptionsError(
      `${owner}: \`controller.shards\` (${shards}) cannot be combined with \`groupMaxRuns\` (${policy.groupMaxRuns}): ` +
        'a group-wide limit needs one controller. Drop `groupMaxRuns` or use `shards: 1`.',
    );
  }
  return {
    group,
    key,
    policy,
    settings,
    controllerTaskQueue,
    shards,
    activities: settings.activities ?? true,
  };
}
