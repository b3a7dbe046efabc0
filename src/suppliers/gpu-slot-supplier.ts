import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import type { GpuDevice } from '../resources/gpu-monitor.js';
import { type ResourceSample, ResourceSampler, type SampledResource } from '../resources/sampler.js';
import { checkSampleInterval } from '../resources/sampler-options.js';
import { GateSums } from './gate-sums.js';
import type { PermitRecord } from './permit-ledger.js';
import { type GateReading, ResourceGate } from './resource-gate.js';
import {
  type GateView,
  type LearnedCosts,
  type ReadingFreshness,
  ResourceSlotSupplier,
  type ResourceSupplierOptions,
  type ResourceSupplierSnapshot,
  RiseWindow,
} from './resource-slot-supplier.js';
import { checkResourceOption, resourceOptionDefault } from './resource-supplier-options.js';
import { SoloTaskLearner } from './solo-task-learner.js';
import type { ReservationContext } from './types.js';

/** The GPU a permit is assigned: read it from `currentSlot()` or the permit to pin the task to it. */
export interface GpuAssignment {
  /** `nvidia-smi` index of the device. */
  index: number;
  /** Device UUID (stable across reboots and `CUDA_VISIBLE_DEVICES` renumbering). */
  uuid: string;
}

/** Extra fields on a {@link GpuSlotSupplier} permit. */
export interface GpuPermitFields {
  gpu: GpuAssignment;
}

/** Options of a {@link GpuSlotSupplier}. */
export interface GpuSlotSupplierOptions extends ResourceSupplierOptions {
  /**
   * Permits per device at most.
   * @default 1
   */
  slotsPerDevice?: number;
  /**
   * Environment for `nvidia-smi` (its `PATH` and `CUDA_VISIBLE_DEVICES`). Only without a `sampler`.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * The `nvidia-smi` program. Only without a `sampler`.
   * @default 'nvidia-smi'
   */
  nvidiaSmi?: string;
  /**
   * Milliseconds between `nvidia-smi` calls. Only without a `sampler`.
   * @default 1000
   */
  sampleIntervalMs?: number;
}

const OWNER = 'GpuSlotSupplier';
const OWN_SAMPLER_KEYS = ['env', 'nvidiaSmi', 'sampleIntervalMs'] as const;

/**
 * Assigns each permit a GPU: among the visible devices (`CUDA_VISIBLE_DEVICES` is honoured) with
 * fewer than `slotsPerDevice` permits, room for the declared `gpus` fraction, and projected
 * device memory under `targetUtilization`, the least loaded by memory, then by utilization. The
 * device is carried on the permit as `gpu: { index, uuid }`. Without `nvidia-smi` no device is
 * visible, one line says so, and no permit is issued beyond `minSlots` (default 0).
 *
 * @example
 * ```ts
 * import { GpuSlotSupplier } from 'slotwise';
 *
 * const gpus = new GpuSlotSupplier({
 *   slotsPerDevice: 2,
 *   targetUtilization: 0.9,
 *   costs: { activities: { infer: { gpuMemoryBytes: 6 * 1024 ** 3 } } },
 * });
 * // tuner: { activityTaskSlotSupplier: gpus, ... }
 * gpus.snapshot().readings.gpus; // => [{ index: 0, uuid: 'GPU-…', utilization: 0.3, ..., permits: 1 }]
 * gpus.close();
 * ```
 */
export class GpuSlotSupplier extends ResourceSlotSupplier<GpuPermitFields> {
  readonly #slotsPerDevice: number;
  /**
   * What is kept per device UUID: its gate, its live permits and their sums (kept on issue,
   * mark-used and release: a decision reads one device's sums, and walks no permit).
   */
  readonly #devices = new Map<string, DeviceState>();
  /** The clock when the current decision started, for the devices' views. */
  #viewNow = 0;
  #lastReading: unknown = null;
  #readingTaken = Number.NEGATIVE_INFINITY;
  #warnedNoDevice = false;

  constructor(options: GpuSlotSupplierOptions = {}) {
    const slotsPerDevice =
      options?.slotsPerDevice === undefined
        ? resourceOptionDefault('gpu', 'slotsPerDevice')!
        : checkResourceOption(OWNER, 'slotsPerDevice', options.slotsPerDevice);
    super({
      kind: 'gpu',
      owner: OWNER,
      options,
      extraKeys: ['slotsPerDevice'],
      ownSampler: { keys: OWN_SAMPLER_KEYS, instead: "configure the sampler's GPU monitor instead." },
      makeSampler: () =>
        new ResourceSampler({
          cpu: false,
          memory: false,
          gpuIntervalMs: checkSampleInterval(OWNER, options?.sampleIntervalMs, 'gpuIntervalMs'),
          gpu: {
            ...(options?.env ? { env: options.env } : {}),
            ...(options?.nvidiaSmi ? { command: options.nvidiaSmi } : {}),
            ...(options?.logger ? { logger: options.logger } : {}),
          },
          ...(options?.logger ? { logger: options.logger } : {}),
        }),
    });
    if (this.sampler.gpu === null) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`sampler\` to sample GPUs, but it was created without gpu.`,
      );
    }
    this.#slotsPerDevice = slotsPerDevice;
  }

  protected resources(): readonly SampledResource[] {
    return ['gpu'];
  }

  protected admitResources(
    request: ReservationContext,
    sample: ResourceSample,
    force: boolean,
  ): GpuPermitFields | null {
    const devices = sample.gpu?.devices ?? [];
    if (devices.length === 0) {
      // A missing nvidia-smi was already reported, once, by the GPU monitor.
      if (sample.gpu !== null && !sample.gpu.disabled && !this.#warnedNoDevice) {
        this.#warnedNoDevice = true;
        this.ledger.logger.warn(
          `slotwise supplier '${this.name}': no GPU is visible, so no GPU permit can be issued`,
        );
      }
      return null;
    }
    this.#viewNow = this.clock(); // once per decision, not once per permit
    let best: GpuDevice | undefined;
    let bestLoad = 0;
    let bestUtilization = 0;
    for (const device of devices) {
      const state = this.#device(device.uuid);
      if (state.records.size >= this.#slotsPerDevice) continue;
      if (!this.#fractionFits(state)) continue;
      let load = 0;
      const limit = memoryLimitOf(device);
      if (limit !== null) {
        const gate = this.syncTarget(state.gate);
        const tasks = this.gateLoad(state.view);
        const next = this.nextCost(gate, 'gpuMemoryBytes', request.slotType);
        if (!force && !gate.admits(tasks, next, limit)) continue;
        load = (gate.project(tasks, next) ?? device.memoryUsedBytes!) / limit;
      }
      const utilization = device.utilization ?? 0;
      if (best === undefined || load < bestLoad || (load === bestLoad && utilization < bestUtilization)) {
        best = device;
        bestLoad = load;
        bestUtilization = utilization;
      }
    }
    return best ? { gpu: { index: best.index, uuid: best.uuid } } : null;
  }

  protected observe(sample: ResourceSample): void {
    const reading = sample.gpu;
    if (reading === null || reading.stale || reading === this.#lastReading) return;
    this.#lastReading = reading;
    this.#readingTaken = this.readingTaken();
    for (const device of reading.devices) {
      const memory = memoryOf(device, reading.at);
      if (memory === null) continue;
      const state = this.#device(device.uuid);
      const gate = this.syncTarget(state.gate);
      state.rise.push(memory.at, memory.used);
      // The whole spread: a fall (memory freed by another process) can hide a task still allocating.
      const risen = state.rise.range(memory.at, this.settleMs);
      const load = gate.baseline === null ? 0 : Math.max(0, memory.used - gate.baseline);
      const settled =
        risen === null ? this.settleMs === 0 : risen <= Math.max(0.005 * memory.limit, 0.1 * load);
      this.#viewNow = this.clock();
      gate.observe(memory, this.gateTasks(state.view), settled);
      if (state.solo) {
        // A task shows at least this much (half a percent of the device, the flatness tolerance) to count.
        for (const { typeKey, cost } of state.solo.reading(memory.at, memory.used, 0.005 * memory.limit)) {
          gate.learnFromSoloTask(typeKey, cost, memory.limit);
        }
      }
    }
  }

  protected capacity(): number {
    let fit = 0;
    const reading = this.current().gpu;
    this.#viewNow = this.clock();
    for (const device of reading?.devices ?? []) {
      const state = this.#device(device.uuid);
      let more = this.#slotsPerDevice - state.records.size;
      const limit = memoryLimitOf(device);
      if (limit !== null) {
        const gate = this.syncTarget(state.gate);
        const room = gate.room(this.gateLoad(state.view), this.nextCost(gate, 'gpuMemoryBytes', null), limit);
        if (room !== null) more = Math.min(more, room);
      }
      fit += Math.max(0, more);
    }
    return this.clampCapacity(fit);
  }

  protected override freshness(resource: SampledResource, sample: ResourceSample): ReadingFreshness | null {
    if (resource === 'gpu' && sample.gpu?.disabled) {
      // No nvidia-smi: not stale, just no GPU (admission issues nothing, one line said so).
      return { ageMs: 0, stale: false, staleSince: null, reason: sample.gpu.error };
    }
    return super.freshness(resource, sample);
  }

  protected readings(sample: ResourceSample): ResourceSupplierSnapshot['readings'] {
    return {
      gpu: this.freshness('gpu', sample),
      gpus: (sample.gpu?.devices ?? []).map((device) => ({
        index: device.index,
        uuid: device.uuid,
        utilization: device.utilization,
        memoryUsedBytes: device.memoryUsedBytes,
        memoryTotalBytes: device.memoryTotalBytes,
        permits: this.#devices.get(device.uuid)?.records.size ?? 0,
      })),
    };
  }

  protected learnedCosts(): LearnedCosts {
    const learned: LearnedCosts = { activities: {}, workflows: {} };
    for (const { gate } of this.#devices.values()) {
      for (const [key, cost] of gate.learning.learned) {
        const slash = key.indexOf('/');
        const table = learned[key.slice(0, slash) as keyof LearnedCosts];
        const type = key.slice(slash + 1);
        table[type] = { gpuMemoryBytes: Math.max(cost, table[type]?.gpuMemoryBytes ?? 0) };
      }
    }
    return learned;
  }

  /**
   * Declared `gpus` fractions on a device must leave room for one more task's. A permit still
   * waiting for its task counts at the default fraction, as the next one does.
   */
  #fractionFits(state: DeviceState): boolean {
    const total = this.#fractions(state);
    return total === null || total <= 1 + 1e-9;
  }

  /**
   * The declared `gpus` fractions on device `uuid` with the next task's (`null` when none is
   * declared), as {@link admitResources} weighs them (tests).
   */
  protected fractionsOn(uuid: string): number | null {
    return this.#fractions(this.#device(uuid));
  }

  /**
   * Σ declared `gpus` of the device's running tasks, of its permits waiting for a task and of the
   * next task (both at the default), or `null` when none of them has one. Read from the device's
   * sums: running tasks by declared fraction, and the permits waiting for a task.
   */
  #fractions(state: DeviceState): number | null {
    const next = this.costs.default?.gpus;
    const running = state.sums.usedCosts('gpus', state.records);
    if (next === undefined && running.declaredCount === 0) return null;
    const waiting = next === undefined ? 0 : state.sums.reserved.size * next;
    return (next ?? 0) + running.declaredSum() + waiting;
  }

  /** What is kept for device `uuid`, created on first use (devices are few and kept for good). */
  #device(uuid: string): DeviceState {
    let state = this.#devices.get(uuid);
    if (state === undefined) {
      const records = new Set<PermitRecord<GpuPermitFields>>();
      const sums = new GateSums<GpuPermitFields>(this.costs);
      const gate = new ResourceGate({ target: this.target, hysteresis: this.hysteresis });
      state = {
        records,
        sums,
        gate,
        rise: new RiseWindow(),
        // One view per device, reused by every decision: its live permits, their sums, the
        // releases of its permits.
        view: {
          gate,
          dimension: 'gpuMemoryBytes',
          records,
          sums,
          shown: (record, releasedAt) => this.settleShown(record, releasedAt, this.#viewNow),
          released: (record) => record.permit.gpu.uuid === uuid,
        },
      };
      this.#devices.set(uuid, state);
    }
    state.view.readingTaken = this.#readingTaken;
    return state;
  }

  /** The gate, live permits and releases of device `uuid` as a decision sees them (tests). */
  protected deviceView(uuid: string): GateView<GpuPermitFields> {
    this.#viewNow = this.clock();
    return this.#device(uuid).view;
  }

  protected override onIssued(record: PermitRecord<GpuPermitFields>): void {
    super.onIssued(record);
    const uuid = record.permit.gpu?.uuid;
    if (uuid === undefined) return;
    const state = this.#device(uuid);
    state.records.add(record);
    state.sums.issued(record);
  }

  /**
   * Counts the task in its device's sums, and follows it if its memory cost is unknown and it runs
   * alone on the device: a task shorter than `settleMs` never shows in full, and a device's memory
   * reading keeps what it held, so the highest reading while it ran alone teaches its type's cost
   * (see {@link SoloTaskLearner}; as the memory and heap suppliers do).
   */
  protected override onUsed(record: PermitRecord<GpuPermitFields>): void {
    super.onUsed(record);
    const uuid = record.permit.gpu?.uuid;
    const state = uuid === undefined ? undefined : this.#devices.get(uuid);
    if (state === undefined) return;
    state.sums.used(record);
    const { declared, typeKey } = this.taskCost(state.gate, 'gpuMemoryBytes', record);
    const unknown = !declared && typeKey !== null && state.gate.learnedCost(typeKey) === undefined;
    if (!unknown && !state.solo?.following) return; // nothing to follow or spoil
    state.solo ??= new SoloTaskLearner(this.settleMs);
    // Other tasks running on the same device (this one is counted already).
    const othersRunning = state.sums.running > 1;
    state.solo.used(
      record.permit,
      unknown ? typeKey : null,
      this.clock(),
      state.gate.baseline,
      othersRunning,
    );
  }

  protected override onReleased(record: PermitRecord<GpuPermitFields>): void {
    const uuid = record.permit.gpu?.uuid;
    const state = uuid === undefined ? undefined : this.#devices.get(uuid);
    if (state?.records.delete(record)) state.sums.released(record);
    super.onReleased(record);
    state?.solo?.released(record.permit, this.clock());
  }
}
brandClass(GpuSlotSupplier, 'GpuSlotSupplier');

/** What a {@link GpuSlotSupplier} keeps per device. */
interface DeviceState {
  /** The live permits on the device, in issue order. */
  readonly records: Set<PermitRecord<GpuPermitFields>>;
  /** Their running sums. */
  readonly sums: GateSums<GpuPermitFields>;
  /** The device's memory gate. */
  readonly gate: ResourceGate;
  /** Its memory readings, to tell whether they still move. */
  readonly rise: RiseWindow;
  /** What a decision on the device reads. */
  readonly view: GateView<GpuPermitFields>;
  /** Learns the memory cost of tasks too short to settle, from ones that ran alone on the device. */
  solo?: SoloTaskLearner;
}

function memoryOf(device: GpuDevice, at: number): GateReading | null {
  const limit = memoryLimitOf(device);
  return limit === null ? null : { used: device.memoryUsedBytes!, limit, at };
}

/** The device's memory, when both used and total are known. */
function memoryLimitOf(device: GpuDevice): number | null {
  return device.memoryUsedBytes === null || device.memoryTotalBytes === null || device.memoryTotalBytes <= 0
    ? null
    : device.memoryTotalBytes;
}
