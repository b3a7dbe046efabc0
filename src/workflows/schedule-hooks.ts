// Workflow sandbox: imports only @temporalio/workflow and @temporalio/common, never Node.
import type { ActivityOptions, Headers, LocalActivityOptions } from '@temporalio/common';
import {
  AsyncLocalStorage,
  type ChildWorkflowOptions,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** What a {@link ScheduleHook} sees of an activity about to be scheduled. */
export interface ScheduledActivity {
  activityType: string;
  /** A copy of the call's options: change it freely. */
  options: ActivityOptions | LocalActivityOptions;
  /** The call's headers: add to them freely. */
  headers: Headers;
  /** A local activity. */
  local: boolean;
}

/** What a {@link ScheduleHook} sees of a child workflow about to be started. */
export interface StartedChild {
  workflowType: string;
  /** A copy of the call's options: change it freely. */
  options: ChildWorkflowOptions;
}

/**
 * Adjusts, or refuses by throwing, what workflow code schedules inside {@link runWithScheduleHook}.
 * Hooks of nested calls all apply, outermost first.
 */
export interface ScheduleHook {
  activity?(activity: ScheduledActivity): void;
  child?(child: StartedChild): void;
}

const hooks = new AsyncLocalStorage<readonly ScheduleHook[]>();
/** Marks an activator that has slotwise's outbound interceptor (one per workflow execution). */
const INSTALLED = Symbol.for('slotwise.scheduleHooks');

type OutboundList = WorkflowOutboundCallsInterceptor[];

/** The outbound interceptor list of the running execution, or `undefined` where the SDK has none. */
function outboundInterceptors(): (OutboundList & { [INSTALLED]?: true }) | undefined {
  // The SDK keeps the execution's interceptors on its activator and composes them on every call, so an
  // interceptor added at run time applies from the next call on. Not a public API: checked, not assumed.
  const activator = (globalThis as { __TEMPORAL_ACTIVATOR__?: { interceptors?: { outbound?: unknown } } })
    .__TEMPORAL_ACTIVATOR__;
  const outbound = activator?.interceptors?.outbound;
  return Array.isArray(outbound) ? (outbound as OutboundList) : undefined;
}

/** `input` as the active hooks leave it (the same object when no hook is active). */
function hookedActivity<
  I extends { activityType: string; options: ScheduledActivity['options']; headers: Headers },
>(input: I, local: boolean): I {
  const active = hooks.getStore();
  if (!active?.length) return input;
  const activity: ScheduledActivity = {
    activityType: input.activityType,
    options: { ...input.options },
    headers: { ...input.headers },
    local,
  };
  for (const hook of active) hook.activity?.(activity);
  return { ...input, options: activity.options as I['options'], headers: activity.headers };
}

const interceptor: WorkflowOutboundCallsInterceptor = {
  scheduleActivity(input, next) {
    return next(hookedActivity(input, false));
  },
  scheduleLocalActivity(input, next) {
    return next(hookedActivity(input, true));
  },
  startChildWorkflowExecution(input, next) {
    const active = hooks.getStore();
    if (!active?.length) return next(input);
    const child: StartedChild = { workflowType: input.workflowType, options: { ...input.options } };
    for (const hook of active) hook.child?.(child);
    return next({ ...input, options: child.options as typeof input.options });
  },
};

/**
 * Whether {@link runWithScheduleHook} can reach the activities and children scheduled by workflow code
 * on this SDK (it adds an outbound interceptor to the running execution). Call inside a workflow.
 */
export function scheduleHooksAvailable(): boolean {
  return outboundInterceptors() !== undefined;
}

/**
 * Runs `fn` so that every activity, local activity and child workflow it schedules (directly or in
 * nested calls, across `await`s) passes through `hook` first. Returns `fn`'s result. Where the SDK
 * offers no way in ({@link scheduleHooksAvailable} is false), `fn` runs without the hook.
 *
 * @example
 * ```ts
 * import { proxyActivities } from '@temporalio/workflow';
 * import { runWithScheduleHook } from 'slotwise/internal/workflows/schedule-hooks.js';
 *
 * const { work } = proxyActivities<{ work(): Promise<void> }>({ startToCloseTimeout: '1 minute' });
 *
 * export async function tenantWorkflow(tenant: string): Promise<void> {
 *   // Every activity of this call is dispatched with the tenant as its fairness key.
 *   await runWithScheduleHook(
 *     { activity: (a) => void Object.assign(a.options, { priority: { fairnessKey: tenant } }) },
 *     () => work(),
 *   );
 * }
 * ```
 */
export function runWithScheduleHook<T>(hook: ScheduleHook, fn: () => Promise<T>): Promise<T> {
  const outbound = outboundInterceptors();
  if (outbound === undefined) return fn();
  if (!outbound[INSTALLED]) {
    outbound.push(interceptor);
    outbound[INSTALLED] = true;
  }
  return hooks.run([...(hooks.getStore() ?? []), hook], fn);
}
