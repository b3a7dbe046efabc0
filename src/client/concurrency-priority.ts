import type { Priority } from '@temporalio/common';

/** Options of {@link concurrencyPriority}. */
export interface ConcurrencyPriorityOptions {
  /**
   * Share of dispatches the key gets relative to other keys (Temporal's `fairnessWeight`).
   * @default 1 (the server's default)
   */
  weight?: number;
  /** Temporal priority key (1 is dispatched first). @default the server's default (3) */
  priorityKey?: number;
}

/**
 * The `priority` to start a workflow with when it runs `withConcurrency()` for `key`: its fairness key
 * is the concurrency key, so task-queue fairness dispatches the workflow tasks of the keys in turn,
 * including the one that asks for a grant: a flooded key does not delay the requests of other keys
 * before they reach the controller. (The activities and child workflows `withConcurrency()` runs get
 * the key as fairness key by themselves.) Needs a server with task-queue fairness on.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { concurrencyPriority } from 'slotwise/client';
 *
 * const client = new Client();
 * await client.workflow.start('reportWorkflow', {
 *   taskQueue: 'reports',
 *   workflowId: 'report-tenant-a-42',
 *   args: ['tenant-a'],
 *   priority: concurrencyPriority('tenant-a'), // => { fairnessKey: 'tenant-a' }
 * });
 * ```
 */
export function concurrencyPriority(key: string, options: ConcurrencyPriorityOptions = {}): Priority {
  if (typeof key !== 'string') {
    throw new TypeError(`concurrencyPriority: expected \`key\` to be a string, got ${typeof key}.`);
  }
  const { weight, priorityKey } = options;
  if (weight !== undefined && !(typeof weight === 'number' && weight > 0 && Number.isFinite(weight))) {
    throw new TypeError(
      `concurrencyPriority: expected \`weight\` to be a finite number > 0, got \`${String(weight)}\`.`,
    );
  }
  if (priorityKey !== undefined && !(Number.isInteger(priorityKey) && priorityKey >= 1)) {
    throw new TypeError(
      `concurrencyPriority: expected \`priorityKey\` to be an integer >= 1, got \`${String(priorityKey)}\`.`,
    );
  }
  return {
    fairnessKey: key,
    ...(weight === undefined ? {} : { fairnessWeight: weight }),
    ...(priorityKey === undefined ? {} : { priorityKey }),
  };
}
