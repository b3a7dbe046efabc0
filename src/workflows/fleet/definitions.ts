import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  FleetSetSlotsRequest,
  FleetSettings,
  FleetStateSnapshot,
  FleetSyncRequest,
  FleetView,
} from './types.js';

/**
 * Workflow type name of {@link fleetLeaseManagerWorkflow}.
 *
 * @example
 * ```ts
 * import { FLEET_MANAGER_WORKFLOW_TYPE } from 'slotwise/internal/workflows/fleet/definitions.js';
 * FLEET_MANAGER_WORKFLOW_TYPE; // => 'fleetLeaseManagerWorkflow'
 * ```
 */
export const FLEET_MANAGER_WORKFLOW_TYPE = 'fleetLeaseManagerWorkflow';

/**
 * The workflow id of the lease manager of `fleet`: `slotwise-fleet:<fleet>`.
 *
 * @example
 * ```ts
 * import { fleetManagerId } from 'slotwise/internal/workflows/fleet/definitions.js';
 * fleetManagerId('licensed-api'); // => 'slotwise-fleet:licensed-api'
 * ```
 */
export function fleetManagerId(fleet: string): string {
  return `slotwise-fleet:${fleet}`;
}

/**
 * Lease manager settings used where the starting process does not say otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_FLEET_SETTINGS } from 'slotwise/internal/workflows/fleet/definitions.js';
 * DEFAULT_FLEET_SETTINGS; // => { leaseTtlMs: 30_000, maxHistoryEvents: 2_000, idleTimeoutMs: 600_000, maxWaitingSyncs: 6 }
 * ```
 */
export const DEFAULT_FLEET_SETTINGS: Readonly<FleetSettings> = Object.freeze({
  leaseTtlMs: 30_000,
  maxHistoryEvents: 2_000,
  idleTimeoutMs: 600_000,
  maxWaitingSyncs: 6,
});

/** Shortest lease TTL: a tick (an eighth of it) of at least 100 ms. */
export const MIN_LEASE_TTL_MS = 800;

/**
 * Holder -> manager: renew, say what is wanted and kept, get the holder's leases (a long poll when
 * `wait` is set). Sent by {@link FleetSlotSupplier}.
 *
 * @example
 * ```ts
 * import { fleetSyncUpdate } from 'slotwise/internal/workflows/fleet/definitions.js';
 * fleetSyncUpdate.name; // => 'slotwise.fleet.sync'
 * ```
 */
export const fleetSyncUpdate = defineUpdate<FleetView, [FleetSyncRequest]>('slotwise.fleet.sync');

/**
 * Changes a fleet's size live (what `slotwise fleet set-slots` and a config reload send).
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { fleetManagerId, fleetSetSlotsUpdate } from 'slotwise/internal/workflows/fleet/definitions.js';
 * const client = new Client();
 * const state = await client.workflow
 *   .getHandle(fleetManagerId('licensed-api'))
 *   .executeUpdate(fleetSetSlotsUpdate, { args: [{ slots: 50 }] });
 * state.slots; // => 50
 * ```
 */
export const fleetSetSlotsUpdate = defineUpdate<FleetStateSnapshot, [FleetSetSlotsRequest]>(
  'slotwise.fleet.setSlots',
);

/**
 * Query of a fleet's state: size, leases held and wanted per holder, counters.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { fleetManagerId, fleetStateQuery } from 'slotwise/internal/workflows/fleet/definitions.js';
 * const client = new Client();
 * const { slots, leased, holders } = await client.workflow
 *   .getHandle(fleetManagerId('licensed-api'))
 *   .query(fleetStateQuery);
 * ```
 */
export const fleetStateQuery = defineQuery<FleetStateSnapshot>('slotwise.fleet.state');

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;

/**
 * Throws a `TypeError` naming what is wrong with a sync request (the update's validator: a rejected
 * update writes nothing to the manager's history).
 *
 * @example
 * ```ts
 * import { validateFleetSyncRequest } from 'slotwise/internal/workflows/fleet/definitions.js';
 * validateFleetSyncRequest({ holderId: 'h', seq: 1, want: -1, hold: 0, wait: false });
 * // throws TypeError: fleet sync request: expected `want` to be an integer >= 0, got -1
 * ```
 */
export function validateFleetSyncRequest(request: FleetSyncRequest): void {
  const fail = (what: string, expected: string, got: unknown) => {
    throw new TypeError(
      `fleet sync request: expected \`${what}\` to be ${expected}, got ${JSON.stringify(got)}`,
    );
  };
  if (typeof request !== 'object' || request === null) fail('request', 'an object', request);
  if (!isText(request.holderId, 300)) fail('holderId', 'a string of 1-300 characters', request.holderId);
  if (!isCount(request.seq)) fail('seq', 'an integer >= 0', request.seq);
  if (!isCount(request.want)) fail('want', 'an integer >= 0', request.want);
  if (!isCount(request.hold)) fail('hold', 'an integer >= 0', request.hold);
  if (typeof request.wait !== 'boolean') fail('wait', 'a boolean', request.wait);
  if (request.extra !== undefined && !isCount(request.extra)) fail('extra', 'an integer >= 0', request.extra);
  if (request.slots !== undefined) validateFleetSlots(request.slots);
  if (request.known !== undefined) {
    const { known } = request;
    if (typeof known !== 'object' || known === null) fail('known', 'an object { held, cap, slots }', known);
    if (!isCount(known.held)) fail('known.held', 'an integer >= 0', known.held);
    if (known.cap !== null && !isCount(known.cap)) fail('known.cap', 'an integer >= 0 or null', known.cap);
    if (!isCount(known.slots)) fail('known.slots', 'an integer >= 0', known.slots);
  }
  if (request.label !== undefined && !isText(request.label, 300)) {
    fail('label', 'a string of 1-300 characters', request.label);
  }
}

/**
 * Throws a `TypeError` unless `slots` is a valid fleet size: an integer in [1, 1_000_000].
 *
 * @example
 * ```ts
 * import { validateFleetSlots } from 'slotwise/internal/workflows/fleet/definitions.js';
 * validateFleetSlots(40); // fine
 * ```
 */
export function validateFleetSlots(slots: unknown): asserts slots is number {
  if (!isCount(slots) || slots < 1 || slots > 1_000_000) {
    throw new TypeError(
      `fleet: expected \`slots\` to be an integer in [1, 1000000], got ${JSON.stringify(slots)}`,
    );
  }
}

/**
 * Settings with defaults filled in and bad values replaced by defaults (a manager must start
 * whatever a process sent; processes validate their options before sending).
 *
 * @example
 * ```ts
 * import { fleetSettings } from 'slotwise/internal/workflows/fleet/definitions.js';
 * fleetSettings({ leaseTtlMs: 10_000 }).leaseTtlMs; // => 10000
 * ```
 */
export function fleetSettings(settings: Partial<FleetSettings> | undefined): FleetSettings {
  const pick = (key: keyof FleetSettings, min: number): number => {
    const value = settings?.[key];
    return isCount(value) && value >= min ? value : DEFAULT_FLEET_SETTINGS[key];
  };
  return {
    leaseTtlMs: pick('leaseTtlMs', MIN_LEASE_TTL_MS),
    maxHistoryEvents: pick('maxHistoryEvents', 100),
    idleTimeoutMs: pick('idleTimeoutMs', 1),
    maxWaitingSyncs: pick('maxWaitingSyncs', 0),
  };
}
