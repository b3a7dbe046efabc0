import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import type { GpuDevice } from '../resources/gpu-monitor.js';
import { type ResourceSample, ResourceSampler, type SampledResource } from '../resources/sampler.js';
import { checkSampleInterval } from '../resources/sampler-options.js';
import type { PermitRecord } from './permit-ledger.js';
import { type GateLoad, type GateReading, type GateTask, ResourceGate } from './resource-gate.js';
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
import { declaredCost } from './task-cost.js';
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
  readonly #gates = new Map<string, ResourceGate>();
  readonly #rises = new Map<string, RiseWindow>();
  /** Live permits per device UUID, kept on issue and release: a decision walks one device's, with no copy. */
  readonly #onDevice = new Map<string, Set<PermitRecord<GpuPermitFields>>>();
  #lastReading: unknown = null;
  #readingTaken = Number.NEGATIVE_INFINITY;
  #warnedNoDevice = false;

  constructor(options: GpuSlotSupplierOptions = {}) {
    if (options?.sampler !== undefined) {
      for (const key of OWN_SAMPLER_KEYS) {
        if (options[key] !== undefined) {
          throw new SlotwiseOptionsError(
            `${OWNER}: \`${key}\` applies only when the supplier creates its own sampler; configure the sampler's GPU monitor instead.`,
          );
        }
      }
    }
    const slotsPerDevice =
      options?.slotsPerDevice === undefined
        ? resourceOptionDefault('gpu', 'slotsPerDevice')!
        : checkResourceOption(OWNER, 'slotsPerDevice', options.slotsPerDevice);
    super({
      kind: 'gpu',
      owner: OWNER,
      options,
      extraKeys: ['slotsPerDevice', ...OWN_SAMPLER_KEYS],
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
    let best: { device: GpuDevice; load: number; utilization: number } | undefined;
    for (const device of devices) {
      const records = this.#recordsOn(device.uuid);
      if (records.size >= this.#slotsPerDevice) continue;
      if (!this.#fractionFits(records)) continue;
      const memory = memoryOf(device, sample.gpu!.at);
      let load = 0;
      if (memory !== null) {
        const gate = this.#gate(device.uuid);
        const tasks = this.#load(gate, device.uuid, records);
        const next = this.nextCost(gate, 'gpuMemoryBytes', request.slotType);
        if (!force && !gate.admits(tasks, next, memory.limit)) continue;
        load = (gate.project(tasks, next) ?? memory.used) / memory.limit;
      }
      const utilization = device.utilization ?? 0;
      if (!best || load < best.load || (load === best.load && utilization < best.utilization)) {
        best = { device, load, utilization };
      }
    }
    return best ? { gpu: { index: best.device.index, uuid: best.device.uuid } } : null;
  }

  protected observe(sample: ResourceSample): void {
    const reading = sample.gpu;
    if (reading === null || reading.stale || reading === this.#lastReading) return;
    this.#lastReading = reading;
    this.#readingTaken = this.readingTaken();
    for (const device of reading.devices) {
      const memory = memoryOf(device, reading.at);
      if (memory === null) continue;
      const gate = this.#gate(device.uuid);
      let rise = this.#rises.get(device.uuid);
      if (rise === undefined) {
        rise = new RiseWindow();
        this.#rises.set(device.uuid, rise);
      }
      rise.push(memory.at, memory.used);
      // The whole spread: a fall (memory freed by another process) can hide a task still allocating.
      const risen = rise.range(memory.at, this.settleMs);
      const load = gate.baseline === null ? 0 : Math.max(0, memory.used - gate.baseline);
      const settled =
        risen === null ? this.settleMs === 0 : risen <= Math.max(0.005 * memory.limit, 0.1 * load);
      gate.observe(memory, this.#tasks(gate, device.uuid, this.#recordsOn(device.uuid)), settled);
    }
  }

  protected capacity(): number {
    let fit = 0;
    const reading = this.current().gpu;
    for (const device of reading?.devices ?? []) {
      const records = this.#recordsOn(device.uuid);
      let more = this.#slotsPerDevice - records.size;
      const memory = memoryOf(device, reading!.at);
      if (memory !== null) {
        const gate = this.#gate(device.uuid);
        const room = gate.room(
          this.#load(gate, device.uuid, records),
          this.nextCost(gate, 'gpuMemoryBytes', null),
          memory.limit,
        );
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
        permits: this.#recordsOn(device.uuid).size,
      })),
    };
  }

  protected learnedCosts(): LearnedCosts {
    const learned: LearnedCosts = { activities: {}, workflows: {} };
    for (const gate of this.#gates.values()) {
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
  #fractionFits(records: ReadonlySet<PermitRecord<GpuPermitFields>>): boolean {
    const next = this.costs.default?.gpus;
    let total = next ?? 0;
    let declared = next !== undefined;
    for (const record of records) {
      const charged = record.state === 'used' ? declaredCost(this.costs, record.slotInfo)?.gpus : undefined;
      const gpus = charged ?? (record.state === 'reserved' ? next : undefined);
      if (gpus !== undefined) declared = true;
      total += gpus ?? 0;
    }
    return !declared || total <= 1 + 1e-9;
  }

  #tasks(gate: ResourceGate, uuid: string, records: ReadonlySet<PermitRecord<GpuPermitFields>>): GateTask[] {
    return this.gateTasks(this.#view(gate, uuid, records));
  }

  #load(gate: ResourceGate, uuid: string, records: ReadonlySet<PermitRecord<GpuPermitFields>>): GateLoad {
    return this.gateLoad(this.#view(gate, uuid, records));
  }

  /** The tasks of device `uuid`: its live permits `records` and the releases of its permits. */
  #view(
    gate: ResourceGate,
    uuid: string,
    records: ReadonlySet<PermitRecord<GpuPermitFields>>,
  ): GateView<GpuPermitFields> {
    const now = this.clock(); // once per decision, not once per permit
    return {
      gate,
      dimension: 'gpuMemoryBytes',
      records,
      shown: (record, releasedAt) => this.settleShown(record, releasedAt, now),
      released: (record) => record.permit.gpu.uuid === uuid,
      readingTaken: this.#readingTaken,
    };
  }

  /** The live permits on device `uuid`, in issue order. The set itself: callers must not change it. */
  #recordsOn(uuid: string): ReadonlySet<PermitRecord<GpuPermitFields>> {
    return this.#onDevice.get(uuid) ?? NO_RECORDS;
  }

  protected override onIssued(record: PermitRecord<GpuPermitFields>): void {
    super.onIssued(record);
    const uuid = record.permit.gpu?.uuid;
    if (uuid === undefined) return;
    let records = this.#onDevice.get(uuid);
    if (records === undefined) {
      records = new Set();
      this.#onDevice.set(uuid, records);
    }
    records.add(record);
  }

  protected override onReleased(record: PermitRecord<GpuPermitFields>): void {
    const uuid = record.permit.gpu?.uuid;
    const records = uuid === undefined ? undefined : this.#onDevice.get(uuid);
    if (records?.delete(record) && records.size === 0) this.#onDevice.delete(uuid!);
    super.onReleased(record);
  }

  #gate(uuid: string): ResourceGate {
    let gate = this.#gates.get(uuid);
    if (!gate) {
      gate = new ResourceGate({ target: this.target, hysteresis: this.hysteresis });
      this.#gates.set(uuid, gate);
    }
    return this.syncTarget(gate);
  }
}
brandClass(GpuSlotSupplier, 'GpuSlotSupplier');

const NO_RECORDS: ReadonlySet<PermitRecord<GpuPermitFields>> = new Set();

function memoryOf(device: GpuDevice, at: number): GateReading | null {
  return device.memoryUsedBytes === null || device.memoryTotalBytes === null || device.memoryTotalBytes <= 0
    ? null
    : { used: device.memoryUsedBytes, limit: device.memoryTotalBytes, at };
}
