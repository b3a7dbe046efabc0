// Test workflows for the worker-tuner scenarios (after Temporal's own test-worker-tuner.ts).
// Workflow sandbox: no Node imports.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

interface TunerActivities {
  hiActivity(): Promise<string>;
}

/** Completes at once: one workflow task. */
export async function tunerSuccessWorkflow(): Promise<string> {
  return 'success';
}

/** Runs one activity and one local activity: a slot of every type a custom supplier can serve. */
export async function tunerActivitiesWorkflow(): Promise<string> {
  const { hiActivity } = proxyActivities<TunerActivities>({ startToCloseTimeout: '5s' });
  const local = proxyLocalActivities<TunerActivities>({ startToCloseTimeout: '5s' });
  const [remote, nearby] = [await hiActivity(), await local.hiActivity()];
  return remote === 'hi' && nearby === 'hi' ? 'success' : `unexpected: ${remote}, ${nearby}`;
}
