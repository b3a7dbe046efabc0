import { Client, Connection } from '@temporalio/client';
import {
  type CancelWorkflowsResult,
  type CancelWorkflowsTarget,
  cancelWorkflows,
} from '../../client/cancel-workflows.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { addressFlag, intFlag, parseCommandArgs, usageError } from '../parse-args.js';

/** Exit codes of {@link cancelCommand}. */
const EXIT = { ok: 0, error: 1, usage: 2 } as const;
/** How many matching ids the confirmation summary shows. */
const SUMMARY_IDS = 10;
/** How long to wait for the server to answer before reporting it unreachable, in milliseconds. */
const CONNECT_TIMEOUT_MS = 5000;

/** The text of `slotwise cancel --help`. */
export const CANCEL_HELP = `Usage: slotwise cancel (--query <query> | --ids <id,id,...>) [options]

Cancel many Temporal workflow runs at once, selected by a visibility query or by id.
Shows what matches first; asks for confirmation on a terminal, and needs --yes elsewhere.

Options:
  --query <query>         visibility query, e.g. "WorkflowType = 'report' AND ExecutionStatus = 'Running'"
  --ids <ids>             comma-separated workflow ids (the flag may be repeated)
  --address <host:port>   Temporal frontend (default: $TEMPORAL_ADDRESS, else localhost:7233)
  --namespace <ns>        namespace (default: $TEMPORAL_NAMESPACE, else default)
  --concurrency <n>       cancel requests in flight at once (default: 10)
  --dry-run               list the matching workflows and cancel nothing
  -y, --yes               cancel without asking
  -h, --help              show this help

Exit codes: 0 done; 1 error (server unreachable, query rejected, a cancel failed, or declined);
2 usage error, or confirmation needed but stdin is not a terminal.`;

/** What the command line asks for, checked. */
interface CancelArgs {
  target: CancelWorkflowsTarget;
  address: string;
  namespace: string;
  concurrency: number;
  dryRun: boolean;
  yes: boolean;
}

/** Parses and checks the flags; `undefined` for `--help`. Throws a {@link UsageError} for bad usage. */
function parseCancelArgs(argv: string[], env: NodeJS.ProcessEnv): CancelArgs | undefined {
  const { values } = parseCommandArgs('cancel', argv, {
    query: { type: 'string' },
    ids: { type: 'string', multiple: true },
    address: { type: 'string' },
    namespace: { type: 'string' },
    concurrency: { type: 'string' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
  });
  if (values.help) return undefined;
  const namespace = values.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
  if (namespace.trim() === '') throw new UsageError('slotwise cancel: --namespace must not be empty.');
  return {
    target: cancelTarget(values.query, values.ids),
    address: addressFlag('cancel', values.address, env) ?? 'localhost:7233',
    namespace,
    concurrency: intFlag('cancel', 'concurrency', values.concurrency, 1, 1000) ?? 10,
    dryRun: values['dry-run'] ?? false,
    yes: values.yes ?? false,
  };
}

/** What to cancel: a visibility query, or the ids of every `--ids` list; exactly one of the two. */
function cancelTarget(query: string | undefined, idLists: string[] | undefined): CancelWorkflowsTarget {
  if (query !== undefined && idLists !== undefined) {
    throw usageError('cancel', 'pass either --query or --ids, not both.');
  }
  if (query !== undefined) {
    if (query.trim() === '') throw usageError('cancel', '--query needs a visibility query.');
    return { query };
  }
  if (idLists !== undefined) {
    const ids = idLists.flatMap((list) => list.split(',')).map((id) => id.trim());
    if (ids.every((id) => id === '')) throw usageError('cancel', '--ids needs at least one workflow id.');
    return { workflowIds: ids.filter((id) => id !== '') };
  }
  throw usageError('cancel', 'pass --query <query> or --ids <id,id,...> to say what to cancel.');
}

function describeTarget(target: CancelWorkflowsTarget): string {
  return 'query' in target ? `the query ${target.query}` : 'the given ids';
}

const workflows = (n: number): string => `${n} ${n === 1 ? 'workflow' : 'workflows'}`;

/** The matches, one id a line: all of them for a dry run, else the first {@link SUMMARY_IDS}. */
function summary(
  matched: string[],
  target: CancelWorkflowsTarget,
  namespace: string,
  all: boolean,
): string[] {
  const which =
    'query' in target
      ? `${workflows(matched.length)} match the query ${target.query}`
      : `${workflows(matched.length)} given by id`;
  const shown = all ? matched : matched.slice(0, SUMMARY_IDS);
  const lines = [`${which} in namespace "${namespace}":`, ...shown.map((id) => `  ${id}`)];
  if (shown.length < matched.length) lines.push(`  ... and ${matched.length - shown.length} more`);
  return lines;
}

function report(result: CancelWorkflowsResult, io: CliIo): void {
  io.out(
    `Cancelled ${result.cancelled.length}, already closed ${result.alreadyClosed.length}, ` +
      `not found ${result.notFound.length}, failed ${result.failed.length}.`,
  );
  for (const id of result.notFound) io.err(`not found: ${id}`);
  for (const { workflowId, error } of result.failed) io.err(`failed: ${workflowId}: ${error.message}`);
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

/** Connects to the server, or reports that it cannot and resolves with `undefined`. */
async function connect(address: string, io: CliIo): Promise<Connection | undefined> {
  try {
    return await Connection.connect({ address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    io.err(
      `slotwise cancel: cannot reach the Temporal server at ${address} within ` +
        `${CONNECT_TIMEOUT_MS / 1000} s (${errorMessage(error)}). ` +
        'Check --address (or TEMPORAL_ADDRESS) and that the server is running.',
    );
    return undefined;
  }
}

/**
 * Whether to go ahead with cancelling `count` workflows: yes with `--yes`, else the answer to the
 * question. Resolves with the exit code to stop with instead, after saying why.
 */
async function confirmed(count: number, yes: boolean, io: CliIo): Promise<true | number> {
  if (yes) return true;
  if (io.confirm === undefined) {
    io.err(
      `slotwise cancel: not cancelling ${workflows(count)} without confirmation, ` +
        'and stdin is not a terminal to ask on. Re-run with --yes to cancel them, ' +
        'or with --dry-run to list them all.',
    );
    return EXIT.usage;
  }
  if (!(await io.confirm(`Cancel ${workflows(count)}? [y/N] `))) {
    io.err('slotwise cancel: declined; nothing was cancelled.');
    return EXIT.error;
  }
  return true;
}

/** Shows what matches, then (unless a dry run, and once confirmed) cancels it. Resolves with the exit code. */
async function cancelMatching(connection: Connection, args: CancelArgs, io: CliIo): Promise<number> {
  const { target, address, namespace, concurrency, dryRun, yes } = args;
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (error) {
    io.err(`slotwise cancel: cannot use namespace "${namespace}" on ${address}: ${errorMessage(error)}`);
    return EXIT.error;
  }
  const client = new Client({ connection, namespace });
  const found = await cancelWorkflows(client, target, { dryRun: true });
  if (found.matched.length === 0) {
    io.out(`No workflows match ${describeTarget(target)} in namespace "${namespace}". Nothing to cancel.`);
    return EXIT.ok;
  }
  for (const line of summary(found.matched, target, namespace, dryRun)) io.out(line);
  if (dryRun) {
    io.out('Dry run: nothing was cancelled.');
    return EXIT.ok;
  }
  const go = await confirmed(found.matched.length, yes, io);
  if (go !== true) return go;
  // A query is run again: what matches now is cancelled, and reported below.
  const result = await cancelWorkflows(client, target, { concurrency });
  report(result, io);
  return result.failed.length > 0 ? EXIT.error : EXIT.ok;
}

/**
 * `slotwise cancel`: cancels many workflow runs by visibility query (`--query`) or by id (`--ids`),
 * with {@link cancelWorkflows}. It first prints how many workflows match and the first few ids, then
 * asks for confirmation with `io.confirm`; without one it needs `--yes` (else it exits 2 with a
 * hint). `--dry-run` lists every match and cancels nothing. Resolves with the exit code: 0 done; 1
 * error (server unreachable, query rejected, a cancel failed, or the user declined); 2 confirmation
 * needed. Bad usage throws a {@link UsageError} (exit 2).
 *
 * @example
 * ```ts
 * import { processIo } from 'slotwise/internal/cli/cli-io.js';
 * import { cancelCommand } from 'slotwise/internal/cli/commands/cancel.js';
 *
 * const code = await cancelCommand(["--query", "WorkflowType = 'report'", '--dry-run'], processIo);
 * // prints "3 workflows match the query WorkflowType = 'report' in namespace "default": ..." => 0
 * ```
 */
export async function cancelCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseCancelArgs(argv, io.env);
  if (args === undefined) {
    io.out(CANCEL_HELP);
    return EXIT.ok;
  }
  const connection = await connect(args.address, io);
  if (connection === undefined) return EXIT.error;
  try {
    return await cancelMatching(connection, args, io);
  } catch (error) {
    io.err(`slotwise cancel: ${errorMessage(error).replace(/^cancelWorkflows: /, '')}`);
    return EXIT.error;
  } finally {
    await connection.close();
  }
}
