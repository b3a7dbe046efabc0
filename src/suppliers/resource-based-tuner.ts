import type { Logger } from '@temporalio/common';
import type { FixedSizeSlotSupplier, TunerHolder } from '@temporalio/worker';
import { SlotwiseOptionsError } from '../errors.js';
import {
  checkInteger,
  checkKnownKeys,
  checkName,
  checkOptionsObject,
  optionError,
} from '../option-checks.js';
import { checkRule } from '../option-rules.js';
import { ResourceSampler } from '../resources/sampler.js';
import { CompositeSlotSupplier } from './composite-slot-supplier.js';
import { CpuSlotSupplier } from './cpu-slot-supplier.js';
import { MemorySlotSupplier } from './memory-slot-supplier.js';
import { RESOURCE_OPTION_RULES } from './resource-supplier-options.js';
import type { SlotTypeKey } from './slot-type-limits.js';
import type { PerSlotType } from './types.js';

/** Floors and ceilings of one slot type, named as in Temporal's `ResourceBasedSlotOptions`. */
export interface ResourceBasedSlotTypeOptions {
  /**
   * Permits per task queue issued whatever the readings say (the floor); 0 or at least 2 for
   * workflow tasks.
   * @default 2 for workflow tasks, 1 for activities and local activities
   */
  minimumSlots?: number;
  /**
   * Permits per task queue at most (the ceiling).
   * @default 1000 for workflow tasks, 2000 for activities and local activities
   */
  maximumSlots?: number;
}

/** Options of {@link resourceBasedTuner}: Temporal's resource-based tuner options, flattened. */
export interface ResourceBasedPresetOptions {
  /** CPU use to stay under, as a ratio of the usable cores in (0, 1] (Temporal's `targetCpuUsage`). */
  targetCpuUsage: number;
  /** Memory use to stay under, as a ratio of the limit in (0, 1] (Temporal's `targetMemoryUsage`). */
  targetMemoryUsage: number;
  /** Floor and ceiling of workflow task permits per task queue. */
  workflowTaskSlotOptions?: ResourceBasedSlotTypeOptions;
  /** Floor and ceiling of activity task permits per task queue. */
  activityTaskSlotOptions?: ResourceBasedSlotTypeOptions;
  /** Floor and ceiling of local activity task permits per task queue. */
  localActivityTaskSlotOptions?: ResourceBasedSlotTypeOptions;
  /**
   * Nexus tasks cannot use a custom supplier in the TypeScript SDK: they get Temporal's fixed-size
   * supplier of `maximumSlots`.
   */
  nexusTaskSlotOptions?: Pick<ResourceBasedSlotTypeOptions, 'maximumSlots'>;
  /**
   * Milliseconds between two permits issued above the floors, across every slot type (Temporal's
   * tuner has one per slot type: 10 ms for workflow tasks, 50 ms for the others).
   * @default 50
   */
  rampThrottleMs?: number;
  /**
   * Name of the supplier every slot type shares (its CPU and memory gates are `<name>-cpu` and
   * `<name>-memory`): the `supplier` label of its metrics.
   * @default 'resource-based'
   */
  name?: string;
  /**
   * The sampler both gates read. When omitted one is created (CPU and memory every 100 ms, as
   * Temporal's tuner samples), started at once and stopped by `close()`.
   */
  sampler?: ResourceSampler;
  /**
   * Where errors caught in supplier callbacks and unreadable resources are logged.
   * @default a `DefaultLogger` at `WARN` level
   */
  logger?: Logger;
}

/**
 * What {@link resourceBasedTuner} returns: a `tuner` for `Worker.create` (one supplier for
 * workflow, activity and local activity tasks) plus the parts, to track in metrics and to close.
 */
export interface ResourceBasedPreset extends TunerHolder {
  workflowTaskSlotSupplier: CompositeSlotSupplier;
  activityTaskSlotSupplier: CompositeSlotSupplier;
  localActivityTaskSlotSupplier: CompositeSlotSupplier;
  nexusTaskSlotSupplier: FixedSizeSlotSupplier;
  /** The one supplier every slot type shares: a composite of {@link cpu} and {@link memory}. */
  readonly supplier: CompositeSlotSupplier;
  /** The CPU gate. */
  readonly cpu: CpuSlotSupplier;
  /** The memory gate. */
  readonly memory: MemorySlotSupplier;
  /** The sampler both gates read. */
  readonly sampler: ResourceSampler;
  /** Stops the sampler (if this preset created it) and detaches the suppliers. Idempotent; call after the Worker stopped. */
  close(): void;
}

/** Temporal's defaults (TypeScript SDK) for each slot type: floors and ceilings per task queue. */
export const RESOURCE_BASED_DEFAULTS: Readonly<
  PerSlotType<Required<ResourceBasedSlotTypeOptions>> & { nexus: { maximumSlots: number } }
> = Object.freeze({
  workflow: { minimumSlots: 2, maximumSlots: 1000 },
  activity: { minimumSlots: 1, maximumSlots: 2000 },
  localActivity: { minimumSlots: 1, maximumSlots: 2000 },
  nexus: { maximumSlots: 2000 },
});

const OWNER = 'resourceBasedTuner';
const OPTION_KEYS = [
  'targetCpuUsage',
  'targetMemoryUsage',
  'workflowTaskSlotOptions',
  'activityTaskSlotOptions',
  'localActivityTaskSlotOptions',
  'nexusTaskSlotOptions',
  'rampThrottleMs',
  'name',
  'sampler',
  'logger',
];
const SLOT_OPTIONS: ReadonlyArray<[SlotTypeKey, keyof ResourceBasedPresetOptions]> = [
  ['workflow', 'workflowTaskSlotOptions'],
  ['activity', 'activityTaskSlotOptions'],
  ['localActivity', 'localActivityTaskSlotOptions'],
];

/** The resolved settings of a resource-based preset, shared by the code and config forms. */
export interface ResourceBasedPlan {
  targetCpuUsage: number;
  targetMemoryUsage: number;
  floors: PerSlotType<number>;
  ceilings: PerSlotType<number>;
  nexusSlots: number;
  rampThrottleMs: number;
  /** Below both targets, so that a low target is still valid. */
  hysteresis: { cpu: number; memory: number };
  /** The most permits each gate issues: the sum of the ceilings. */
  maxSlots: number;
}

/**
 * Checks the options of {@link resourceBasedTuner} (also its config form, `resourceBased`) and fills
 * in Temporal's defaults. `owner` prefixes messages.
 */
export function resourceBasedPlan(options: unknown, owner = OWNER): ResourceBasedPlan {
  checkOptionsObject(owner, options);
  const opts = options as ResourceBasedPresetOptions;
  if ('tunerOptions' in opts || 'controller' in opts) {
    throw new SlotwiseOptionsError(
      `${owner}: pass \`targetCpuUsage\` and \`targetMemoryUsage\` directly, not inside \`tunerOptions\` (or a \`controller\`): resourceBasedTuner({ targetCpuUsage: 0.8, targetMemoryUsage: 0.8 }). To share one budget between Workers, pass the same returned tuner to each.`,
    );
  }
  checkKnownKeys(owner, opts, OPTION_KEYS);
  const targetCpuUsage = checkRule(
    owner,
    'targetCpuUsage',
    RESOURCE_OPTION_RULES.targetUtilization,
    opts.targetCpuUsage,
  );
  const targetMemoryUsage = checkRule(
    owner,
    'targetMemoryUsage',
    RESOURCE_OPTION_RULES.targetUtilization,
    opts.targetMemoryUsage,
  );
  const floors = {} as PerSlotType<number>;
  const ceilings = {} as PerSlotType<number>;
  for (const [key, option] of SLOT_OPTIONS) {
    const given = (opts[option] ?? {}) as ResourceBasedSlotTypeOptions & { rampThrottle?: unknown };
    checkOptionsObject(`${owner}: \`${option}\``, given);
    if ('rampThrottle' in given) {
      optionError(
        owner,
        `${option}.rampThrottle`,
        'absent',
        given.rampThrottle,
        'slotwise has one ramp for every slot type of the supplier: set `rampThrottleMs` instead.',
      );
    }
    checkKnownKeys(`${owner}: \`${option}\``, given, ['minimumSlots', 'maximumSlots']);
    const defaults = RESOURCE_BASED_DEFAULTS[key];
    const floor =
      given.minimumSlots === undefined
        ? defaults.minimumSlots
        : checkInteger(owner, `${option}.minimumSlots`, given.minimumSlots, 0);
    if (key === 'workflow' && floor === 1) {
      optionError(
        owner,
        `${option}.minimumSlots`,
        '0 or an integer >= 2 (core holds a sticky and a non-sticky workflow poll)',
        floor,
      );
    }
    const least = Math.max(floor, key === 'workflow' ? 2 : 1);
    const ceiling =
      given.maximumSlots === undefined
        ? Math.max(defaults.maximumSlots, least)
        : checkInteger(owner, `${option}.maximumSlots`, given.maximumSlots, least);
    floors[key] = floor;
    ceilings[key] = ceiling;
  }
  const nexus = (opts.nexusTaskSlotOptions ?? {}) as { maximumSlots?: number };
  checkOptionsObject(`${owner}: \`nexusTaskSlotOptions\``, nexus);
  checkKnownKeys(`${owner}: \`nexusTaskSlotOptions\``, nexus, ['maximumSlots']);
  const nexusSlots =
    nexus.maximumSlots === undefined
      ? RESOURCE_BASED_DEFAULTS.nexus.maximumSlots
      : checkInteger(owner, 'nexusTaskSlotOptions.maximumSlots', nexus.maximumSlots, 1);
  const rampThrottleMs = opts.rampThrottleMs ?? 50;
  if (typeof rampThrottleMs !== 'number' || !Number.isFinite(rampThrottleMs) || rampThrottleMs < 0) {
    optionError(owner, 'rampThrottleMs', 'a number of milliseconds >= 0', rampThrottleMs);
  }
  return {
    targetCpuUsage,
    targetMemoryUsage,
    floors,
    ceilings,
    nexusSlots,
    rampThrottleMs,
    hysteresis: { cpu: Math.min(0.05, targetCpuUsage / 2), memory: Math.min(0.05, targetMemoryUsage / 2) },
    maxSlots: ceilings.workflow + ceilings.activity + ceilings.localActivity,
  };
}

/**
 * slotwise's drop-in for Temporal's resource-based tuner: one budget across every slot type of a
 * Worker, gated on CPU and memory readings from one sampler, with Temporal's floors and ceilings per
 * slot type (workflow 2 to 1000, activity and local activity 1 to 2000 per task queue), so the
 * Worker always has a workflow poll (sticky and non-sticky) and an activity poll.
 *
 * Replace `tuner: { tunerOptions: { targetCpuUsage, targetMemoryUsage } }` with
 * `tuner: resourceBasedTuner({ targetCpuUsage, targetMemoryUsage })`. Pass the same returned tuner
 * to several Workers to share one budget (as with Temporal's `ResourceBasedController`).
 *
 * @example
 * ```ts
 * import { Worker } from '@temporalio/worker';
 * import { resourceBasedTuner } from 'slotwise';
 *
 * // Before: tuner: { tunerOptions: { targetCpuUsage: 0.8, targetMemoryUsage: 0.8 } }
 * const tuner = resourceBasedTuner({ targetCpuUsage: 0.8, targetMemoryUsage: 0.8 });
 * const worker = await Worker.create({ taskQueue: 'work', activities: {}, tuner });
 * await worker.run();
 * tuner.close();
 * tuner.supplier.snapshot().floors; // => { workflow: 2, activity: 1, localActivity: 1 }
 * ```
 */
export function resourceBasedTuner(options: ResourceBasedPresetOptions): ResourceBasedPreset {
  const plan = resourceBasedPlan(options);
  const name = options.name === undefined ? 'resource-based' : checkName(OWNER, options.name);
  if (
    options.sampler !== undefined &&
    (typeof options.sampler !== 'object' || typeof options.sampler?.latest !== 'function')
  ) {
    optionError(OWNER, 'sampler', 'a ResourceSampler', options.sampler);
  }
  const logger = options.logger ? { logger: options.logger } : {};
  const ownsSampler = options.sampler === undefined;
  const sampler = options.sampler ?? new ResourceSampler({ intervalMs: 100, ...logger });
  const gate = {
    minSlots: 0,
    maxSlots: plan.maxSlots,
    rampThrottleMs: plan.rampThrottleMs,
    sampler,
    ...logger,
  };
  let cpu: CpuSlotSupplier | undefined;
  let memory: MemorySlotSupplier | undefined;
  try {
    cpu = new CpuSlotSupplier({
      ...gate,
      name: `${name}-cpu`,
      targetUtilization: plan.targetCpuUsage,
      hysteresis: plan.hysteresis.cpu,
    });
    memory = new MemorySlotSupplier({
      ...gate,
      name: `${name}-memory`,
      targetUtilization: plan.targetMemoryUsage,
      hysteresis: plan.hysteresis.memory,
    });
  } catch (error) {
    cpu?.close();
    if (ownsSampler) sampler.stop();
    throw error;
  }
  const supplier = new CompositeSlotSupplier([cpu, memory], {
    name,
    floors: plan.floors,
    ceilings: plan.ceilings,
    ...logger,
  });
  supplier.declareSlotTypes(['workflow', 'activity', 'local-activity']);
  if (ownsSampler) sampler.start();
  let closed = false;
  const parts = { cpu, memory };
  return {
    workflowTaskSlotSupplier: supplier,
    activityTaskSlotSupplier: supplier,
    localActivityTaskSlotSupplier: supplier,
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: plan.nexusSlots },
    supplier,
    ...parts,
    sampler,
    close() {
      if (closed) return;
      closed = true;
      supplier.close();
      parts.cpu.close();
      parts.memory.close();
      if (ownsSampler) sampler.stop();
    },
  };
}
