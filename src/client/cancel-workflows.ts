import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { SlotwiseOptionsError } from '../errors.js';
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  describeValue,
  optionError,
} from '../option-checks.js';

/** Which workflows {@link cancelWorkflows} cancels: a list of ids, or a visibility query. */
export type CancelWorkflowsTarget =
  | {
      /** Workflow ids; each one's latest run is cancelled. Duplicates are ignored. */
      workflowIds: readonly string[];
    }
  | {
      /**
       * A visibility query (list filter), e.g. `WorkflowType = 'x' AND ExecutionStatus = 'Running'`.
       * Every run it lists is targeted; runs that turn out closed are reported as already closed.
       */
      query: string;
    };

/** How one targeted run ended up. */
export type CancelOutcome = 'cancelled' | 'alreadyClosed' | 'notFound' | 'failed';

/** Reported to {@link CancelWorkflowsOptions.onProgress} after each run is handled. */
export interface CancelWorkflowsProgress {
  /** Runs handled so far, this one included. */
  done: number;
  /** Runs targeted in all. */
  total: number;
  /** The run just handled. */
  workflowId: string;
  /** What happened to it. */
  outcome: CancelOutcome;
}

/** Options of {@link cancelWorkflows}. */
export interface CancelWorkflowsOptions {
  /** Cancel requests (each a describe then a cancel call) in flight at once. @default 10 */
  concurrency?: number;
  /** Find the targeted runs but cancel nothing: only {@link CancelWorkflowsResult.matched} is filled. @default false */
  dryRun?: boolean;
  /** Called after each run is handled; errors it throws are ignored. @default none */
  onProgress?: (progress: CancelWorkflowsProgress) => void;
}

/** What {@link cancelWorkflows} did. Apart from a dry run, every matched id lands in exactly one list. */
export interface CancelWorkflowsResult {
  /** Whether this was a dry run (nothing was cancelled). */
  dryRun: boolean;
  /** The workflow ids targeted, in order: the ids given, or what the query listed. */
  matched: string[];
  /** Running workflows whose cancellation was requested; each one's code decides how it stops. */
  cancelled: string[];
  /** Workflows that had already completed, failed, timed out, been terminated or cancelled. */
  alreadyClosed: string[];
  /** Ids the server does not know (never started, or past retention). */
  notFound: string[];
  /** Runs a call failed for, with the error. */
  failed: Array<{ workflowId: string; error: Error }>;
}

const OWNER = 'cancelWorkflows';
const DEFAULT_CONCURRENCY = 10;
const MAX_CONCURRENCY = 1000;

interface Run {
  workflowId: string;
  runId?: string;
}

function checkTarget(target: unknown): CancelWorkflowsTarget {
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected a target \`{ workflowIds: [...] }\` or \`{ query: '...' }\`, got ${describeValue(target)}.`,
    );
  }
  checkKnownKeys(OWNER, target, ['workflowIds', 'query']);
  const { workflowIds, query } = target as { workflowIds?: unknown; query?: unknown };
  if (workflowIds !== undefined && query !== undefined) {
    throw new SlotwiseOptionsError(`${OWNER}: pass either \`workflowIds\` or \`query\`, not both.`);
  }
  if (query !== undefined) {
    if (typeof query !== 'string' || query.trim() === '') {
      optionError(OWNER, 'query', "a non-empty visibility query such as `WorkflowType = 'x'`", query);
    }
    return { query };
  }
  if (workflowIds === undefined) {
    throw new SlotwiseOptionsError(
      `${OWNER}: pass \`workflowIds\` (an array of workflow ids) or \`query\` (a visibility query).`,
    );
  }
  if (!Array.isArray(workflowIds) || workflowIds.length === 0) {
    optionError(OWNER, 'workflowIds', 'a non-empty array of workflow ids', workflowIds);
  }
  workflowIds.forEach((id, index) => {
    if (typeof id !== 'string' || id.trim() === '') {
      optionError(OWNER, `workflowIds[${index}]`, 'a non-empty string', id);
    }
  });
  return { workflowIds };
}

function checkOptions(
  options: unknown,
): Required<Omit<CancelWorkflowsOptions, 'onProgress'>> & Pick<CancelWorkflowsOptions, 'onProgress'> {
  checkOptionsObject(OWNER, options);
  checkKnownKeys(OWNER, options as object, ['concurrency', 'dryRun', 'onProgress']);
  const { concurrency = DEFAULT_CONCURRENCY, dryRun = false, onProgress } = options as CancelWorkflowsOptions;
  checkInteger(OWNER, 'concurrency', concurrency, 1, MAX_CONCURRENCY);
  if (typeof dryRun !== 'boolean') optionError(OWNER, 'dryRun', 'a boolean', dryRun);
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    optionError(OWNER, 'onProgress', 'a function', onProgress);
  }
  return { concurrency, dryRun, onProgress };
}

async function listRuns(client: Client, query: string): Promise<Run[]> {
  const runs: Run[] = [];
  try {
    for await (const execution of client.workflow.list({ query })) {
      runs.push({ workflowId: execution.workflowId, runId: execution.runId });
    }
  } catch (error) {
    throw new Error(`${OWNER}: listing workflows for the query failed: ${messageOf(error)}`, {
      cause: error,
    });
  }
  return runs;
}

async function cancelRun(client: Client, run: Run): Promise<Exclude<CancelOutcome, 'failed'>> {
  try {
    const description = await client.workflow.getHandle(run.workflowId, run.runId).describe();
    // Cancelling a closed run succeeds silently on the server, so ask first to tell the cases apart.
    if (description.status.name !== 'RUNNING') return 'alreadyClosed';
    await client.workflow.getHandle(run.workflowId, description.runId).cancel();
    return 'cancelled';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'notFound';
    throw error;
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const details = cause instanceof Error && cause.message !== error.message ? ` (${cause.message})` : '';
  return `${error.message}${details}`;
}

/**
 * Cancels many workflow runs, named by id or selected by a visibility query, with at most
 * `concurrency` requests in flight. Cancelling asks each workflow to stop: its code receives a
 * `CancelledFailure` and its activities are cancelled (they notice through heartbeats), so it ends as
 * cancelled once a Worker processes the request. Each run is described first (the server accepts a
 * cancel of a closed run without saying so), so the result tells what was cancelled, what had already
 * closed, what does not exist and what failed. Per-run requests rather than the server's batch
 * operation give that per-workflow answer and need no batch permissions.
 *
 * Visibility is eventually consistent: a run started a moment ago may not be listed yet, and one
 * closed a moment ago may still be listed (it is then reported as already closed). Invalid input
 * throws a `SlotwiseOptionsError` before any call; a query the server rejects throws; a failure for
 * one run lands in `failed` and the others go on.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { cancelWorkflows } from 'slotwise/client';
 *
 * const client = new Client();
 * const result = await cancelWorkflows(
 *   client,
 *   { query: "WorkflowType = 'nightlyReport' AND ExecutionStatus = 'Running'" },
 *   { concurrency: 20, onProgress: ({ done, total }) => console.log(`${done}/${total}`) },
 * );
 * // => { dryRun: false, matched: ['r-1', 'r-2'], cancelled: ['r-1', 'r-2'], alreadyClosed: [], notFound: [], failed: [] }
 *
 * await cancelWorkflows(client, { workflowIds: ['r-1', 'nope'] });
 * // => { ..., cancelled: [], alreadyClosed: ['r-1'], notFound: ['nope'], failed: [] }
 * ```
 */
export async function cancelWorkflows(
  client: Client,
  target: CancelWorkflowsTarget,
  options: CancelWorkflowsOptions = {},
): Promise<CancelWorkflowsResult> {
  if (typeof (client as Partial<Client> | undefined)?.workflow?.getHandle !== 'function') {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected a Client from @temporalio/client, got ${describeValue(client)}.`,
    );
  }
  const checkedTarget = checkTarget(target);
  const { concurrency, dryRun, onProgress } = checkOptions(options);
  const runs =
    'query' in checkedTarget
      ? await listRuns(client, checkedTarget.query)
      : [...new Set(checkedTarget.workflowIds)].map((workflowId) => ({ workflowId }));
  const result: CancelWorkflowsResult = {
    dryRun,
    matched: runs.map((run) => run.workflowId),
    cancelled: [],
    alreadyClosed: [],
    notFound: [],
    failed: [],
  };
  if (dryRun) return result;

  const outcomes: Array<{ outcome: CancelOutcome; error?: Error }> = new Array(runs.length);
  let next = 0;
  let done = 0;
  const runner = async (): Promise<void> => {
    while (next < runs.length) {
      const index = next++;
      const run = runs[index]!;
      try {
        outcomes[index] = { outcome: await cancelRun(client, run) };
      } catch (error) {
        const wrapped = error instanceof Error ? error : new Error(String(error));
        outcomes[index] = { outcome: 'failed', error: wrapped };
      }
      done++;
      try {
        onProgress?.({
          done,
          total: runs.length,
          workflowId: run.workflowId,
          outcome: outcomes[index].outcome,
        });
      } catch {
        // Documented: progress callbacks cannot break the operation.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs.length) }, runner));

  runs.forEach((run, index) => {
    const { outcome, error } = outcomes[index]!;
    if (outcome === 'failed') result.failed.push({ workflowId: run.workflowId, error: error! });
    else result[outcome].push(run.workflowId);
  });
  return result;
}
