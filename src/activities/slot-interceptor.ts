import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors, ActivityInterceptorsFactory } from '@temporalio/worker';
import { processWide } from '../process-state.js';
import { type SlotClaim, slotPairing } from '../suppliers/slot-pairing.js';
import { recordResumeState } from './resume-state.js';

/** Claims of running activities, by their context (one map for every copy of slotwise in the process). */
const claims = processWide('activityClaims', () => new WeakMap<Context, SlotClaim>());

/** The pairing claim of the activity running in `context`, if slotwise's interceptor is installed. */
export function claimOf(context: Context): SlotClaim | undefined {
  return claims.get(context);
}

/**
 * The activity interceptor slotwise needs for {@link currentSlot} and {@link releaseSlot}: it
 * pairs each activity execution with the permit core marked used for it (per task queue and
 * activity type, in order), and forgets the pairing when the activity ends. It also reads what an
 * evictable activity is told about its earlier, evicted calls (`lastCheckpoint()` needs it). Install it on every
 * Worker whose activity (or local activity) slots come from a slotwise supplier;
 * `slotwiseWorkerOptions()` and `withSlotwise()` do it for you.
 *
 * @example
 * ```ts
 * import { Worker } from '@temporalio/worker';
 * import { FixedSlotSupplier, slotwiseWorkerOptions } from 'slotwise';
 * import { slotwiseActivityInterceptor } from 'slotwise/activities';
 *
 * // slotwiseWorkerOptions() would add the interceptor too; with it here, it is not added twice.
 * const worker = await Worker.create(
 *   slotwiseWorkerOptions({
 *     taskQueue: 'work',
 *     activities: {},
 *     interceptors: { activity: [slotwiseActivityInterceptor] },
 *     tuner: {
 *       activityTaskSlotSupplier: new FixedSlotSupplier({ slots: 4 }),
 *       workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *     },
 *   }),
 * );
 * ```
 */
export const slotwiseActivityInterceptor: ActivityInterceptorsFactory = (context): ActivityInterceptors => {
  // Installed twice (by hand and by withSlotwise(), or from two builds of slotwise): claim once.
  if (claims.has(context)) return {};
  const { taskQueue, activityType, isLocal } = context.info;
  const key = { taskQueue, activityType, isLocal };
  // Claim now, while the Worker constructs activities in the order it received them.
  const claim = slotPairing.claim(key);
  claims.set(context, claim);
  return {
    inbound: {
      async execute(input, next) {
        recordResumeState(context, input.headers);
        try {
          return await next(input);
        } finally {
          if (claim.slot === undefined) slotPairing.withdraw(key, claim);
        }
      },
    },
  };
};
