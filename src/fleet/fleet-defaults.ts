/**
 * Task queue lease managers run on unless a supplier says otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_FLEET_MANAGER_TASK_QUEUE } from 'slotwise';
 * DEFAULT_FLEET_MANAGER_TASK_QUEUE; // => 'slotwise-fleet'
 * ```
 */
export const DEFAULT_FLEET_MANAGER_TASK_QUEUE = 'slotwise-fleet';
