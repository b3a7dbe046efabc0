import { Client, type ConnectionLike, WithStartWorkflowOperation } from '@temporalio/client';
import {
  FLEET_MANAGER_WORKFLOW_TYPE,
  fleetManagerId,
  fleetSetSlotsUpdate,
  fleetStateQuery,
  fleetSyncUpdate,
} from '../workflows/fleet/definitions.js';
import type {
  FleetManagerInput,
  FleetSettings,
  FleetStateSnapshot,
  FleetSyncRequest,
  FleetView,
} from '../workflows/fleet/types.js';

/**
 * How a {@link FleetSlotSupplier} reaches its fleet's lease manager. The default talks to the
 * Temporal cluster ({@link TemporalFleetTransport}); tests pass fakes.
 *
 * @example
 * ```ts
 * import type { FleetTransport } from 'slotwise';
 * const unreachable: FleetTransport = {
 *   sync: () => Promise.reject(new Error('no network')),
 *   setSlots: () => Promise.reject(new Error('no network')),
 * };
 * ```
 */
export interface FleetTransport {
  /**
   * Sends one sync request and resolves with the manager's answer; rejects on any failure (the
   * caller retries with a new request). Must stop when `signal` aborts.
   */
  sync(request: FleetSyncRequest, signal: AbortSignal): Promise<FleetView>;
  /** Sets the fleet's size; resolves with the manager's state after the change. */
  setSlots(slots: number, signal: AbortSignal): Promise<FleetStateSnapshot>;
}

/** Options of {@link TemporalFleetTransport}. */
export interface TemporalFleetTransportOptions {
  /** The connection: a Worker's `NativeConnection` or a client `Connection`. */
  connection: ConnectionLike;
  /** @default 'default' */
  namespace?: string;
  /** The fleet. */
  fleet: string;
  /** Task queue the manager runs on when a request has to start it. */
  managerTaskQueue: string;
  /** Settings of a manager this transport starts. */
  settings: Partial<FleetSettings>;
  /** The fleet size to start a manager with (the latest configured one). */
  slots: () => number;
}

/**
 * Reaches a fleet's lease manager workflow with Temporal updates. Every request is an
 * update-with-start (`USE_EXISTING`), so the first one starts the manager and one that finds it
 * completed (idle) starts a new one; the update id is `<holderId>:<seq>`, so a request the client
 * retries on its own is applied once.
 *
 * @example
 * ```ts
 * import { Connection } from '@temporalio/client';
 * import { TemporalFleetTransport } from 'slotwise/internal/fleet/fleet-transport.js';
 * const transport = new TemporalFleetTransport({
 *   connection: await Connection.connect(),
 *   fleet: 'licensed-api',
 *   managerTaskQueue: 'slotwise-fleet',
 *   settings: {},
 *   slots: () => 40,
 * });
 * const state = await transport.state(); // => { fleet: 'licensed-api', slots: 40, leased: 3, ... }
 * ```
 */
export class TemporalFleetTransport implements FleetTransport {
  readonly client: Client;
  readonly #options: TemporalFleetTransportOptions;

  constructor(options: TemporalFleetTransportOptions) {
    this.#options = options;
    this.client = new Client({ connection: options.connection, namespace: options.namespace ?? 'default' });
  }

  sync(request: FleetSyncRequest, signal: AbortSignal): Promise<FleetView> {
    return this.client.withAbortSignal(signal, () =>
      this.client.workflow.executeUpdateWithStart(fleetSyncUpdate, {
        args: [request],
        updateId: `${request.holderId}:${request.seq}`,
        startWorkflowOperation: this.#startOperation(request.slots),
      }),
    );
  }

  setSlots(slots: number, signal: AbortSignal): Promise<FleetStateSnapshot> {
    return this.client.withAbortSignal(signal, () =>
      this.client.workflow.executeUpdateWithStart(fleetSetSlotsUpdate, {
        args: [{ slots }],
        startWorkflowOperation: this.#startOperation(slots),
      }),
    );
  }

  /** Queries the manager's state; rejects when no manager runs for the fleet. */
  state(): Promise<FleetStateSnapshot> {
    return this.client.workflow.getHandle(fleetManagerId(this.#options.fleet)).query(fleetStateQuery);
  }

  #startOperation(slots: number | undefined) {
    const input: FleetManagerInput = {
      fleet: this.#options.fleet,
      slots: slots ?? this.#options.slots(),
      settings: this.#options.settings,
    };
    return new WithStartWorkflowOperation(FLEET_MANAGER_WORKFLOW_TYPE, {
      workflowId: fleetManagerId(this.#options.fleet),
      taskQueue: this.#options.managerTaskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }
}
