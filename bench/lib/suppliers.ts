import type { ActivitySlotInfo, SlotSupplier, TunerHolder } from '@temporalio/worker';
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
