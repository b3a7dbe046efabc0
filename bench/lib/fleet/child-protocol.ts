import type { FleetLeaseSnapshot } from '../../../src/fleet/fleet-lease-client.js';

/** What a parent passes to worker-child.ts (JSON in `FLEET_CHILD_CONFIG`). */
export interface FleetChildConfig {
  address: string;
  /** Workflow bundle with the test workflows and the lease manager. */
  bundlePath: string;
  /** Task queues this process runs a Worker on, all sharing one activity supplier. */
  taskQueues: string[];
  counterUrl: string;
  supplier:
    | {
        kind: 'fleet';
        fleet: string;
        slots: number;
        managerTaskQueue: string;
        leaseTtlMs?: number;
        lingerMs?: number;
      }
    | { kind: 'fixed'; slots: number };
  /** `maxConcurrentActivityTaskPolls` of each Worker. @default the SDK's */
  activityPollers?: number;
  /** Milliseconds between state messages. @default 100 */
  stateMs?: number;
}

/** Parent -> child. */
export type ChildCommand = { type: 'stop' };

/** Child -> parent. */
export type ChildMessage =
  | { type: 'ready'; pid: number }
  | { type: 'state'; issued: number; used: number; waiting: number; fleet?: FleetLeaseSnapshot }
  | { type: 'stopped'; acquireMs: Array<{ ms: number; spare: boolean }>; slotEvents: SlotEvent[] }
  | { type: 'error'; message: string };

/**
 * A change of the child's activity permits: `[absolute ms, 'issued' | 'used', +1 | -1, task queue]`,
 * absolute being `performance.timeOrigin + performance.now()` (comparable across processes of one
 * machine). A permit is issued when reserveSlot() resolves and used from markSlotUsed() (a task
 * arrived for it) until releaseSlot().
 */
export type SlotEvent = [number, 'issued' | 'used', 1 | -1, string];
