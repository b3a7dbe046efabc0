import { FLEET_OPTION_RULES } from '../fleet/fleet-supplier-options.js';
import type { MemoryScope } from '../resources/memory-monitor.js';
import { GPU_OPTION_RULES, MEMORY_OPTION_RULES, SAMPLER_OPTION_RULES } from '../resources/sampler-options.js';
import { resourceBasedPlan } from '../suppliers/resource-based-tuner.js';
import {
  configOptionDefault,
  type ResourceOptionKey,
  resourceOptionDefault,
} from '../suppliers/resource-supplier-options.js';
import { NO_CEILINGS, NO_FLOORS, SLOT_TYPE_KEYS, TEMPORAL_FLOORS } from '../suppliers/slot-type-limits.js';
import type { TaskCosts } from '../suppliers/task-cost.js';
import type { PerSlotType } from '../suppliers/types.js';
import { formatConfigPath } from './config-path.js';
import {
  CONFIG_SLOT_TYPES,
  type ConfigSlotType,
  type SlotwiseConfig,
  type SlotwiseSupplierSpec,
  type SupplierSpec,
} from './schema.js';

/** Slots of Temporal's fixed-size supplier for a slot type the config leaves out (the SDK's defaults). */
export const DEFAULT_TEMPORAL_SLOTS: Readonly<Record<ConfigSlotType, number>> = {
  workflow: 40,
  activity: 100,
  localActivity: 100,
};

/** Slots of the Nexus supplier: Temporal's fixed-size (custom Nexus suppliers are not supported). */
export const NEXUS_SLOTS = 100;

/** The default name of the supplier of each slot type. */
export const DEFAULT_SUPPLIER_NAMES: Readonly<Record<ConfigSlotType, string>> = {
  workflow: 'workflow',
  activity: 'activity',
  localActivity: 'local-activity',
};

interface EffectiveBase {
  /**
   * Where it is defined: `activity.supplier`, `suppliers.gpuPool`, `activity.supplier.parts[1]`;
   * `resourceBased` and its gates `resourceBased.cpu`, `resourceBased.memory`.
   */
  path: string;
  /** The settings that were not written and took their default. */
  defaults: readonly string[];
}

/** Floors and ceilings per slot type, every slotwise supplier has them. */
interface EffectiveSlotTypeLimits {
  /** Permits per (slot type, task queue) issued whatever the readings say. */
  floors: PerSlotType<number>;
  /** The most permits per (slot type, task queue), `null` for none. */
  ceilings: PerSlotType<number | null>;
}

/** A FixedSlotSupplier, as it will be built. */
export interface EffectiveFixedSupplier extends EffectiveBase, EffectiveSlotTypeLimits {
  type: 'fixed';
  name: string;
  /** Defined under `suppliers` (one instance for every slot type and composite naming it). */
  shared: boolean;
  slots: number;
}

/** A CpuSlotSupplier, MemorySlotSupplier, GpuSlotSupplier or HeapSlotSupplier, as it will be built. */
export interface EffectiveResourceSupplier extends EffectiveBase, EffectiveSlotTypeLimits {
  type: 'cpu' | 'memory' | 'gpu' | 'heap';
  name: string;
  shared: boolean;
  minSlots: number;
  maxSlots: number;
  targetUtilization: number;
  hysteresis: number;
  rampThrottleMs: number;
  settleMs: number;
  /** Milliseconds after which a reading is stale, `null` for the supplier's default (5 sample intervals, at least 1 s). */
  staleAfterMs: number | null;
  /** Permits per device (GPU suppliers), else `null`. */
  slotsPerDevice: number | null;
  /** Declared task costs (sizes in bytes). */
  costs: TaskCosts;
  /** Where the costs come from (`activity.costs`, `...supplier.costs`), `null` for none. */
  costsPath: string | null;
}

/** A FleetSlotSupplier, as it will be built. */
export interface EffectiveFleetSupplier extends EffectiveBase, EffectiveSlotTypeLimits {
  type: 'fleet';
  name: string;
  shared: boolean;
  /** The fleet's name. */
  fleet: string;
  slots: number;
  leaseTtlMs: number;
  lingerMs: number;
  managerTaskQueue: string;
}

/** A CompositeSlotSupplier, as it will be built. */
export interface EffectiveCompositeSupplier extends EffectiveBase, EffectiveSlotTypeLimits {
  type: 'composite';
  name: string;
  shared: boolean;
  /** The parts; a shared part is the very object in {@link EffectiveConfig.shared}. */
  parts: readonly EffectiveSlotwiseSupplier[];
}

/** One of slotwise's suppliers. */
export type EffectiveSlotwiseSupplier =
  | EffectiveFixedSupplier
  | EffectiveResourceSupplier
  | EffectiveFleetSupplier
  | EffectiveCompositeSupplier;

/** Temporal's `{ type: 'fixed-size', numSlots }`. */
export interface EffectiveTemporalFixedSize extends EffectiveBase {
  type: 'temporal-fixed-size';
  numSlots: number;
}

/** Temporal's `{ type: 'resource-based', ... }`. */
export interface EffectiveTemporalResourceBased extends EffectiveBase {
  type: 'temporal-resource-based';
  targetCpuUsage: number;
  targetMemoryUsage: number;
  minimumSlots: number;
  maximumSlots: number;
  rampThrottleMs: number;
}

/** Any supplier of a slot type, with every default filled in. */
export type EffectiveSupplier =
  | EffectiveSlotwiseSupplier
  | EffectiveTemporalFixedSize
  | EffectiveTemporalResourceBased;

/** The one sampler of a config, as it will be built. */
export interface EffectiveSampler {
  intervalMs: number;
  gpuIntervalMs: number;
  /** Whether CPU is sampled (a cpu supplier exists). */
  cpu: boolean;
  /** Memory sampling (a memory supplier exists), else `null`. */
  memory: { scope: MemoryScope; limitBytes: number | null } | null;
  /** GPU sampling (a gpu supplier exists), else `null`. */
  gpu: { nvidiaSmi: string } | null;
  /** Whether this process's V8 heap is sampled (a heap supplier exists). */
  heap: boolean;
  defaults: readonly string[];
}

/** A config with every default filled in: what {@link buildTuner} builds and `slotwise validate` prints. */
export interface EffectiveConfig {
  workflow: EffectiveSupplier;
  activity: EffectiveSupplier;
  localActivity: EffectiveSupplier;
  /** Always Temporal's fixed-size supplier. */
  nexus: EffectiveTemporalFixedSize;
  /** Shared suppliers by name, in the order written. */
  shared: Readonly<Record<string, EffectiveSlotwiseSupplier>>;
  /** The sampler, or `null` when no cpu, memory, gpu or heap supplier needs one. */
  sampler: EffectiveSampler | null;
  metrics: { listen: string | false };
  temporal: { address: string | null; namespace: string | null; taskQueue: string | null };
}

interface NodeContext {
  path: (string | number)[];
  defaultName: string;
  shared: boolean;
  forWorkflow: boolean;
  costs: { value: TaskCosts; path: string } | null;
}

/**
 * Fills in every default of a validated config: supplier names, resource limits (2 minimum slots
 * for workflow tasks), Temporal's defaults for slot types left out, the sampler each resource
 * supplier reads. Shared suppliers appear once, referenced from every place that names them.
 *
 * @example
 * ```ts
 * import { parseConfig } from 'slotwise';
 * import { effectiveConfig } from 'slotwise/internal/config/effective-config.js';
 *
 * const effective = effectiveConfig(parseConfig({ activity: { supplier: { type: 'memory' } } }));
 * effective.activity; // => { type: 'memory', name: 'activity', minSlots: 1, maxSlots: 1000, targetUtilization: 0.8, ... }
 * effective.workflow; // => { type: 'temporal-fixed-size', numSlots: 40, defaults: ['type', 'numSlots'], ... }
 * ```
 */
export function effectiveConfig(config: SlotwiseConfig): EffectiveConfig {
  const specs = config.suppliers ?? {};
  const forWorkflow = sharedNamesUnder(config.workflow?.supplier, specs);
  const shared = new Map<string, EffectiveSlotwiseSupplier>();
  const resolve = (name: string): EffectiveSlotwiseSupplier => {
    const done = shared.get(name);
    if (done) return done;
    const spec = specs[name];
    if (spec === undefined)
      throw new Error(`slotwise config: no shared supplier named ${JSON.stringify(name)}`);
    const node = slotwiseNode(
      spec,
      {
        path: ['suppliers', name],
        defaultName: name,
        shared: true,
        forWorkflow: forWorkflow.has(name),
        costs: null,
      },
      resolve,
    );
    shared.set(name, node);
    return node;
  };
  for (const name of Object.keys(specs)) resolve(name);

  const slotTypes = {} as Record<ConfigSlotType, EffectiveSupplier>;
  const resourceBased = config.resourceBased ? resourceBasedNodes(config.resourceBased) : null;
  for (const slotType of CONFIG_SLOT_TYPES) {
    if (resourceBased !== null) {
      slotTypes[slotType] = resourceBased.supplier;
      continue;
    }
    const section = config[slotType];
    const path = formatConfigPath([slotType, 'supplier']);
    if (section === undefined) {
      slotTypes[slotType] = {
        type: 'temporal-fixed-size',
        path,
        numSlots: DEFAULT_TEMPORAL_SLOTS[slotType],
        defaults: ['type', 'numSlots'],
      };
      continue;
    }
    const spec: SupplierSpec = section.supplier;
    if (typeof spec === 'string') {
      slotTypes[slotType] = resolve(spec);
    } else if (spec.type === 'temporal-fixed-size') {
      slotTypes[slotType] = { type: spec.type, path, numSlots: spec.numSlots, defaults: [] };
    } else if (spec.type === 'temporal-resource-based') {
      const workflow = slotType === 'workflow';
      const defaults: string[] = [];
      const pick = <T>(key: string, value: T | undefined, fallback: T): T => {
        if (value !== undefined) return value;
        defaults.push(key);
        return fallback;
      };
      slotTypes[slotType] = {
        type: spec.type,
        path,
        targetCpuUsage: spec.targetCpuUsage,
        targetMemoryUsage: spec.targetMemoryUsage,
        minimumSlots: pick('minimumSlots', spec.minimumSlots, workflow ? 2 : 1),
        maximumSlots: pick('maximumSlots', spec.maximumSlots, workflow ? 1000 : 2000),
        rampThrottleMs: pick('rampThrottleMs', spec.rampThrottleMs, workflow ? 10 : 50),
        defaults,
      };
    } else {
      slotTypes[slotType] = slotwiseNode(
        spec,
        {
          path: [slotType, 'supplier'],
          defaultName: DEFAULT_SUPPLIER_NAMES[slotType],
          shared: false,
          forWorkflow: slotType === 'workflow',
          costs: section.costs ? { value: section.costs, path: formatConfigPath([slotType, 'costs']) } : null,
        },
        resolve,
      );
    }
  }

  const all = [...Object.values(slotTypes), ...shared.values()];
  const uses = (type: string) => all.some((node) => containsType(node, type));
  const sampler = config.sampler ?? {};
  const samplerDefaults: string[] = [];
  const pick = <T>(key: string, value: T | undefined, fallback: T): T => {
    if (value !== undefined) return value;
    samplerDefaults.push(key);
    return fallback;
  };
  const needed = uses('cpu') || uses('memory') || uses('gpu') || uses('heap');
  return {
    ...slotTypes,
    nexus:
      resourceBased === null
        ? { type: 'temporal-fixed-size', path: 'nexus', numSlots: NEXUS_SLOTS, defaults: ['numSlots'] }
        : {
            type: 'temporal-fixed-size',
            path: 'resourceBased.nexusTaskSlotOptions',
            numSlots: resourceBased.nexusSlots,
            defaults:
              config.resourceBased?.nexusTaskSlotOptions?.maximumSlots === undefined ? ['numSlots'] : [],
          },
    shared: Object.fromEntries(Object.keys(specs).map((name) => [name, shared.get(name)!])),
    sampler: needed
      ? {
          intervalMs: pick('intervalMs', sampler.intervalMs, SAMPLER_OPTION_RULES.intervalMs.default),
          gpuIntervalMs: pick(
            'gpuIntervalMs',
            sampler.gpuIntervalMs,
            SAMPLER_OPTION_RULES.gpuIntervalMs.default,
          ),
          cpu: uses('cpu'),
          memory: uses('memory')
            ? {
                scope: pick('memory.scope', sampler.memory?.scope, MEMORY_OPTION_RULES.scope.default),
                limitBytes: pick<number | null>('memory.limitBytes', sampler.memory?.limitBytes, null),
              }
            : null,
          gpu: uses('gpu')
            ? { nvidiaSmi: pick('gpu.nvidiaSmi', sampler.gpu?.nvidiaSmi, GPU_OPTION_RULES.nvidiaSmi.default) }
            : null,
          heap: uses('heap'),
          defaults: samplerDefaults,
        }
      : null,
    metrics: { listen: config.metrics?.listen ?? false },
    temporal: {
      address: config.temporal?.address ?? null,
      namespace: config.temporal?.namespace ?? null,
      taskQueue: config.temporal?.taskQueue ?? null,
    },
  };
}

/**
 * Every distinct slotwise supplier of an effective config (shared ones once), parents before
 * their parts, in the order: workflow, activity, local activity, then shared suppliers.
 *
 * @example
 * ```ts
 * import { parseConfig } from 'slotwise';
 * import { effectiveConfig, slotwiseSuppliersOf } from 'slotwise/internal/config/effective-config.js';
 * const effective = effectiveConfig(parseConfig({ activity: { supplier: { type: 'fixed', slots: 2 } } }));
 * slotwiseSuppliersOf(effective).map((s) => s.name); // => ['activity']
 * ```
 */
export function slotwiseSuppliersOf(effective: EffectiveConfig): EffectiveSlotwiseSupplier[] {
  const seen = new Set<EffectiveSlotwiseSupplier>();
  const visit = (node: EffectiveSupplier): void => {
    if (node.type === 'temporal-fixed-size' || node.type === 'temporal-resource-based' || seen.has(node))
      return;
    seen.add(node);
    if (node.type === 'composite') node.parts.forEach(visit);
  };
  for (const slotType of CONFIG_SLOT_TYPES) visit(effective[slotType]);
  for (const node of Object.values(effective.shared)) visit(node);
  return [...seen];
}

function slotwiseNode(
  spec: SlotwiseSupplierSpec,
  context: NodeContext,
  resolve: (name: string) => EffectiveSlotwiseSupplier,
): EffectiveSlotwiseSupplier {
  const path = formatConfigPath(context.path);
  const name = spec.name ?? context.defaultName;
  const defaults: string[] = spec.name === undefined ? ['name'] : [];
  const pick = <T>(key: string, value: T | undefined, fallback: T): T => {
    if (value !== undefined) return value;
    defaults.push(key);
    return fallback;
  };
  const limits = (defaultFloors: Readonly<PerSlotType<number>>): EffectiveSlotTypeLimits => {
    // A fleet has no floors or ceilings to give.
    const given: Pick<Exclude<typeof spec, { type: 'fleet' }>, 'floors' | 'ceilings'> = spec.type === 'fleet'
      ? {}
      : spec;
    if (given.floors === undefined) defaults.push('floors');
    if (given.ceilings === undefined) defaults.push('ceilings');
    const floors =
      given.floors === false ? { ...NO_FLOORS } : { ...defaultFloors, ...definedOnly(given.floors ?? {}) };
    return { floors, ceilings: { ...NO_CEILINGS, ...definedOnly(given.ceilings ?? {}) } };
  };
  switch (spec.type) {
    case 'fixed':
      return {
        type: 'fixed',
        path,
        name,
        shared: context.shared,
        slots: spec.slots,
        ...limits(TEMPORAL_FLOORS),
        defaults,
      };
    case 'fleet':
      return {
        type: 'fleet',
        path,
        name,
        shared: context.shared,
        fleet: spec.fleet,
        slots: spec.slots,
        // Defaults from the options' rules, which the supplier's constructor applies too.
        leaseTtlMs: pick('leaseTtlMs', spec.leaseTtlMs, FLEET_OPTION_RULES.leaseTtlMs.default),
        lingerMs: pick('lingerMs', spec.lingerMs, FLEET_OPTION_RULES.lingerMs.default),
        managerTaskQueue: pick<string>(
          'managerTaskQueue',
          spec.managerTaskQueue,
          FLEET_OPTION_RULES.managerTaskQueue.default,
        ),
        // A fleet budget is a hard cap: no floors of its own (see FleetSlotSupplier).
        floors: { ...NO_FLOORS },
        ceilings: { ...NO_CEILINGS },
        defaults,
      };
    case 'composite': {
      const counts = new Map<string, number>();
      for (const part of spec.parts) {
        if (typeof part !== 'string') counts.set(part.type, (counts.get(part.type) ?? 0) + 1);
      }
      const ordinals = new Map<string, number>();
      const parts = spec.parts.map((part, i) => {
        if (typeof part === 'string') return resolve(part);
        const ordinal = (ordinals.get(part.type) ?? 0) + 1;
        ordinals.set(part.type, ordinal);
        const suffix = (counts.get(part.type) ?? 0) > 1 ? `${part.type}-${ordinal}` : part.type;
        return slotwiseNode(
          part,
          {
            ...context,
            path: [...context.path, 'parts', i],
            defaultName: `${name}-${suffix}`,
            shared: false,
          },
          resolve,
        );
      });
      const smallest = {} as PerSlotType<number>;
      for (const key of SLOT_TYPE_KEYS) smallest[key] = Math.min(...parts.map((part) => part.floors[key]));
      return { type: 'composite', path, name, shared: context.shared, parts, ...limits(smallest), defaults };
    }
    default: {
      // Defaults from the options' rules, which the suppliers' constructors apply too.
      const fallback = (key: ResourceOptionKey) => configOptionDefault(spec.type, key, context.forWorkflow);
      const costs = spec.costs
        ? { value: spec.costs, path: formatConfigPath([...context.path, 'costs']) }
        : context.costs;
      const minSlots = pick('minSlots', spec.minSlots, fallback('minSlots')!);
      const node = {
        type: spec.type,
        path,
        name,
        shared: context.shared,
        minSlots,
        maxSlots: pick('maxSlots', spec.maxSlots, fallback('maxSlots')!),
        targetUtilization: pick('targetUtilization', spec.targetUtilization, fallback('targetUtilization')!),
        hysteresis: pick('hysteresis', spec.hysteresis, fallback('hysteresis')!),
        rampThrottleMs: pick('rampThrottleMs', spec.rampThrottleMs, fallback('rampThrottleMs')!),
        settleMs: pick('settleMs', spec.settleMs, fallback('settleMs')!),
        staleAfterMs: pick<number | null>('staleAfterMs', spec.staleAfterMs, fallback('staleAfterMs')),
        slotsPerDevice:
          spec.type === 'gpu'
            ? pick('slotsPerDevice', spec.slotsPerDevice, fallback('slotsPerDevice')!)
            : null,
        costs: costs?.value ?? {},
        costsPath: costs?.path ?? null,
      };
      return { ...node, ...limits(minSlots === 0 ? NO_FLOORS : TEMPORAL_FLOORS), defaults };
    }
  }
}

/** The keys of `values` whose value is not `undefined`. */
function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The `resourceBased` section as the suppliers it builds: one composite for every slot type, of a
 * CPU gate and a memory gate, as {@link resourceBasedTuner} builds them.
 */
function resourceBasedNodes(section: NonNullable<SlotwiseConfig['resourceBased']>): {
  supplier: EffectiveCompositeSupplier;
  nexusSlots: number;
} {
  const plan = resourceBasedPlan(section, 'resourceBased');
  const name = section.name ?? 'resource-based';
  const gateDefaults = section.rampThrottleMs === undefined ? ['rampThrottleMs'] : [];
  const gate = (type: 'cpu' | 'memory'): EffectiveResourceSupplier => ({
    type,
    path: `resourceBased.${type}`,
    name: `${name}-${type}`,
    shared: false,
    floors: { ...NO_FLOORS },
    ceilings: { ...NO_CEILINGS },
    minSlots: 0,
    maxSlots: plan.maxSlots,
    targetUtilization: type === 'cpu' ? plan.targetCpuUsage : plan.targetMemoryUsage,
    hysteresis: plan.hysteresis[type],
    rampThrottleMs: plan.rampThrottleMs,
    settleMs: resourceOptionDefault(type, 'settleMs')!,
    staleAfterMs: null,
    slotsPerDevice: null,
    costs: {},
    costsPath: null,
    defaults: [...gateDefaults, 'hysteresis', 'settleMs', 'floors', 'ceilings'],
  });
  const written = (key: keyof typeof section) => section[key] !== undefined;
  return {
    supplier: {
      type: 'composite',
      path: 'resourceBased',
      name,
      shared: false,
      parts: [gate('cpu'), gate('memory')],
      floors: plan.floors,
      ceilings: plan.ceilings,
      defaults: [
        ...(written('name') ? [] : ['name']),
        ...(SLOT_TYPE_KEYS.some((key) => written(`${key}TaskSlotOptions`)) ? [] : ['floors', 'ceilings']),
      ],
    },
    nexusSlots: plan.nexusSlots,
  };
}

/** Names of the shared suppliers a spec uses, directly or through composites and other shared ones. */
function sharedNamesUnder(
  spec: SupplierSpec | undefined,
  specs: Readonly<Record<string, SlotwiseSupplierSpec>>,
  found = new Set<string>(),
): Set<string> {
  if (spec === undefined) return found;
  if (typeof spec === 'string') {
    if (found.has(spec)) return found;
    found.add(spec);
    return sharedNamesUnder(specs[spec], specs, found);
  }
  if (spec.type === 'composite') for (const part of spec.parts) sharedNamesUnder(part, specs, found);
  return found;
}

function containsType(node: EffectiveSupplier, type: string): boolean {
  if (node.type === type) return true;
  return node.type === 'composite' && node.parts.some((part) => containsType(part, type));
}
