import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

/**
 * Per-key concurrency of the activities that do the runs' work (the work itself, not the
 * controller's bookkeeping), keyed through the calling workflow's id: a test records each run's key
 * in `keyOf` when it starts the run.
 */
export class KeyedConcurrency {
  readonly keyOf = new Map<string, string>();
  /** Workflow ids, in the order their work started. */
  readonly started: string[] = [];
  /** Workflow ids, in the order their work ended. */
  readonly ended: string[] = [];
  /** Starts and ends in the order they happened. */
  readonly events: Array<{ type: 'start' | 'end'; workflowId: string }> = [];
  private readonly running = new Map<string, number>();
  private readonly peak = new Map<string, number>();

  begin(workflowId: string): void {
    const key = this.key(workflowId);
    const now = (this.running.get(key) ?? 0) + 1;
    this.running.set(key, now);
    this.peak.set(key, Math.max(this.peak.get(key) ?? 0, now));
    this.started.push(workflowId);
    this.events.push({ type: 'start', workflowId });
  }

  end(workflowId: string): void {
    const key = this.key(workflowId);
    this.running.set(key, this.running.get(key)! - 1);
    this.ended.push(workflowId);
    this.events.push({ type: 'end', workflowId });
  }

  /** The most activities of `key` that ran at once. */
  max(key: string): number {
    return this.peak.get(key) ?? 0;
  }

  runningNow(key: string): number {
    return this.running.get(key) ?? 0;
  }

  hasStarted(workflowId: string): boolean {
    return this.started.includes(workflowId);
  }

  private key(workflowId: string): string {
    const key = this.keyOf.get(workflowId);
    if (key === undefined) throw new Error(`no key recorded for workflow ${workflowId}`);
    return key;
  }
}

/**
 * The `simulatedWork` activity of `concurrencyExampleWorkflow`, recorded in `recorder`: works `ms`
 * (heartbeating, so a cancel reaches it) and returns `index`; a negative `index` fails it for good.
 */
export function simulatedWork(recorder: KeyedConcurrency) {
  return async ({ ms, index }: { ms: number; index?: number }): Promise<number> => {
    const context = Context.current();
    const workflowId = context.info.workflowExecution?.workflowId ?? '';
    recorder.begin(workflowId);
    try {
      const deadline = Date.now() + ms;
      for (let left = ms; left > 0; left = deadline - Date.now()) {
        context.heartbeat();
        await context.sleep(Math.min(left, 50));
      }
      if ((index ?? 0) < 0) throw ApplicationFailure.nonRetryable('injected failure', 'InjectedFailure');
      return index ?? 0;
    } finally {
      recorder.end(workflowId);
    }
  };
}
