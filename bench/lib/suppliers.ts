import type {
  ActivitySlotInfo,
  CustomSlotSupplier,
  SlotPermit,
  SlotSupplier,
  TunerHolder,
} from '@temporalio/worker';
import { CpuSlotSupplier, type CpuSlotSupplierOptions } from '../../src/suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { LedgerSlotSupplier } from '../../src/suppliers/ledger-slot-supplier.js';
import {
  MemorySlotSupplier,
  type MemorySlotSupplierOptions,
} from '../../src/suppliers/memory-slot-supplier.js';

/** An activity slot supplier, described as JSON so a parent can hand it to a child process. */
export type SupplierSpec =
  | { kind: 'fixed-size'; numSlots: number }
  | {
      kind: 'resource-based';
      targetCpuUsage: number;
      targetMemoryUsage: number;
      minimumSlots?: number;
      maximumSlots?: number;
      rampThrottleMs?: number;
    }
  | { kind: 'slotwise-fixed'; slots: number }
  | { kind: 'custom-floor'; slots: number }
  | { kind: 'slotwise-memory'; options: Omit<MemorySlotSupplierOptions, 'sampler' | 'logger' | 'now'> }
  | { kind: 'slotwise-cpu'; options: Omit<CpuSlotSupplierOptions, 'sampler' | 'logger' | 'now'> };

/** One contender of a scenario. */
export interface Contender {
  /** Short id used in JSON and file names. */
  id: string;
  /** Label for tables and charts. */
  label: string;
  /** `true` for Temporal's own suppliers (the reference). */
  builtIn: boolean;
  spec: SupplierSpec;
}

/** A built activity supplier; `slotwise` is set for slotwise suppliers (to read snapshots). */
export interface BuiltSupplier {
  supplier: SlotSupplier<ActivitySlotInfo>;
  slotwise: LedgerSlotSupplier | null;
  close(): void;
}

/** Builds the activity slot supplier of `spec`. */
export function buildActivitySupplier(spec: SupplierSpec): BuiltSupplier {
  switch (spec.kind) {
    case 'fixed-size':
      return { supplier: { type: 'fixed-size', numSlots: spec.numSlots }, slotwise: null, close() {} };
    case 'resource-based':
      return {
        supplier: {
          type: 'resource-based',
          tunerOptions: { targetCpuUsage: spec.targetCpuUsage, targetMemoryUsage: spec.targetMemoryUsage },
          ...(spec.minimumSlots !== undefined ? { minimumSlots: spec.minimumSlots } : {}),
          ...(spec.maximumSlots !== undefined ? { maximumSlots: spec.maximumSlots } : {}),
          ...(spec.rampThrottleMs !== undefined ? { rampThrottle: spec.rampThrottleMs } : {}),
        },
        slotwise: null,
        close() {},
      };
    case 'slotwise-fixed': {
      const s = new FixedSlotSupplier({ slots: spec.slots, name: 'bench-fixed' });
      return { supplier: s, slotwise: s, close() {} };
    }
    case 'custom-floor':
      return { supplier: new FloorSlotSupplier(spec.slots), slotwise: null, close() {} };
    case 'slotwise-memory': {
      const s = new MemorySlotSupplier({ ...spec.options, name: 'bench-memory' });
      return { supplier: s, slotwise: s, close: () => s.close() };
    }
    case 'slotwise-cpu': {
      const s = new CpuSlotSupplier({ ...spec.options, name: 'bench-cpu' });
      return { supplier: s, slotwise: s, close: () => s.close() };
    }
  }
}

/**
 * The whole tuner: `activity` for activities, Temporal's fixed-size for everything else (the same
 * for every contender, so only the activity supplier differs).
 */
export function benchTuner(activity: SlotSupplier<ActivitySlotInfo>, workflowSlots = 20): TunerHolder {
  return {
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: workflowSlots },
    activityTaskSlotSupplier: activity,
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
  };
}

/**
 * The least a custom supplier can be: a count of free slots and a FIFO of waiting reservations, an
 * aborted wait removed and rejected with the signal's reason (what the SDK asks for), nothing else.
 * Any custom supplier pays what core and the SDK's bridge do around these calls; this one adds almost
 * nothing of its own, so a Worker running it shows that price alone.
 */
export class FloorSlotSupplier implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom' as const;
  #free: number;
  readonly #waiters = new Set<(permit: SlotPermit) => void>();

  constructor(slots: number) {
    this.#free = slots;
  }

  reserveSlot(_ctx: unknown, abortSignal: AbortSignal): Promise<SlotPermit> {
    if (abortSignal.aborted) return Promise.reject(abortSignal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve({});
    }
    return new Promise((resolve, reject) => {
      const grant = (permit: SlotPermit) => {
        abortSignal.removeEventListener('abort', onAbort);
        resolve(permit);
      };
      const onAbort = () => {
        this.#waiters.delete(grant);
        reject(abortSignal.reason);
      };
      abortSignal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(grant);
    });
  }

  tryReserveSlot(): SlotPermit | null {
    if (this.#free <= 0) return null;
    this.#free--;
    return {};
  }

  markSlotUsed(): void {}

  releaseSlot(): void {
    for (const grant of this.#waiters) {
      this.#waiters.delete(grant);
      grant({});
      return;
    }
    this.#free++;
  }
}
