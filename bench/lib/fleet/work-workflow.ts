// Test workflows for the fleet integration tests and the fleet benchmark (bench/ may not import from test/,
// so they live here). Workflow sandbox: no Node imports.
import { proxyActivities } from '@temporalio/workflow';

/** Input of {@link fleetWorkWorkflow}. */
export interface FleetWorkInput {
  /** Activities to run, all scheduled at once. */
  tasks: number;
  /** How long each one works, in milliseconds. */
  workMs: number;
  /** Start-to-close timeout of each attempt, in milliseconds: how soon a task lost with its process is retried. */
  startToCloseMs: number;
  /** Added to each activity's index, so indices are distinct across workflows. */
  firstIndex?: number;
}

/** Runs `tasks` `fleetWork` activities at once; returns how many completed. */
export async function fleetWorkWorkflow(input: FleetWorkInput): Promise<number> {
  const { fleetWork } = proxyActivities<{ fleetWork(input: { ms: number; index: number }): Promise<number> }>(
    {
      startToCloseTimeout: input.startToCloseMs,
      retry: { initialInterval: '100ms', backoffCoefficient: 1, maximumAttempts: 20 },
    },
  );
  const first = input.firstIndex ?? 0;
  const done = await Promise.all(
    Array.from({ length: input.tasks }, (_, i) => fleetWork({ ms: input.workMs, index: first + i })),
  );
  return done.length;
}
