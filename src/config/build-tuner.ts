import type { Logger } from '@temporalio/common';
import type {
  NativeConnection,
  ResourceBasedTunerOptions,
  SlotInfo,
  SlotSupplier,
  TunerHolder,
  WorkflowBundleOption,
} from '@temporalio/worker';
import { FleetSlotSupplier } from '../fleet/fleet-slot-supplier.js';
import { ResourceSampler } from '../resources/sampler.js';
import { CompositeSlotSupplier } from '../suppliers/composite-slot-supplier.js';
import { CpuSlotSupplier } from '../suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../suppliers/fixed-slot-supplier.js';
import { GpuSlotSupplier } from '../suppliers/gpu-slot-supplier.js';
import { HeapSlotSupplier } from '../suppliers/heap-slot-supplier.js';
import type { LedgerSlotSupplier } from '../suppliers/ledger-slot-supplier.js';
import { MemorySlotSupplier } from '../suppliers/memory-slot-supplier.js';
import { ResourceSlotSupplier } from '../suppliers/resource-slot-supplier.js';
import type { SlotTypeCeilings } from '../suppliers/slot-type-limits.js';
import type { PerSlotType } from '../suppliers/types.js';
import { ConfigError } from './config-error.js';
import type { EffectiveConfig, EffectiveSlotwiseSupplier, EffectiveSupplier } from './effective-config.js';
import { parseConfigDetailed } from './parse-config.js';
import type { SlotwiseConfig, SlotwiseConfigInput } from './schema.js';

/** Options of {@link buildTuner}. */
export interface BuildTunerOptions {
  /**
   * Where the suppliers and the sampler log (errors caught in supplier callbacks, unreadable
   * resources, no GPU visible).
   * @default a `DefaultLogger` at `WARN` level
   */
  logger?: Logger;
  /**
   * Environment of `nvidia-smi` (`PATH`, `CUDA_VISIBLE_DEVICES`).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How `fleet` suppliers reach their lease managers: the Worker's `NativeConnection` (this process
   * then hosts lease managers too) and namespace. Needed when the config has a `fleet` supplier;
   * {@link withSlotwise} passes the Worker's.
   */
  fleet?: {
    connection: NativeConnection;
    /** @default 'default' */
    namespace?: string;
    /** A prebuilt bundle with {@link fleetLeaseManagerWorkflow}, for the hosted manager Worker. */
    managerWorkflowBundle?: WorkflowBundleOption;
  };
}

/** What {@link buildTuner} returns. */
export interface BuiltTuner {
  /** The `tuner` option of `Worker.create`. Nexus tasks get Temporal's fixed-size supplier (100 slots; 2000 under `resourceBased`). */
  tuner: TunerHolder;
  /** slotwise's suppliers by name (composite parts and shared suppliers included), for metrics and hot reload. */
  suppliers: Map<string, LedgerSlotSupplier>;
  /** The one sampler every resource supplier reads, started; `null` when none needs it. */
  sampler: ResourceSampler | null;
  /** The validated config it was built from. */
  config: SlotwiseConfig;
  /** That config with every default filled in. */
  effective: EffectiveConfig;
  /**
   * Stops the sampler and detaches the suppliers from it, and starts giving fleet leases back.
   * Idempotent. Call after the Worker stopped.
   */
  close(): void;
  /** Gives every fleet supplier's leases back and waits until they are (or timed out). Never rejects. */
  closeFleets(): Promise<void>;
}

/**
 * Builds the suppliers a config describes and the `tuner` to pass to `Worker.create`. The config
 * is validated first (a {@link ConfigError} lists every problem, including Temporal's constraints:
 * at least 2 workflow slots, one set of resource-based targets). Every cpu, memory and gpu
 * supplier reads one {@link ResourceSampler}, started here; a shared supplier is one instance
 * wherever it is named.
 *
 * @example
 * ```ts
 * import { Worker } from '@temporalio/worker';
 * import { buildTuner, slotwiseWorkerOptions } from 'slotwise';
 *
 * const built = buildTuner({
 *   workflow: { supplier: { type: 'fixed', slots: 10 } },
 *   activity: { supplier: { type: 'composite', parts: [{ type: 'fixed', slots: 8 }, { type: 'memory' }] } },
 * });
 * const worker = await Worker.create(slotwiseWorkerOptions({ taskQueue: 'work', activities: {}, tuner: built.tuner }));
 * [...built.suppliers.keys()]; // => ['workflow', 'activity-fixed', 'activity-memory', 'activity']
 * await worker.run();
 * built.close();
 * ```
 */
export function buildTuner(config: SlotwiseConfigInput, options: BuildTunerOptions = {}): BuiltTuner {
  const { config: parsed, effective } = parseConfigDetailed(config);
  const logger = options.logger ? { logger: options.logger } : {};
  const plan = effective.sampler;
  const sampler = plan
    ? new ResourceSampler({
        intervalMs: plan.intervalMs,
        gpuIntervalMs: plan.gpuIntervalMs,
        cpu: plan.cpu ? {} : false,
        memory: plan.memory
          ? {
              scope: plan.memory.scope,
              ...(plan.memory.limitBytes === null ? {} : { limitBytes: plan.memory.limitBytes }),
            }
          : false,
        gpu: plan.gpu
          ? { command: plan.gpu.nvidiaSmi, ...(options.env ? { env: options.env } : {}), ...logger }
          : false,
        heap: plan.heap ? {} : false,
        ...logger,
      })
    : null;

  const built = new Map<EffectiveSlotwiseSupplier, LedgerSlotSupplier>();
  const build = (node: EffectiveSlotwiseSupplier): LedgerSlotSupplier => {
    const done = built.get(node);
    if (done) return done;
    let supplier: LedgerSlotSupplier;
    const limits = { floors: node.floors, ceilings: definedCeilings(node.ceilings) };
    if (node.type === 'fixed') {
      supplier = new FixedSlotSupplier({ slots: node.slots, name: node.name, ...limits, ...logger });
    } else if (node.type === 'fleet') {
      if (options.fleet === undefined) {
        throw new ConfigError('config', [
          {
            path: node.path,
            message:
              'a fleet supplier needs a Temporal connection: buildTuner(config, { fleet: { connection } }) with the NativeConnection of your Workers (withSlotwise() and `slotwise worker` pass theirs)',
          },
        ]);
      }
      supplier = new FleetSlotSupplier({
        name: node.name,
        fleet: node.fleet,
        slots: node.slots,
        leaseTtlMs: node.leaseTtlMs,
        lingerMs: node.lingerMs,
        managerTaskQueue: node.managerTaskQueue,
        connection: options.fleet.connection,
        ...(options.fleet.namespace ? { namespace: options.fleet.namespace } : {}),
        ...(options.fleet.managerWorkflowBundle
          ? { managerWorkflowBundle: options.fleet.managerWorkflowBundle }
          : {}),
        ...logger,
      });
    } else if (node.type === 'composite') {
      supplier = asLedger(
        new CompositeSlotSupplier(node.parts.map(build), { name: node.name, ...limits, ...logger }),
      );
    } else {
      const common = {
        name: node.name,
        ...limits,
        minSlots: node.minSlots,
        maxSlots: node.maxSlots,
        targetUtilization: node.targetUtilization,
        hysteresis: node.hysteresis,
        rampThrottleMs: node.rampThrottleMs,
        settleMs: node.settleMs,
        ...(node.staleAfterMs === null ? {} : { staleAfterMs: node.staleAfterMs }),
        costs: node.costs,
        sampler: sampler!,
        ...logger,
      };
      supplier =
        node.type === 'cpu'
          ? new CpuSlotSupplier(common)
          : node.type === 'memory'
            ? new MemorySlotSupplier(common)
            : node.type === 'heap'
              ? new HeapSlotSupplier(common)
              : asLedger(new GpuSlotSupplier({ ...common, slotsPerDevice: node.slotsPerDevice ?? 1 }));
    }
    built.set(node, supplier);
    return supplier;
  };

  let tunerOptions: ResourceBasedTunerOptions | undefined;
  const slotSupplier = <SI extends SlotInfo>(node: EffectiveSupplier): SlotSupplier<SI> => {
    if (node.type === 'temporal-fixed-size') return { type: 'fixed-size', numSlots: node.numSlots };
    if (node.type === 'temporal-resource-based') {
      tunerOptions ??= { targetCpuUsage: node.targetCpuUsage, targetMemoryUsage: node.targetMemoryUsage };
      return {
        type: 'resource-based',
        tunerOptions,
        minimumSlots: node.minimumSlots,
        maximumSlots: node.maximumSlots,
        rampThrottle: node.rampThrottleMs,
      };
    }
    return build(node);
  };

  const close = () => {
    for (const supplier of built.values()) {
      if (supplier instanceof ResourceSlotSupplier || supplier instanceof CompositeSlotSupplier)
        supplier.close();
      // Gives the leases back in the background; closeFleets() waits for it.
      else if (supplier instanceof FleetSlotSupplier) void supplier.close();
    }
    sampler?.stop();
  };
  let tuner: TunerHolder;
  try {
    tuner = {
      workflowTaskSlotSupplier: slotSupplier(effective.workflow),
      activityTaskSlotSupplier: slotSupplier(effective.activity),
      localActivityTaskSlotSupplier: slotSupplier(effective.localActivity),
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: effective.nexus.numSlots },
    };
    // Each supplier keeps room for the floors of exactly the slot types the config gives it.
    for (const [slotType, node] of [
      ['workflow', effective.workflow],
      ['activity', effective.activity],
      ['local-activity', effective.localActivity],
    ] as const) {
      built.get(node as EffectiveSlotwiseSupplier)?.declareSlotTypes([slotType]);
    }
    for (const node of Object.values(effective.shared)) build(node);
  } catch (error) {
    close();
    throw error;
  }
  sampler?.start();
  const suppliers = new Map<string, LedgerSlotSupplier>();
  for (const supplier of built.values()) suppliers.set(supplier.name, supplier);
  let closed = false;
  return {
    tuner,
    suppliers,
    sampler,
    config: parsed,
    effective,
    close: () => {
      if (closed) return;
      closed = true;
      close();
    },
    closeFleets: async () => {
      await Promise.all(
        [...built.values()].map((supplier) =>
          supplier instanceof FleetSlotSupplier ? supplier.close() : Promise.resolve(),
        ),
      );
    },
  };
}

/** The ceilings a config sets (`null`: none) as supplier options. */
function definedCeilings(ceilings: PerSlotType<number | null>): SlotTypeCeilings {
  return Object.fromEntries(Object.entries(ceilings).filter(([, c]) => c !== null)) as SlotTypeCeilings;
}

/**
 * `LedgerSlotSupplier<X>` is invariant in its permit fields `X` (its ledger is a private field), so
 * a supplier with extra permit fields is not a `LedgerSlotSupplier<object>` to the compiler,
 * although every method works on it.
 */
function asLedger(supplier: GpuSlotSupplier | CompositeSlotSupplier): LedgerSlotSupplier {
  return supplier as unknown as LedgerSlotSupplier;
}
