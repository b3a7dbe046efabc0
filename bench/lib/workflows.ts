// Benchmark workflows. Bundled for the Workflow sandbox: import nothing from Node here.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { BenchActivities } from './activities.js';

/** The name of one benchmark activity. */
export type BenchActivityName = keyof BenchActivities;

/** Input of {@link burstWorkflow}. */
export interface BurstInput {
  activity: BenchActivityName;
  /** How many activities, all scheduled at once. */
  count: number;
  /** Index of the first activity (indices run `first .. first + count - 1`). */
  first?: number;
  /** Arguments of every activity (the index is added). */
  args: Record<string, number>;
  /**
   * Let core try eager activity dispatch. Off by default: with any custom slot supplier, core asks
   * `tryReserveSlot` once per scheduled activity through a blocking bridge call, and a workflow task
   * scheduling a few hundred activities at once hangs the Worker (see bench/README.md).
   * @default false
   */
  eager?: boolean;
}

/** Input of {@link pacedWorkflow}. */
export interface PacedInput extends BurstInput {
  /** Milliseconds between two activities being scheduled. */
  intervalMs: number;
}

function acts(eager = false) {
  return proxyActivities<BenchActivities>({
    startToCloseTimeout: '15 minutes',
    retry: { maximumAttempts: 1 },
    allowEagerDispatch: eager,
  });
}

/** Schedules `count` activities at once and waits for them all; returns how many succeeded. */
export async function burstWorkflow(input: BurstInput): Promise<number> {
  const a = acts(input.eager);
  const run = a[input.activity] as unknown as (args: Record<string, number>) => Promise<unknown>;
  const first = input.first ?? 0;
  const results = await Promise.allSettled(
    Array.from({ length: input.count }, (_, i) => run({ ...input.args, index: first + i })),
  );
  return results.filter((r) => r.status === 'fulfilled').length;
}

/** Schedules one activity every `intervalMs` until `count` are scheduled, then waits for them all. */
export async function pacedWorkflow(input: PacedInput): Promise<number> {
  const a = acts(input.eager);
  const run = a[input.activity] as unknown as (args: Record<string, number>) => Promise<unknown>;
  const first = input.first ?? 0;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < input.count; i++) {
    pending.push(run({ ...input.args, index: first + i }));
    await sleep(input.intervalMs);
  }
  const results = await Promise.allSettled(pending);
  return results.filter((r) => r.status === 'fulfilled').length;
}
