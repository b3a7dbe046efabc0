import { brandClass } from '../class-brand.js';
import type { ResourceSample } from '../resources/sampler.js';
import { ResourceGate } from './resource-gate.js';
import { ResourceSlotSupplier } from './resource-slot-supplier.js';
import type { CostDimension } from './task-cost.js';
import type { ReservationContext } from './types.js';

/**
 * A resource supplier gated on one machine-wide resource (CPU cores, memory bytes) through one
 * {@link ResourceGate}. Subclasses say which cost dimension they charge and how to read usage and
 * limit from a sample.
 *
 * @example
 * ```ts
 * import { ResourceSampler } from 'slotwise';
 * import { SingleResourceSlotSupplier } from 'slotwise/internal/suppliers/single-resource-slot-supplier.js';
 *
 * // Gates on host memory used by everything (not only this process).
 * class HostMemorySupplier extends SingleResourceSlotSupplier {
 *   protected readonly dimension = 'memoryBytes' as const;
 *   constructor() {
 *     super('host-memory', 'HostMemorySupplier', {}, [], { minSlots: 1, settleMs: 1000 }, () =>
 *       new ResourceSampler({ cpu: false, memory: { scope: 'host' } }),
 *     );
 *   }
 *   protected reading(sample: import('slotwise').ResourceSample) {
 *     return sample.memory && { used: sample.memory.usedBytes, limit: sample.memory.limitBytes };
 *   }
 *   protected readings() {
 *     return {};
 *   }
 * }
 * ```
 */
export abstract class SingleResourceSlotSupplier extends ResourceSlotSupplier {
  /** The cost dimension this supplier charges. */
  protected abstract readonly dimension: CostDimension;
  #gate: ResourceGate | undefined;

  /** Usage and limit in the dimension's unit, or `null` before the first reading. */
  protected abstract reading(sample: ResourceSample): { used: number; limit: number } | null;

  /** The gate, created on first use (subclass fields are not set yet while the base constructs). */
  protected get gate(): ResourceGate {
    this.#gate ??= new ResourceGate(this.target, this.hysteresis);
    return this.#gate;
  }

  protected admitResources(
    _request: ReservationContext,
    sample: ResourceSample,
    force: boolean,
  ): object | null {
    if (force) return {};
    const reading = this.reading(sample);
    if (reading === null) return null;
    return this.gate.admits(this.gateInput(this.gate, this.dimension, reading, this.ledger.records()))
      ? {}
      : null;
  }

  protected observe(sample: ResourceSample): void {
    const reading = this.reading(sample);
    if (reading === null) return;
    const { running, unsettled } = this.runningCounts(this.ledger.records());
    this.gate.observe(reading.used, running, unsettled);
  }

  protected capacity(): number {
    const reading = this.reading(this.sampler.latest());
    if (reading === null) return this.minSlots;
    const input = this.gateInput(this.gate, this.dimension, reading, this.ledger.records());
    const room = this.target * reading.limit - this.gate.project({ ...input, estimate: 0 });
    return input.estimate ? this.clampCapacity(room / input.estimate) : this.maxSlots;
  }
}
brandClass(SingleResourceSlotSupplier, 'SingleResourceSlotSupplier');
