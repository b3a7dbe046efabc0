import type { Client } from '@temporalio/client';
import {
  fleetManagerId,
  fleetSetSlotsUpdate,
  fleetStateQuery,
  validateFleetSlots,
} from '../workflows/fleet/definitions.js';
import type { FleetStateSnapshot } from '../workflows/fleet/types.js';
import { ANSWER_TIMEOUT_MS, callRunning, type NotRunning } from './running-workflow.js';

/**
 * Thrown by {@link getFleetState} and {@link setFleetSlots} when no lease manager runs for the fleet:
 * none of its processes holds or wants a lease now (a manager completes after its idle timeout), or
 * no process that hosts managers is running to answer.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { FleetNotRunningError, getFleetState } from 'slotwise/client';
 * try {
 *   await getFleetState(new Client(), 'licensed-api');
 * } catch (error) {
 *   if (error instanceof FleetNotRunningError) console.log(error.message);
 * }
 * ```
 */
export class FleetNotRunningError extends Error {
  override name = 'FleetNotRunningError';
  constructor(
    /** The fleet. */
    readonly fleet: string,
    detail: string,
  ) {
    super(`no lease manager of fleet '${fleet}' answers: ${detail}`);
  }
}

/**
 * A fleet's state from its lease manager: size, leases held and wanted per process, counters.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { getFleetState } from 'slotwise/client';
 * const state = await getFleetState(new Client(), 'licensed-api');
 * state.leased; // => 38
 * ```
 */
export async function getFleetState(client: Client, fleet: string): Promise<FleetStateSnapshot> {
  return callRunning(
    client,
    fleetManagerId(fleet),
    (handle) => handle.query(fleetStateQuery),
    notRunning(fleet),
  );
}

/**
 * Changes a running fleet's size live: the manager grants up to the new size at once (a smaller
 * one stops new grants until enough leases come back) and every process learns it with its next
 * answer. A process that starts later, or reloads a config that changed `slots`, applies its own
 * value again: make the change in the config too to keep it.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { setFleetSlots } from 'slotwise/client';
 * const state = await setFleetSlots(new Client(), 'licensed-api', 50);
 * state.slots; // => 50
 * ```
 */
export async function setFleetSlots(
  client: Client,
  fleet: string,
  slots: number,
): Promise<FleetStateSnapshot> {
  validateFleetSlots(slots);
  return callRunning(
    client,
    fleetManagerId(fleet),
    (handle) => handle.executeUpdate(fleetSetSlotsUpdate, { args: [{ slots }] }),
    notRunning(fleet),
  );
}

/** The error for a fleet whose manager cannot answer, saying why. */
const notRunning =
  (fleet: string) =>
  (why: NotRunning): FleetNotRunningError =>
    new FleetNotRunningError(
      fleet,
      why.kind === 'never'
        ? 'it never ran in this namespace; check the fleet name and namespace'
        : why.kind === 'closed'
          ? `its last manager is ${why.status} (no process held or wanted a lease for its idle timeout); the next process that needs a lease starts one with the slots of its config`
          : `its manager did not answer within ${ANSWER_TIMEOUT_MS / 1000} s; is a process that hosts lease managers running (${why.message})?`,
    );
