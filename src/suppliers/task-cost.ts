import type { SlotInfo } from '@temporalio/worker';
import { z } from 'zod';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, describeValue } from '../option-checks.js';
import { checkRule, type OptionRule, type RuleError } from '../option-rules.js';

/** What one task is expected to use at most. Every field is optional; absent means "not declared". */
export interface TaskCost {
  /** CPU cores (1 = one core busy). */
  cpu?: number;
  /** Memory in bytes. */
  memoryBytes?: number;
  /** GPUs (fractions allowed: 0.5 lets two such tasks share a device). */
  gpus?: number;
  /** GPU memory in bytes, on the device the task is assigned. */
  gpuMemoryBytes?: number;
  /** V8 heap of this process in bytes (what the task keeps reachable while it runs). */
  heapBytes?: number;
}

/** An amount of a resource: a number >= 0, fractions allowed. */
const amount = (what: string, doc: string) => ({
  what: `${what} >= 0`,
  schema: (error: RuleError) => z.number({ error }).min(0, { error }),
  doc,
});

/** A number of bytes: a whole number >= 0 that stays exact (a config file also takes "512MiB"). */
const bytes = (doc: string) => ({
  what: 'a whole number of bytes >= 0',
  schema: (error: RuleError) => z.int({ error }).min(0, { error }),
  doc,
  bytes: true as const,
});

/**
 * The one source of the cost dimensions' rules, read by every resource supplier's constructor
 * (`costs`) and the config file schema (which also takes sizes like "512MiB" where `bytes` is set).
 */
export const TASK_COST_RULES = {
  cpu: amount('a number of CPU cores', 'CPU cores (1 = one core busy).'),
  memoryBytes: bytes('Memory: bytes, or a size like "512MiB".'),
  gpus: amount('a number of GPUs', 'GPUs; fractions share a device (0.5 lets two such tasks share one).'),
  gpuMemoryBytes: bytes('GPU memory on the assigned device: bytes, or a size like "6GiB".'),
  heapBytes: bytes(
    'V8 heap the task keeps reachable in the Worker\'s process: bytes, or a size like "64MiB".',
  ),
} as const satisfies Record<keyof TaskCost, OptionRule<number> & { bytes?: true }>;

/** The cost dimensions, in the order they are reported. */
export const COST_DIMENSIONS = Object.keys(TASK_COST_RULES) as Array<keyof typeof TASK_COST_RULES>;

/** The tables of {@link TaskCosts} by task type, with their documentation. */
export const TASK_COST_TABLES = {
  activities: 'Cost by activity type (activities and local activities).',
  workflows: 'Cost by workflow type (workflow tasks).',
} as const;

/** One cost dimension. */
export type CostDimension = (typeof COST_DIMENSIONS)[number];

/**
 * Declared per-task costs: a default, and overrides per activity type and per workflow type. The
 * task type is first known when core marks a slot used, so that is when a cost is charged.
 */
export interface TaskCosts {
  /** Cost of any task without a more specific entry. */
  default?: TaskCost;
  /** Cost by activity type (activities and local activities). */
  activities?: Record<string, TaskCost>;
  /** Cost by workflow type (workflow tasks). */
  workflows?: Record<string, TaskCost>;
}

/** Checks a {@link TaskCosts} option; returns it frozen. */
export function checkTaskCosts(owner: string, costs: unknown): Readonly<TaskCosts> {
  if (costs === undefined) return {};
  checkOptionsObject(`${owner} costs`, costs);
  checkKnownKeys(`${owner}: \`costs\``, costs as object, ['default', ...Object.keys(TASK_COST_TABLES)]);
  const given = costs as TaskCosts;
  if (given.default !== undefined) checkTaskCost(owner, 'costs.default', given.default);
  for (const key of Object.keys(TASK_COST_TABLES) as Array<keyof typeof TASK_COST_TABLES>) {
    const table = given[key];
    if (table === undefined) continue;
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      throw new SlotwiseOptionsError(
        `${owner}: expected \`costs.${key}\` to be an object of costs by type, got ${describeValue(table)}.`,
      );
    }
    for (const [type, cost] of Object.entries(table)) checkTaskCost(owner, `costs.${key}.${type}`, cost);
  }
  return Object.freeze({ ...(costs as TaskCosts) });
}

function checkTaskCost(owner: string, path: string, cost: unknown): void {
  if (typeof cost !== 'object' || cost === null || Array.isArray(cost)) {
    throw new SlotwiseOptionsError(
      `${owner}: expected \`${path}\` to be a cost like { cpu: 1, memoryBytes: 268435456 }, got ${describeValue(cost)}.`,
    );
  }
  checkKnownKeys(`${owner}: \`${path}\``, cost, COST_DIMENSIONS);
  for (const dimension of COST_DIMENSIONS) {
    const value = (cost as TaskCost)[dimension];
    if (value !== undefined) checkRule(owner, `${path}.${dimension}`, TASK_COST_RULES[dimension], value);
  }
}

/** The `costs` table a task type belongs to. */
export type TaskFamily = 'activities' | 'workflows';

/** The family and type name of a running task (`null` for Nexus tasks, which have neither). */
export function taskTypeOf(slotInfo: SlotInfo | undefined): { family: TaskFamily; type: string } | null {
  if (slotInfo?.type === 'workflow') return { family: 'workflows', type: slotInfo.workflowType };
  if (slotInfo?.type === 'activity' || slotInfo?.type === 'local-activity') {
    return { family: 'activities', type: slotInfo.activityType };
  }
  return null;
}

/** The family of the tasks a slot type runs. */
export const familyOfSlotType = (slotType: string): TaskFamily =>
  slotType === 'workflow' ? 'workflows' : 'activities';

/** The declared cost of the task `slotInfo`, or of any task when it is not known yet. */
export function declaredCost(
  costs: Readonly<TaskCosts>,
  slotInfo: SlotInfo | undefined,
): TaskCost | undefined {
  if (slotInfo !== undefined) {
    if (slotInfo.type === 'workflow') {
      const own = costs.workflows?.[slotInfo.workflowType];
      if (own) return own;
    } else if (slotInfo.type === 'activity' || slotInfo.type === 'local-activity') {
      const own = costs.activities?.[slotInfo.activityType];
      if (own) return own;
    }
  }
  return costs.default;
}

/** A cost of zero in every dimension. */
export const zeroCost = (): Required<TaskCost> => ({
  cpu: 0,
  memoryBytes: 0,
  gpus: 0,
  gpuMemoryBytes: 0,
  heapBytes: 0,
});
