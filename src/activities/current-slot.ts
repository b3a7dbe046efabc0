import { brandClass } from '../class-brand.js';
import type { GpuAssignment } from '../suppliers/gpu-slot-supplier.js';
import { slotPairing } from '../suppliers/slot-pairing.js';
import { requireActivityContext } from './activity-context.js';
import { claimOf } from './slot-interceptor.js';

/** Thrown by {@link releaseSlot} and {@link currentSlot} when slotwise's activity interceptor is not installed. */
export class SlotPairingError extends Error {
  override name = 'SlotPairingError';
}
brandClass(SlotPairingError, 'SlotPairingError');

/** The running activity's permit, as {@link currentSlot} returns it. */
export interface CurrentSlot {
  /** Name of the supplier that issued the permit. */
  supplier: string;
  /** The permit's id (unique in the process). */
  permitId: number;
  /** The GPU assigned to this task, when the supplier assigns devices. */
  gpu: GpuAssignment | undefined;
  /** Whether the slot was already handed back with {@link releaseSlot}. */
  releasedEarly: boolean;
}

function claimHere(caller: string, requireServed: boolean) {
  const context = requireActivityContext(caller);
  const claim = claimOf(context);
  const { taskQueue, isLocal } = context.info;
  if (
    requireServed &&
    claim !== undefined &&
    claim.slot === undefined &&
    !slotPairing.isServed({ taskQueue, isLocal })
  ) {
    throw new SlotPairingError(
      `${caller}: the ${isLocal ? 'local activity' : 'activity'} slots of task queue "${taskQueue}" do not come from a slotwise supplier, so there is no slotwise slot to release.`,
    );
  }
  if (claim === undefined) {
    throw new SlotPairingError(
      `${caller} needs slotwise's activity interceptor on this Worker: add \`interceptors: { activity: [slotwiseActivityInterceptor] }\` ` +
        "(from 'slotwise/activities') to Worker.create, or build the options with withSlotwise().",
    );
  }
  return claim;
}

/**
 * The permit the running activity holds, or `undefined` while core's mark-used for it has not
 * arrived yet (or when its slots come from a non-slotwise supplier). Throws outside an activity,
 * or when slotwise's activity interceptor is not installed.
 *
 * @example
 * ```ts
 * import { currentSlot } from 'slotwise/activities';
 *
 * export async function train(): Promise<void> {
 *   const slot = currentSlot();
 *   const device = slot?.gpu?.index; // => 1: pin the work to this GPU
 *   process.env.CUDA_VISIBLE_DEVICES = String(device);
 * }
 * ```
 */
export function currentSlot(): CurrentSlot | undefined {
  const slot = claimHere('currentSlot()', false).slot;
  if (slot === undefined) return undefined;
  const { permit } = slot;
  return {
    supplier: permit.supplier,
    permitId: permit.id,
    gpu: (permit as { gpu?: GpuAssignment }).gpu,
    releasedEarly: !slot.isHeld(),
  };
}

/**
 * Hands the running activity's slot back to its supplier now, while the activity keeps running
 * (for a cleanup or upload phase that should not block new work). A waiting reservation can
 * proceed at once; the supplier's charged cost for the task is refunded. Core's own release when
 * the activity ends is then a no-op. Idempotent: returns `true` the first time, `false` after.
 *
 * If core's mark-used for this activity has not arrived yet, the release happens the moment it
 * does. The activity is still tracked by the Temporal server: its timeouts, heartbeats and
 * retries apply as before; only this worker's admission stops counting it.
 *
 * @example
 * ```ts
 * import { releaseSlot } from 'slotwise/activities';
 *
 * export async function render(): Promise<void> {
 *   // ... the heavy part, under the slot ...
 *   releaseSlot(); // => true: the next task may start now
 *   // ... upload the result without holding the slot ...
 * }
 * ```
 */
export function releaseSlot(): boolean {
  const claim = claimHere('releaseSlot()', true);
  if (claim.slot !== undefined) return claim.slot.releaseEarly();
  if (claim.onPaired !== undefined) return false;
  claim.onPaired = (slot) => void slot.releaseEarly();
  return true;
}
