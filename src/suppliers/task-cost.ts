import type { SlotInfo } from '@temporalio/worker';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, describeValue } from '../option-checks.js';

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

/** The cost dimensions, in the order they are reported. */
export const COST_DIMENSIONS = ['cpu', 'memoryBytes', 'gpus', 'gpuMemoryBytes', 'heapBytes'] as const;

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
  checkKnownKeys(`${owner}: \`costs\``, costs as object, ['default', 'activities', 'workflows']);
  const { default: fallback, activities, workflows } = costs as TaskCosts;
  if (fallback !== undefined) checkTaskCost(owner, 'costs.default', fallback);
  for (const [key, table] of [
    ['activities', activities],
    ['workflows', workflows],
  ] as const) {
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
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw new SlotwiseOptionsError(
        `${owner}: expected \`${path}.${dimension}\` to be a finite number >= 0, got ${describeValue(value)}.`,
      );
    }
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
