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

/**
 * Milliseconds a spare lease is kept while no other process waits, unless a supplier says otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_FLEET_LINGER_MS } from 'slotwise/internal/fleet/fleet-defaults.js';
 * DEFAULT_FLEET_LINGER_MS; // => 1000
 * ```
 */
export const DEFAULT_FLEET_LINGER_MS = 1_000;
