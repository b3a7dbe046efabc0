import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { SlotReserveContext, WorkflowBundleOption } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { SlotwiseOptionsError } from '../errors.js';
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  describeValue,
  optionError,
} from '../option-checks.js';
import { checkOption, checkRule } from '../option-rules.js';
import {
  LedgerSlotSupplier,
  SUPPLIER_BASE_OPTION_KEYS,
  type SupplierBaseOptions,
} from '../suppliers/ledger-slot-supplier.js';
import type { PermitRecord } from '../suppliers/permit-ledger.js';
import { NO_FLOORS } from '../suppliers/slot-type-limits.js';
import type { ReservationContext, SlotwisePermit, SupplierSnapshot } from '../suppliers/types.js';
import { FleetLeaseClient, type FleetLeaseSnapshot } from './fleet-lease-client.js';
import { FLEET_OPTION_RULES, type FleetOptionKey } from './fleet-supplier-options.js';
import { type FleetTransport, TemporalFleetTransport } from './fleet-transport.js';
import { hostFleetManagers } from './manager-host.js';

/** Options of a {@link FleetSlotSupplier}. */
export interface FleetSlotSupplierOptions extends SupplierBaseOptions {
  /**
   * The fleet: every supplier with this name in the namespace shares one budget (one lease manager
   * workflow, id `slotwise-fleet:<fleet>`). 1-200 characters.
   */
  fleet: string;
  /**
   * Permits outstanding at once across the whole fleet. Applied to the manager when this supplier
   * first asks for a lease and by {@link FleetSlotSupplier.setSlots}; the latest change wins (a
   * process starting with another value, a config reload, `slotwise fleet set-slots`).
   */
  slots: number;
  /**
   * The connection to the Temporal cluster, usually the one your Workers use. Needed unless
   * `transport` is given; a `NativeConnection` also lets this process host lease managers.
   */
  connection?: NativeConnection;
  /**
   * Temporal namespace of the fleet.
   * @default 'default'
   */
  namespace?: string;
  /**
   * Most milliseconds from a process's last renewal until its leases return to the fleet (used when
   * this process starts the manager; the running manager's value applies). At least 800.
   * @default 30_000
   */
  leaseTtlMs?: number;
  /**
   * Milliseconds a spare lease (no permit on it, no reservation waiting) is kept while no other
   * process waits, so a following burst needs no round trip. While others wait it goes back at once.
   * @default 1_000
   */
  lingerMs?: number;
  /**
   * Task queue of the lease manager workflows.
   * @default 'slotwise-fleet'
   */
  managerTaskQueue?: string;
  /**
   * Run lease managers in this process (a small Worker on `managerTaskQueue`, shared by every fleet
   * supplier of the process). Turn off only when Workers of your own register
   * {@link fleetLeaseManagerWorkflow} on that task queue.
   * @default true (needs `connection`)
   */
  hostManager?: boolean;
  /**
   * A prebuilt workflow bundle containing {@link fleetLeaseManagerWorkflow} for the hosted manager
   * Worker; without it slotwise bundles its workflows once per process (a few seconds).
   */
  managerWorkflowBundle?: WorkflowBundleOption;
  /**
   * Settings of a lease manager this supplier starts (a running manager keeps its own): when it
   * continues as new, and how long it stays with no holder.
   * @default { maxHistoryEvents: 2_000, idleTimeoutMs: 600_000 }
   */
  managerSettings?: { maxHistoryEvents?: number; idleTimeoutMs?: number };
  /** How the supplier reaches the manager; replaces `connection` (tests, custom transports). */
  transport?: FleetTransport;
  /**
   * Fewest milliseconds between two requests that replace one in flight (demand changes are
   * batched over this window).
   * @default 20
   */
  minSyncIntervalMs?: number;
}

/** A fleet supplier's snapshot: its own counts plus its fleet's. */
export interface FleetSupplierSnapshot extends SupplierSnapshot {
  fleet: FleetLeaseSnapshot;
}

/** The scalar options of a {@link FleetSlotSupplier}, given or defaulted. */
type FleetSettings = Required<Pick<FleetSlotSupplierOptions, FleetOptionKey>>;

const OWNER = 'FleetSlotSupplier';
const OPTION_KEYS = [
  ...Object.keys(FLEET_OPTION_RULES),
  'connection',
  'hostManager',
  'managerWorkflowBundle',
  'managerSettings',
  'transport',
  // No `floors`: a fleet budget is a hard cap (see the constructor).
  ...SUPPLIER_BASE_OPTION_KEYS.filter((key) => key !== 'floors'),
];

function checkManagerSettings(value: FleetSlotSupplierOptions['managerSettings']): {
  maxHistoryEvents?: number;
  idleTimeoutMs?: number;
} {
  if (value === undefined) return {};
  checkOptionsObject(`${OWNER} managerSettings`, value);
  checkKnownKeys(`${OWNER} managerSettings`, value, ['maxHistoryEvents', 'idleTimeoutMs']);
  return {
    ...(value.maxHistoryEvents === undefined
      ? {}
      : {
          maxHistoryEvents: checkInteger(
            OWNER,
            'managerSettings.maxHistoryEvents',
            value.maxHistoryEvents,
            100,
          ),
        }),
    ...(value.idleTimeoutMs === undefined
      ? {}
      : { idleTimeoutMs: checkInteger(OWNER, 'managerSettings.idleTimeoutMs', value.idleTimeoutMs, 1) }),
  };
}

/**
 * One slot budget shared by every Worker process of a fleet, on whatever machines they run: at most
 * `slots` permits out at once across all of them. The budget lives in a durable lease manager
 * workflow on your Temporal cluster (no other infrastructure); each process holds leases from it and
 * puts its permits on them, so `reserveSlot` needs no round trip while the process holds a spare
 * lease. Leases are asked for and given back in batches, spare ones go back after `lingerMs`,
 * processes that wait are served round-robin up to their fair share, and a process that stops
 * renewing (dead, cut off) loses its leases within `leaseTtlMs`; it stops admitting new tasks on
 * them before the manager takes them back.
 *
 * A slotwise supplier like the others: use it alone, as a part of a {@link CompositeSlotSupplier}
 * (a local CPU gate and the fleet budget), shared by several Workers of a process. Call
 * {@link close} after the Workers stopped, to give the leases back at once.
 *
 * @example
 * ```ts
 * import { NativeConnection, Worker } from '@temporalio/worker';
 * import { FleetSlotSupplier, slotwiseWorkerOptions } from 'slotwise';
 *
 * const connection = await NativeConnection.connect({ address: 'localhost:7233' });
 * const licensedApi = new FleetSlotSupplier({ fleet: 'licensed-api', slots: 40, connection });
 * const worker = await Worker.create(
 *   slotwiseWorkerOptions({
 *     connection,
 *     taskQueue: 'calls',
 *     activities: {
 *       callLicensedApi: async (query: string) =>
 *         (await fetch(`https://licensed.example.com/v1?q=${encodeURIComponent(query)}`)).json(),
 *     },
 *     tuner: {
 *       activityTaskSlotSupplier: licensedApi,
 *       workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *     },
 *   }),
 * );
 * await worker.run();
 * await licensedApi.close();
 * ```
 */
export class FleetSlotSupplier extends LedgerSlotSupplier {
  /** The fleet's name. */
  readonly fleet: string;
  /** This supplier's id at the lease manager (host, pid, name, a random part). */
  readonly holderId: string;
  /** The scalar options as given or defaulted (`slots`: as constructed; {@link slots} is the fleet's size now). */
  protected readonly settings: Readonly<FleetSettings>;
  readonly #client: FleetLeaseClient;
  readonly #releaseHost: (() => Promise<void>) | undefined;
  #warnedWorkflow = false;
  #closed: Promise<void> | undefined;
  /** Activity permits issued to a poll that has no task yet, per task queue. */
  readonly #idlePolls = new Map<string, number>();
  /** Whether the ledger's round-robin was given this process's place (once, when first contended). */
  #turnsPlaced = false;

  constructor(options: FleetSlotSupplierOptions) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, OPTION_KEYS);
    const rule = <K extends FleetOptionKey>(key: K) =>
      checkOption(OWNER, key, FLEET_OPTION_RULES[key], options[key]) as FleetSettings[K];
    const settings: FleetSettings = {
      fleet: rule('fleet'),
      slots: rule('slots'),
      namespace: rule('namespace'),
      leaseTtlMs: rule('leaseTtlMs'),
      lingerMs: rule('lingerMs'),
      managerTaskQueue: rule('managerTaskQueue'),
      minSyncIntervalMs: rule('minSyncIntervalMs'),
    };
    const { fleet, slots, namespace, leaseTtlMs, lingerMs, managerTaskQueue, minSyncIntervalMs } = settings;
    const managerSettings = checkManagerSettings(options.managerSettings);
    const { connection, transport } = options;
    if (transport !== undefined) {
      if (typeof transport !== 'object' || transport === null || typeof transport.sync !== 'function') {
        optionError(OWNER, 'transport', 'a FleetTransport (with `sync` and `setSlots`)', transport);
      }
    } else if (connection === undefined) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`connection\` (the NativeConnection your Workers use) to reach the lease manager of fleet '${fleet}', got \`undefined\`.`,
      );
    }
    if (options.hostManager !== undefined && typeof options.hostManager !== 'boolean') {
      optionError(OWNER, 'hostManager', 'a boolean', options.hostManager);
    }
    const hostManager = options.hostManager ?? transport === undefined;
    if (hostManager && !(connection instanceof NativeConnection)) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`connection\` to be a NativeConnection (from @temporalio/worker) to host lease managers in this process, got ${describeValue(connection)}. Pass the Workers' NativeConnection, or \`hostManager: false\` when Workers of your own run \`fleetLeaseManagerWorkflow\`.`,
      );
    }
    // No floors: a floor permit is issued without the admission rule, and here that rule is the
    // lease. Per (slot type, task queue) floors would let a process exceed its leases, so the fleet
    // budget would no longer be a hard cap (see admitFloor below for a composite's floors).
    super('fleet', options, NO_FLOORS);
    this.fleet = fleet;
    this.settings = Object.freeze(settings);
    this.holderId = `${hostname()}:${process.pid}:${this.name}:${randomUUID().slice(0, 8)}`;
    const sink =
      transport ??
      new TemporalFleetTransport({
        connection: connection!,
        namespace,
        fleet,
        managerTaskQueue,
        settings: { ...managerSettings, leaseTtlMs },
        slots: () => this.#client.slots,
      });
    this.#client = new FleetLeaseClient({
      fleet,
      slots,
      holderId: this.holderId,
      label: `${hostname()} pid ${process.pid} ${this.name}`,
      transport: sink,
      lingerMs,
      leaseTtlMs,
      minSyncIntervalMs,
      logger: this.ledger.logger,
      now: options.now ?? (() => performance.now()),
      demand: () => ({ inUse: this.ledger.issued, waiting: this.ledger.waiting }),
      onChange: () => {
        this.#placeTurns();
        this.ledger.wake();
      },
    });
    this.#releaseHost =
      hostManager && connection instanceof NativeConnection
        ? hostFleetManagers({
            connection,
            namespace,
            taskQueue: managerTaskQueue,
            logger: this.ledger.logger,
            ...(options.managerWorkflowBundle ? { workflowBundle: options.managerWorkflowBundle } : {}),
          })
        : undefined;
    this.subscribe((event) => {
      if (event.type === 'reservation') {
        if (event.result === 'eager-denied') this.#client.noteDenied();
        else this.#client.changed();
      } else if (event.type === 'release') {
        this.#client.changed();
      }
    });
  }

  /** The fleet's size, as its lease manager last said (the configured one before the first answer). */
  get slots(): number {
    return this.#client.slots;
  }

  /**
   * Changes the fleet's size for every process of the fleet. Permits in flight are kept; a smaller
   * size stops new leases until enough come back. Resolves once the manager applied it; rejects when
   * it cannot be reached (the size is then sent with this process's next request).
   */
  setSlots(slots: number): Promise<void> {
    checkRule(OWNER, 'slots', FLEET_OPTION_RULES.slots, slots);
    return this.#client.setSlots(slots);
  }

  /** @inheritDoc */
  override reserveSlot(ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotwisePermit> {
    const permit = super.reserveSlot(ctx, abortSignal);
    this.#client.changed(); // a reservation may be waiting now
    return permit;
  }

  /**
   * A composite tries its parts silently (no event), so the demand a refused try stands for is
   * noted here: without it a fleet part would never ask for the leases the composite waits for.
   * A composite's floor permit is admitted on a lease like any other ({@link admitFloor}).
   */
  override takeForComposite(request: ReservationContext, floor = false): (SlotwisePermit & object) | null {
    const permit = super.takeForComposite(request, floor);
    if (permit === null) this.#client.noteDenied();
    return permit;
  }

  /** @inheritDoc */
  override returnToComposite(permit: unknown): boolean {
    const returned = super.returnToComposite(permit);
    if (returned) this.#client.changed(); // a lease may be spare now
    return returned;
  }

  /**
   * A floor permit needs a lease too: a composite with a fleet part takes its floor permits from
   * the fleet like any other (the budget is a hard cap; floors only order who gets leases first).
   */
  protected override admitFloor(request: ReservationContext): object | null {
    return this.admit(request);
  }

  /**
   * Core reserves a permit before each poll, so a poll holds a lease while it waits for a task, up
   * to a minute on a task queue that has run dry. While the fleet is contended that lease is one
   * another process could use: then a task queue gets a second poll in this process only once its
   * waiting one received a task, and the lease goes to a poll of another queue meanwhile (the
   * ledger's round-robin offers the next waiting queue).
   */
  protected admit(request: ReservationContext): object | null {
    if (
      request.slotType === 'activity' &&
      this.#client.contended &&
      (this.#idlePolls.get(request.taskQueue) ?? 0) > 0
    ) {
      return null;
    }
    if (request.slotType === 'workflow' && !this.#warnedWorkflow) {
      this.#warnedWorkflow = true;
      this.ledger.logger.warn(
        `slotwise fleet supplier '${this.name}' serves workflow tasks: a fleet budget is meant for activities; workflow tasks that wait for a lease can stall the Worker`,
      );
    }
    return this.#client.canIssue(this.ledger.issued) ? {} : null;
  }

  protected override onIssued(record: PermitRecord<object>): void {
    if (record.permit.slotType !== 'activity') return;
    const queue = record.permit.taskQueue;
    this.#idlePolls.set(queue, (this.#idlePolls.get(queue) ?? 0) + 1);
  }

  /**
   * The first time the fleet is contended, the ledger's round-robin over waiting task queues starts
   * where the order in which processes joined the fleet puts it (the first process to join at the
   * first waiting queue in name order, the second at the second, ...), so processes that start
   * together put their first polls on different queues rather than all on the same one, and a queue
   * is not left with no poll at all while others have several. From there the ledger goes round the
   * waiting queues in name order (a queue that starts waiting later joins at the end of the round).
   */
  #placeTurns(): void {
    if (this.#turnsPlaced || !this.#client.contended) return;
    this.#turnsPlaced = true;
    this.ledger.startTurnsAt(this.#client.joinedAmong - 1);
  }

  protected override onUsed(record: PermitRecord<object>): void {
    if (record.permit.slotType !== 'activity') return;
    this.#pollEnded(record.permit.taskQueue);
    // The queue's next poll may go ahead now.
    if (this.ledger.waiting > 0) this.ledger.wake();
  }

  protected override onReleased(record: PermitRecord<object>): void {
    if (record.permit.slotType === 'activity' && record.usedAt === undefined) {
      this.#pollEnded(record.permit.taskQueue);
    }
  }

  #pollEnded(queue: string): void {
    const idle = (this.#idlePolls.get(queue) ?? 0) - 1;
    if (idle > 0) this.#idlePolls.set(queue, idle);
    else this.#idlePolls.delete(queue);
  }

  protected capacity(): number {
    return this.#client.usable();
  }

  /**
   * Every permit holds a lease other processes wait for: a permit granted to a reservation that core
   * then dropped (a Worker shutting down) is taken back at the abort, not when someone next looks.
   */
  protected override listensToEveryGrant(): boolean {
    return true;
  }

  override snapshot(): FleetSupplierSnapshot {
    return { ...super.snapshot(), fleet: this.#client.snapshot(this.ledger.issued) };
  }

  /**
   * Gives every lease back and stops the hosted lease manager Worker (when no other supplier of the
   * process uses it). Call after the Workers using this supplier stopped. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#client.close();
      await this.#releaseHost?.();
    })();
    return this.#closed;
  }
}
