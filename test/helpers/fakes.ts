import type { Logger } from '@temporalio/common';
import type { ActivitySlotInfo, SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';

/** A logger that records what it was told. */
export interface RecordingLogger extends Logger {
  readonly entries: Array<{ level: string; message: string; meta?: Record<string, unknown> }>;
  messages(level?: string): string[];
}

export function recordingLogger(): RecordingLogger {
  const entries: RecordingLogger['entries'] = [];
  const at =
    (level: string) =>
    (message: string, meta?: Record<string, unknown>): void => {
      entries.push({ level, message, ...(meta ? { meta } : {}) });
    };
  return {
    entries,
    messages: (level) =>
      entries.filter((e) => level === undefined || e.level === level).map((e) => e.message),
    log: (level: string, message: string, meta?: Record<string, unknown>) =>
      at(level.toLowerCase())(message, meta),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/** A reservation context as core would pass it. */
export function reserveCtx(
  taskQueue = 'q',
  slotType: SlotReserveContext['slotType'] = 'activity',
  isSticky = false,
): SlotReserveContext {
  return { slotType, taskQueue, workerIdentity: 'test-worker', workerBuildId: '', isSticky };
}

export const activityInfo = (activityType = 'work'): ActivitySlotInfo => ({ type: 'activity', activityType });
export const workflowInfo = (workflowType = 'wf'): WorkflowSlotInfo => ({
  type: 'workflow',
  workflowType,
  isSticky: false,
});

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Tracks whether a promise settled, without awaiting it. */
export function track<T>(promise: Promise<T>): {
  settled: () => boolean;
  value: () => T | undefined;
  error: () => unknown;
} {
  let settled = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (e) => {
      settled = true;
      error = e;
    },
  );
  return { settled: () => settled, value: () => value, error: () => error };
}
