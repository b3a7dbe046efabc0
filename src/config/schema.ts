import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FLEET_OPTION_RULES } from '../fleet/fleet-supplier-options.js';
import { MAX_NAME_LENGTH, MAX_TIMER_MS } from '../option-checks.js';
import { configKeys, type OptionRule, ruleDoc, type SupplierOptionRule } from '../option-rules.js';
import { GPU_OPTION_RULES, MEMORY_OPTION_RULES, SAMPLER_OPTION_RULES } from '../resources/sampler-options.js';
import { FIXED_OPTION_RULES } from '../suppliers/fixed-supplier-options.js';
import {
  RESOURCE_OPTION_RULES,
  type ResourceKind,
  type ResourceOptionKey,
  type ResourceOptionRule,
  resourceOptionDefault,
  resourceOptionDoc,
} from '../suppliers/resource-supplier-options.js';
import {
  COST_DIMENSIONS,
  type CostDimension,
  TASK_COST_RULES,
  TASK_COST_TABLES,
} from '../suppliers/task-cost.js';
import { BYTE_SIZE_PATTERN, parseByteSize } from './byte-size.js';

// The zod schema of a slotwise config file. Every object is strict (an unknown key is an error),
// every leaf says in words what it expects, and the JSON Schema shipped in `schema/` is generated
// from it (`scripts/generate-json-schema.ts`). Checks that span several fields (names, references,
// Temporal's constraints) are in `check-config.ts`.

type ErrorFn = (issue: { input?: unknown }) => string;

/** An error function: "expected <what>, got <value>[. <hint>]", or "..., but it is missing". */
function expecting(what: string, hint: (input: unknown) => string = () => ''): ErrorFn {
  return (issue) => {
    if (issue.input === undefined) return `expected ${what}, but it is missing`;
    const note = hint(issue.input);
    return `expected ${what}, got ${describeValue(issue.input, 'as-written')}${note ? `. ${note}` : ''}`;
  };
}

const integer = (min: number, what = `an integer >= ${min}`, max?: number) => {
  const error = expecting(what);
  const schema = z.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? schema : schema.max(max, { error });
};

/** The schema of an option's rule, worded for a config file. */
const fromRule = <T>(rule: OptionRule<T>) => rule.schema(expecting(rule.what, rule.hint));

/** A ratio in (0, 1] (the rule of `targetUtilization`); `80` is rejected with "Did you mean 0.8?". */
const ratio = () => fromRule(RESOURCE_OPTION_RULES.targetUtilization);

/** Milliseconds are timer delays: Node's timers take at most 2^31 - 1 ms (24.8 days). */
const milliseconds = (min = 0) =>
  integer(min, `a whole number of milliseconds in [${min}, ${MAX_TIMER_MS}]`, MAX_TIMER_MS);

const SIZE_EXPECTED = 'a size: a number of bytes or a string like "512MiB" or "2GiB"';

/** The largest size a config holds: bytes must stay an exact (safe) integer. */
const SIZE_LIMIT = `at most ${Number.MAX_SAFE_INTEGER} bytes (8 PiB - 1 B)`;

const BYTE_SIZE_DESCRIPTION =
  'Bytes: a number, or a string with a unit: B, kB/KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "512MiB", "1.5 GiB". At most 2^53 - 1 bytes.';

/**
 * A size: bytes as a number, or a string such as `"512MiB"`, `"2GiB"`, `"100MB"`; parsed to whole
 * bytes. A size that is not an exact integer in bytes (`"99999999TiB"`) or below `min` is rejected
 * with the value as written, never turned into another number.
 */
const byteSize = (min: 0 | 1) => {
  const error = expecting(SIZE_EXPECTED);
  const tooSmall = min === 0 ? error : expecting('a size of at least 1 byte');
  return z
    .union(
      [
        z.int({ error }).min(min, { error: tooSmall }),
        z.string({ error }).regex(BYTE_SIZE_PATTERN, { error }),
      ],
      { error },
    )
    .transform((value, ctx) => {
      const bytes = parseByteSize(value);
      const problem =
        bytes === null
          ? expecting(`a size of ${SIZE_LIMIT}`)({ input: value })
          : bytes < min
            ? tooSmall({ input: value })
            : null;
      if (problem === null) return bytes!;
      ctx.issues.push({ code: 'custom', message: problem, input: value });
      return z.NEVER;
    });
};

/** A size of 0 bytes or more. */
const anyByteSize = byteSize(0).meta({ id: 'byteSize', description: BYTE_SIZE_DESCRIPTION });

/** A supplier name: what the suppliers themselves accept (not blank, at most 100 characters). */
const nameString = () =>
  z
    .string({ error: expecting('a name (a string)') })
    .min(1, { error: expecting('a non-empty name'), abort: true })
    .max(MAX_NAME_LENGTH, {
      error: expecting(`a name of at most ${MAX_NAME_LENGTH} characters`),
      abort: true,
    })
    .refine((name) => name.trim() !== '', { error: expecting('a name that is not blank') });

const supplierName = () =>
  nameString().meta({
    description:
      'Name of the supplier: put on its permits, log lines and the `supplier` label of its metrics. Distinct across the config. Default: the slot type for the supplier of a slot type ("activity", "local-activity", "workflow"), "<parent>-<type>" for a composite part.',
  });

/** What one task of a type is expected to use at most: a dimension per rule of `TASK_COST_RULES`. */
export const taskCostSchema = z
  .strictObject(
    Object.fromEntries(
      COST_DIMENSIONS.map((dimension) => {
        const rule: OptionRule<number> & { bytes?: true } = TASK_COST_RULES[dimension];
        // Bytes also as a size like "512MiB": the rule's whole numbers of bytes, or a size string.
        const schema = rule.bytes ? anyByteSize : fromRule(rule);
        return [dimension, schema.optional().meta({ description: rule.doc })];
      }),
    ) as Record<CostDimension, z.ZodOptional<z.ZodType<number, number | string>>>,
  )
  .meta({
    id: 'taskCost',
    description: 'Declared cost of one task. Every field is optional; absent means not declared.',
  });

/** Declared per-task costs, charged by resource suppliers when a task starts running on a slot. */
export const taskCostsSchema = z
  .strictObject({
    default: taskCostSchema
      .optional()
      .meta({ description: 'Cost of any task without a more specific entry.' }),
    activities: z
      .record(z.string(), taskCostSchema, { error: expecting('a mapping of activity type to cost') })
      .optional()
      .meta({ description: TASK_COST_TABLES.activities }),
    workflows: z
      .record(z.string(), taskCostSchema, { error: expecting('a mapping of workflow type to cost') })
      .optional()
      .meta({ description: TASK_COST_TABLES.workflows }),
  })
  .meta({
    id: 'taskCosts',
    description:
      'Declared per-task costs, charged by cpu, memory, gpu and heap suppliers when core marks a slot used (the task type is known only then) and refunded at release.',
  });

const floorValue = (what: string, least: number) => {
  const error = expecting(what);
  return z.number({ error }).int({ error }).min(least, { error });
};

/** Floors of a slotwise supplier: permits per (slot type, task queue) issued whatever the readings say. */
export const floorsSchema = z
  .union(
    [
      z.strictObject({
        workflow: floorValue('0 or an integer >= 2 (one sticky and one non-sticky workflow poll)', 0)
          .refine((n) => n !== 1, {
            error: expecting('0 or an integer >= 2 (one sticky and one non-sticky workflow poll)'),
          })
          .optional()
          .meta({
            description:
              'Workflow task permits per task queue, one sticky and one non-sticky among them. Default 2.',
          }),
        activity: floorValue('an integer >= 0', 0)
          .optional()
          .meta({ description: 'Activity task permits per task queue. Default 1.' }),
        localActivity: floorValue('an integer >= 0', 0)
          .optional()
          .meta({ description: 'Local activity task permits per task queue. Default 1.' }),
      }),
      z.literal(false),
    ],
    {
      error: expecting(
        'a mapping of slot type (workflow, activity, localActivity) to a floor, or false for none',
      ),
    },
  )
  .meta({
    id: 'floors',
    description:
      "Permits each (slot type, task queue) gets whatever the readings say, issued before readings are consulted and never above the supplier's maximum (slots, maxSlots); false for none. Default: workflow 2, activity 1, localActivity 1, as Temporal's resource-based tuner; none for a cpu, memory or gpu supplier whose minSlots is 0 (gpu's default); for a composite, the smallest of its parts'.",
  });

/** Ceilings of a slotwise supplier: the most permits one (slot type, task queue) holds at once. */
export const ceilingsSchema = z
  .strictObject({
    workflow: floorValue('an integer >= 2', 2)
      .optional()
      .meta({ description: 'Workflow task permits per task queue at most.' }),
    activity: floorValue('an integer >= 1', 1)
      .optional()
      .meta({ description: 'Activity task permits per task queue at most.' }),
    localActivity: floorValue('an integer >= 1', 1)
      .optional()
      .meta({ description: 'Local activity task permits per task queue at most.' }),
  })
  .meta({
    id: 'ceilings',
    description:
      'The most permits one (slot type, task queue) may hold at once; at least its floor. Default: none.',
  });

const slotTypeLimits = {
  floors: floorsSchema.optional(),
  ceilings: ceilingsSchema.optional(),
};

/**
 * A resource supplier's option in a config file: its rule, documentation and default come from
 * `RESOURCE_OPTION_RULES`, which the supplier's constructor reads too.
 */
const resourceOption = (kind: ResourceKind, key: ResourceOptionKey) => {
  const rule: ResourceOptionRule = RESOURCE_OPTION_RULES[key];
  const fallback = resourceOptionDefault(kind, key);
  // No JSON `default` where it is computed or differs for workflow tasks: the description says it.
  const single = fallback !== null && rule.workflowDefault === undefined;
  return fromRule(rule)
    .optional()
    .meta({ description: resourceOptionDoc(kind, key), ...(single ? { default: fallback } : {}) });
};

/** The options of a cpu, memory, gpu or heap supplier (gpu adds `slotsPerDevice`). */
const resourceOptions = (kind: ResourceKind) => ({
  name: supplierName().optional(),
  minSlots: resourceOption(kind, 'minSlots'),
  maxSlots: resourceOption(kind, 'maxSlots'),
  targetUtilization: resourceOption(kind, 'targetUtilization'),
  hysteresis: resourceOption(kind, 'hysteresis'),
  rampThrottleMs: resourceOption(kind, 'rampThrottleMs'),
  settleMs: resourceOption(kind, 'settleMs'),
  staleAfterMs: resourceOption(kind, 'staleAfterMs'),
  costs: taskCostsSchema
    .optional()
    .meta({ description: "Costs for this supplier; replaces the slot type's `costs`." }),
  ...slotTypeLimits,
});

/**
 * The options of a supplier in a config file, from its rules (which its constructor reads too):
 * each option's schema, documentation and default; an option with a default is optional.
 */
function supplierOptions<R extends Record<string, SupplierOptionRule>>(rules: R) {
  const shape: Record<string, z.ZodType> = {};
  for (const key of configKeys(rules)) {
    const rule: SupplierOptionRule = rules[key]!;
    const schema = fromRule(rule);
    shape[key] =
      rule.default === undefined
        ? schema.meta({ description: ruleDoc(rule) })
        : schema.optional().meta({ description: ruleDoc(rule), default: rule.default });
  }
  return shape as { [K in ConfigKey<R>]: ConfigOption<R[K]> };
}

/** The keys of `R` a config file takes. */
type ConfigKey<R> = { [K in keyof R]: R[K] extends { inConfig: false } ? never : K }[keyof R];
/** The config schema of a rule: required without a default, optional with one. */
type ConfigOption<Rule> = Rule extends { schema: (error: never) => infer S extends z.ZodType }
  ? Rule extends { default: unknown }
    ? z.ZodOptional<S>
    : S
  : never;

/** `{ type: 'fixed', slots }`: a FixedSlotSupplier. */
export const fixedSupplierSpecSchema = z
  .strictObject({
    type: z.literal('fixed'),
    name: supplierName().optional(),
    ...supplierOptions(FIXED_OPTION_RULES),
    ...slotTypeLimits,
  })
  .meta({ description: 'At most `slots` permits at once (FixedSlotSupplier).' });

/** `{ type: 'fleet', fleet, slots }`: a FleetSlotSupplier, one budget across every process of a fleet. */
export const fleetSupplierSpecSchema = z
  .strictObject({
    type: z.literal('fleet'),
    name: supplierName().optional(),
    ...supplierOptions(FLEET_OPTION_RULES),
  })
  .meta({
    description: 'At most `slots` permits at once across every process of a fleet (FleetSlotSupplier).',
  });

/** `{ type: 'cpu', ... }`: a CpuSlotSupplier on the shared sampler. */
export const cpuSupplierSpecSchema = z
  .strictObject({ type: z.literal('cpu'), ...resourceOptions('cpu') })
  .meta({ description: 'Permits while projected CPU use stays under targetUtilization (CpuSlotSupplier).' });

/** `{ type: 'memory', ... }`: a MemorySlotSupplier on the shared sampler. */
export const memorySupplierSpecSchema = z
  .strictObject({ type: z.literal('memory'), ...resourceOptions('memory') })
  .meta({
    description:
      'Permits while the projected memory working set stays under targetUtilization of the limit (MemorySlotSupplier). Scope and limit are set once for all under sampler.memory.',
  });

/** `{ type: 'heap', ... }`: a HeapSlotSupplier on the shared sampler. */
export const heapSupplierSpecSchema = z
  .strictObject({ type: z.literal('heap'), ...resourceOptions('heap') })
  .meta({
    description:
      "Permits while this process's projected V8 heap stays under targetUtilization of its heap limit (HeapSlotSupplier).",
  });

/** `{ type: 'gpu', ... }`: a GpuSlotSupplier on the shared sampler. */
export const gpuSupplierSpecSchema = z
  .strictObject({
    type: z.literal('gpu'),
    ...resourceOptions('gpu'),
    slotsPerDevice: resourceOption('gpu', 'slotsPerDevice'),
  })
  .meta({ description: 'Assigns each permit a GPU with room for it (GpuSlotSupplier).' });

/** The name of a shared supplier: a key of `suppliers`. */
export const sharedSupplierRefSchema = z
  .string()
  .meta({ description: 'The name of a shared supplier (a key of `suppliers`): one instance, one budget.' });

const SLOTWISE_TYPES = ['fixed', 'cpu', 'memory', 'gpu', 'heap', 'fleet', 'composite'] as const;
const TEMPORAL_TYPES = ['temporal-fixed-size', 'temporal-resource-based'] as const;

/** The error of a `type` no supplier has, given the object that has it. */
const typeError =
  (types: readonly string[]) =>
  (issue: { input?: unknown }): string =>
    expecting(`one of ${types.join(', ')}`, (type) =>
      typeof type === 'string' && type.startsWith('temporal-') && !types.includes(type)
        ? "Temporal's own suppliers can only be the supplier of a slot type, not a composite part or a shared supplier."
        : '',
    )({ input: (issue.input as { type?: unknown } | undefined)?.type });

/** `{ type: 'composite', parts }`: a CompositeSlotSupplier that admits only when every part does. */
export const compositeSupplierSpecSchema = z
  .strictObject({
    type: z.literal('composite'),
    name: supplierName().optional(),
    get parts(): z.ZodArray<typeof supplierPartSchema> {
      const error = expecting('a non-empty list of suppliers');
      return z.array(supplierPartSchema, { error }).min(1, { error });
    },
    floors: floorsSchema.optional(),
    ceilings: ceilingsSchema.optional(),
  })
  .meta({
    id: 'compositeSupplier',
    description:
      'Issues a permit only when every part admits one, taking all at once (CompositeSlotSupplier).',
  });

/** One of slotwise's own suppliers (they can be shared and be parts of a composite). */
export const slotwiseSupplierSpecSchema = z
  .discriminatedUnion(
    'type',
    [
      fixedSupplierSpecSchema,
      cpuSupplierSpecSchema,
      memorySupplierSpecSchema,
      gpuSupplierSpecSchema,
      heapSupplierSpecSchema,
      fleetSupplierSpecSchema,
      compositeSupplierSpecSchema,
    ],
    { error: typeError(SLOTWISE_TYPES) },
  )
  .meta({ id: 'slotwiseSupplier' });

/** A part of a composite: a slotwise supplier, or the name of a shared one. */
export const supplierPartSchema = z
  .union([slotwiseSupplierSpecSchema, sharedSupplierRefSchema], {
    error: expecting(
      `a supplier: a mapping with \`type\` (${SLOTWISE_TYPES.join(', ')}) or the name of a shared supplier`,
    ),
  })
  .meta({ id: 'supplierPart' });

/** `{ type: 'temporal-fixed-size', numSlots }`: Temporal's own fixed-size supplier. */
export const temporalFixedSizeSpecSchema = z
  .strictObject({
    type: z.literal('temporal-fixed-size'),
    numSlots: integer(1).meta({ description: 'Slots (at least 2 for workflow tasks).' }),
  })
  .meta({ description: "Temporal's own fixed-size supplier: { type: 'fixed-size', numSlots }." });

/** `{ type: 'temporal-resource-based', ... }`: Temporal's own resource-based supplier. */
export const temporalResourceBasedSpecSchema = z
  .strictObject({
    type: z.literal('temporal-resource-based'),
    targetCpuUsage: ratio().meta({
      description: 'Target CPU usage in (0, 1]; the same in every temporal-resource-based supplier.',
    }),
    targetMemoryUsage: ratio().meta({
      description: 'Target memory usage in (0, 1]; the same in every temporal-resource-based supplier.',
    }),
    minimumSlots: integer(0)
      .optional()
      .meta({ description: 'Slots issued regardless of usage. Default 2 (workflow), 1 (activities).' }),
    maximumSlots: integer(1)
      .optional()
      .meta({ description: 'Slots at most. Default 1000 (workflow), 2000 (activities).' }),
    rampThrottleMs: milliseconds().optional().meta({
      description: 'Milliseconds between slots above the minimum. Default 10 (workflow), 50 (activities).',
    }),
  })
  .meta({ description: "Temporal's own resource-based supplier (PID controllers on CPU and memory)." });

/** Any supplier a slot type can use. */
export const supplierSpecSchema = z
  .union(
    [
      z.discriminatedUnion(
        'type',
        [
          fixedSupplierSpecSchema,
          cpuSupplierSpecSchema,
          memorySupplierSpecSchema,
          gpuSupplierSpecSchema,
          heapSupplierSpecSchema,
          fleetSupplierSpecSchema,
          compositeSupplierSpecSchema,
          temporalFixedSizeSpecSchema,
          temporalResourceBasedSpecSchema,
        ],
        { error: typeError([...SLOTWISE_TYPES, ...TEMPORAL_TYPES]) },
      ),
      sharedSupplierRefSchema,
    ],
    {
      error: expecting(
        `a supplier: a mapping with \`type\` (${[...SLOTWISE_TYPES, ...TEMPORAL_TYPES].join(', ')}) or the name of a shared supplier`,
      ),
    },
  )
  .meta({ id: 'supplier' });

const resourceBasedSlotOptions = (slotType: string, floor: number, ceiling: number, workflow = false) =>
  z
    .strictObject({
      minimumSlots: (workflow
        ? integer(0).refine((n) => n !== 1, {
            error: expecting('0 or an integer >= 2 (one sticky and one non-sticky workflow poll)'),
          })
        : integer(0)
      )
        .optional()
        .meta({
          description: `Permits per task queue whatever the readings say (the floor). Default ${floor}.`,
        }),
      maximumSlots: integer(workflow ? 2 : 1)
        .optional()
        .meta({
          description: `Permits per task queue at most (the ceiling), at least minimumSlots. Default ${ceiling}.`,
        }),
    })
    .optional()
    .meta({
      description: `Floor and ceiling of ${slotType} permits, as in Temporal's ResourceBasedSlotOptions.`,
    });

/**
 * `resourceBased`: slotwise's drop-in for Temporal's resource-based tuner, in place of the
 * `workflow`, `activity` and `localActivity` sections.
 */
export const resourceBasedConfigSchema = z
  .strictObject({
    targetCpuUsage: ratio().meta({
      description: 'CPU use to stay under, as a ratio of the usable cores in (0, 1].',
    }),
    targetMemoryUsage: ratio().meta({
      description: 'Memory use to stay under, as a ratio of the limit in (0, 1].',
    }),
    workflowTaskSlotOptions: resourceBasedSlotOptions('workflow task', 2, 1000, true),
    activityTaskSlotOptions: resourceBasedSlotOptions('activity task', 1, 2000),
    localActivityTaskSlotOptions: resourceBasedSlotOptions('local activity task', 1, 2000),
    nexusTaskSlotOptions: z
      .strictObject({
        maximumSlots: integer(1)
          .optional()
          .meta({ description: "Slots of the Nexus tasks' Temporal fixed-size supplier. Default 2000." }),
      })
      .optional(),
    rampThrottleMs: milliseconds().optional().meta({
      description: 'Milliseconds between two permits issued above the floors, across slot types. Default 50.',
    }),
    name: supplierName().optional().meta({
      description:
        'Name of the one supplier every slot type shares (its gates are <name>-cpu and <name>-memory). Default "resource-based".',
    }),
  })
  .meta({
    id: 'resourceBased',
    description:
      "slotwise's drop-in for Temporal's resource-based tuner (tunerOptions: { targetCpuUsage, targetMemoryUsage }): one supplier for workflow, activity and local activity tasks, gated on CPU and memory from the one sampler, with Temporal's floors and ceilings per slot type. Replaces the workflow, activity and localActivity sections.",
  });

/** The supplier of one slot type and the costs its resource suppliers charge. */
export const slotTypeConfigSchema = z.strictObject({
  supplier: supplierSpecSchema,
  costs: taskCostsSchema
    .optional()
    .meta({ description: "Costs charged by this slot type's cpu/memory/gpu/heap suppliers that set none." }),
});

const LISTEN_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const LISTEN_EXPECTED = '"host:port" (e.g. "127.0.0.1:9464") or false';

/** The one sampler all resource suppliers built from a config read. */
export const samplerConfigSchema = z.strictObject({
  ...supplierOptions(SAMPLER_OPTION_RULES),
  memory: z
    .strictObject({
      scope: supplierOptions(MEMORY_OPTION_RULES).scope,
      // A size in a config file may be written "2GiB"; the rule's doc and default still apply.
      limitBytes: byteSize(1)
        .optional()
        .meta({ description: ruleDoc(MEMORY_OPTION_RULES.limitBytes) }),
    })
    .optional(),
  gpu: z.strictObject(supplierOptions(GPU_OPTION_RULES)).optional(),
});

/**
 * A whole slotwise config file (zod 4). Prefer {@link parseConfig}, which words every problem with
 * its path and adds the checks that span several fields.
 *
 * @example
 * ```ts
 * import { slotwiseConfigSchema } from 'slotwise/internal/config/schema.js';
 * slotwiseConfigSchema.safeParse({ activity: { supplier: { type: 'fixed', slots: 4 } } }).success; // => true
 * ```
 */
export const slotwiseConfigSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'The JSON Schema of this file, for editors.' }),
    sampler: samplerConfigSchema.optional().meta({
      description: 'The one ResourceSampler every cpu, memory and gpu supplier of this config reads.',
    }),
    suppliers: z
      .record(nameString(), slotwiseSupplierSpecSchema, {
        error: expecting('a mapping of supplier name to supplier'),
      })
      .optional()
      .meta({
        description:
          'Shared suppliers by name. A slot type (or composite part) that names one uses that very instance: one budget across slot types.',
      }),
    workflow: slotTypeConfigSchema
      .optional()
      .meta({ description: 'Workflow task slots. Default: temporal-fixed-size with 40 slots.' }),
    activity: slotTypeConfigSchema
      .optional()
      .meta({ description: 'Activity task slots. Default: temporal-fixed-size with 100 slots.' }),
    localActivity: slotTypeConfigSchema
      .optional()
      .meta({ description: 'Local activity slots. Default: temporal-fixed-size with 100 slots.' }),
    resourceBased: resourceBasedConfigSchema.optional(),
    metrics: z
      .strictObject({
        listen: z
          .union(
            [
              z
                .string({ error: expecting(LISTEN_EXPECTED) })
                .regex(LISTEN_PATTERN, { error: expecting(LISTEN_EXPECTED), abort: true })
                .refine((listen) => Number(listen.slice(listen.lastIndexOf(':') + 1)) <= 65535, {
                  error: expecting(LISTEN_EXPECTED, () => 'The port is above 65535.'),
                }),
              z.literal(false, { error: expecting(LISTEN_EXPECTED) }),
            ],
            { error: expecting(LISTEN_EXPECTED) },
          )
          .optional()
          .meta({ description: 'Address of the /metrics HTTP server, or false for none. Default false.' }),
      })
      .optional(),
    temporal: z
      .strictObject({
        address: z
          .string({ error: expecting('"host:port"') })
          .min(1, { error: expecting('"host:port"') })
          .optional()
          .meta({
            description:
              'Temporal frontend "host:port". Default: $TEMPORAL_ADDRESS, else an embedded dev server.',
          }),
        namespace: z
          .string({ error: expecting('a namespace name') })
          .min(1, { error: expecting('a namespace name') })
          .optional()
          .meta({ description: 'Temporal namespace. Default "default".' }),
        taskQueue: z
          .string({ error: expecting('a task queue name') })
          .min(1, { error: expecting('a task queue name') })
          .optional()
          .meta({ description: 'Task queue the worker polls.' }),
      })
      .optional(),
  })
  .meta({
    title: 'slotwise config',
    description:
      'Slot suppliers for a Temporal Worker: one per slot type, shared suppliers, the resource sampler, metrics and the Temporal connection. Unknown keys are errors.',
  });

/** A slotwise config after validation (sizes in bytes). */
export type SlotwiseConfig = z.output<typeof slotwiseConfigSchema>;
/** A slotwise config as written (sizes may be strings like `"512MiB"`). */
export type SlotwiseConfigInput = z.input<typeof slotwiseConfigSchema>;
/** The supplier of a slot type: a spec, or the name of a shared supplier. */
export type SupplierSpec = z.output<typeof supplierSpecSchema>;
/** One of slotwise's own suppliers: fixed, cpu, memory, gpu, fleet or composite. */
export type SlotwiseSupplierSpec = z.output<typeof slotwiseSupplierSpecSchema>;
/** `{ type: 'fixed', slots }`. */
export type FixedSupplierSpec = z.output<typeof fixedSupplierSpecSchema>;
/** `{ type: 'cpu' | 'memory' | 'gpu' | 'heap', ... }`. */
export type ResourceSupplierSpec =
  | z.output<typeof cpuSupplierSpecSchema>
  | z.output<typeof memorySupplierSpecSchema>
  | z.output<typeof gpuSupplierSpecSchema>
  | z.output<typeof heapSupplierSpecSchema>;
/** `{ type: 'fleet', fleet, slots, ... }`. */
export type FleetSupplierSpec = z.output<typeof fleetSupplierSpecSchema>;
/** `{ type: 'composite', parts }`. */
export type CompositeSupplierSpec = z.output<typeof compositeSupplierSpecSchema>;
/** The `resourceBased` section. */
export type ResourceBasedConfig = z.output<typeof resourceBasedConfigSchema>;
/** `{ type: 'temporal-fixed-size', numSlots }`. */
export type TemporalFixedSizeSpec = z.output<typeof temporalFixedSizeSpecSchema>;
/** `{ type: 'temporal-resource-based', ... }`. */
export type TemporalResourceBasedSpec = z.output<typeof temporalResourceBasedSpecSchema>;
/** The section of one slot type: `{ supplier, costs? }`. */
export type SlotTypeConfig = z.output<typeof slotTypeConfigSchema>;
/** The config keys of the slot types slotwise tunes. */
export type ConfigSlotType = 'workflow' | 'activity' | 'localActivity';
/** The slot type keys, in the order they are reported. */
export const CONFIG_SLOT_TYPES: readonly ConfigSlotType[] = ['workflow', 'activity', 'localActivity'];
