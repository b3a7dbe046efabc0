import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import {
  type CancelWorkflowsResult,
  type CancelWorkflowsTarget,
  cancelWorkflows,
} from '../../client/cancel-workflows.js';
import { closestMatch } from '../parse-args.js';

/** Where {@link cancelCommand} writes and what it reads. */
export interface CancelCommandIo {
  /** Writes to standard output; receives text that ends in a newline, like `process.stdout.write`. */
  out: (s: string) => void;
  /** Writes to standard error; receives text that ends in a newline, like `process.stderr.write`. */
  err: (s: string) => void;
  /** The environment: `TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE` are the defaults of the flags. */
  env: NodeJS.ProcessEnv;
  /**
   * Asks a yes/no question and resolves with the answer. Give it only when someone can answer.
   * @default a prompt on the terminal when stdin and stderr are TTYs, otherwise none (then `--yes` is needed)
   */
  confirm?: (question: string) => Promise<boolean>;
}

/** Exit codes of {@link cancelCommand}. */
const EXIT = { ok: 0, error: 1, usage: 2 } as const;
/** How many matching ids the confirmation summary shows. */
const SUMMARY_IDS = 10;
/** How long to wait for the server to answer before reporting it unreachable, in milliseconds. */
const CONNECT_TIMEOUT_MS = 5000;

const HELP = `Usage: slotwise cancel (--query <query> | --ids <id,id,...>) [options]

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
2 usage error, or confirmation needed but stdin is not a terminal.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

interface ParsedArgs {
  help: false;
  target: CancelWorkflowsTarget;
  address: string;
  namespace: string;
  concurrency: number;
  dryRun: boolean;
  yes: boolean;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs | { help: true } {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    const parsed = parseOptions(argv);
    values = parsed.values;
    if (parsed.positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // parseArgs messages read "Unknown option '--x'. To specify a positional argument starting with...".
    const message = error instanceof Error ? (error.message.split('. ')[0] ?? error.message) : String(error);
    const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
    const guess = unknown === undefined ? undefined : closestMatch(unknown, CANCEL_FLAGS);
    throw new UsageError(
      message.replace(/^Unknown option/, 'unknown option') + (guess ? `. Did you mean ${guess}?` : ''),
    );
  }
  if (values.help) return { help: true };
  const query = values.query;
  const idLists = values.ids;
  if (query !== undefined && idLists !== undefined) {
    throw new UsageError('pass either --query or --ids, not both');
  }
  let target: CancelWorkflowsTarget;
  if (query !== undefined) {
    if (query.trim() === '') throw new UsageError('--query needs a visibility query');
    target = { query };
  } else if (idLists !== undefined) {
    const ids = idLists.flatMap((list) => list.split(',')).map((id) => id.trim());
    if (ids.every((id) => id === '')) throw new UsageError('--ids needs at least one workflow id');
    target = { workflowIds: ids.filter((id) => id !== '') };
  } else {
    throw new UsageError('pass --query <query> or --ids <id,id,...> to say what to cancel');
  }
  const address = values.address ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  if (!/^\S+:\d+$/.test(address)) {
    throw new UsageError(`--address must be host:port, got ${JSON.stringify(address)}`);
  }
  const namespace = values.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
  if (namespace.trim() === '') throw new UsageError('--namespace must not be empty');
  const concurrencyText = values.concurrency ?? '10';
  const concurrency = Number(concurrencyText);
  if (!/^\d+$/.test(concurrencyText) || concurrency < 1 || concurrency > 1000) {
    throw new UsageError(
      `--concurrency must be an integer from 1 to 1000, got ${JSON.stringify(concurrencyText)}`,
    );
  }
  return {
    help: false,
    target,
    address,
    namespace,
    concurrency,
    dryRun: values['dry-run'] ?? false,
    yes: values.yes ?? false,
  };
}

const CANCEL_OPTIONS = {
  query: { type: 'string' },
  ids: { type: 'string', multiple: true },
  address: { type: 'string' },
  namespace: { type: 'string' },
  concurrency: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  help: { type: 'boolean', short: 'h' },
} as const;

const CANCEL_FLAGS = Object.keys(CANCEL_OPTIONS).map((name) => `--${name}`);

function parseOptions(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: true, options: CANCEL_OPTIONS });
}

function describeTarget(target: CancelWorkflowsTarget): string {
  return 'query' in target ? `the query ${target.query}` : 'the given ids';
}

const workflows = (n: number): string => `${n} ${n === 1 ? 'workflow' : 'workflows'}`;

function summary(matched: string[], target: CancelWorkflowsTarget, namespace: string, all: boolean): string {
  const which =
    'query' in target
      ? `${workflows(matched.length)} match the query ${target.query}`
      : `${workflows(matched.length)} given by id`;
  const shown = all ? matched : matched.slice(0, SUMMARY_IDS);
  const lines = [`${which} in namespace "${namespace}":`, ...shown.map((id) => `  ${id}`)];
  if (shown.length < matched.length) lines.push(`  ... and ${matched.length - shown.length} more`);
  return `${lines.join('\n')}\n`;
}

function report(result: CancelWorkflowsResult, io: CancelCommandIo): void {
  io.out(
    `Cancelled ${result.cancelled.length}, already closed ${result.alreadyClosed.length}, ` +
      `not found ${result.notFound.length}, failed ${result.failed.length}.\n`,
  );
  for (const id of result.notFound) io.err(`not found: ${id}\n`);
  for (const { workflowId, error } of result.failed) io.err(`failed: ${workflowId}: ${error.message}\n`);
}

function terminalConfirm(): ((question: string) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await prompt.question(question)).trim());
    } finally {
      prompt.close();
    }
  };
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

/**
 * `slotwise cancel`: cancels many workflow runs by visibility query (`--query`) or by id (`--ids`),
 * with {@link cancelWorkflows}. It first prints how many workflows match and the first few ids, then
 * asks for confirmation on a terminal; without a terminal it needs `--yes` (else it exits 2 with a
 * hint). `--dry-run` lists every match and cancels nothing. Resolves with the exit code: 0 done; 1
 * error (server unreachable, query rejected, a cancel failed, or the user declined); 2 usage error or
 * confirmation needed.
 *
 * @example
 * ```ts
 * import { cancelCommand } from 'slotwise/internal/cli/commands/cancel.js';
 *
 * const code = await cancelCommand(["--query", "WorkflowType = 'report'", '--dry-run'], {
 *   out: (s: string) => process.stdout.write(s),
 *   err: (s: string) => process.stderr.write(s),
 *   env: process.env,
 * });
 * // prints "3 workflows match the query WorkflowType = 'report' in namespace "default": ..." => 0
 * process.exitCode = code;
 * ```
 */
export async function cancelCommand(argv: string[], io: CancelCommandIo): Promise<number> {
  let args: ParsedArgs | { help: true };
  try {
    args = parse(argv, io.env);
  } catch (error) {
    io.err(`slotwise cancel: ${errorMessage(error)}\nRun \`slotwise cancel --help\` for usage.\n`);
    return EXIT.usage;
  }
  if (args.help) {
    io.out(HELP);
    return EXIT.ok;
  }
  const { target, address, namespace, concurrency, dryRun, yes } = args;

  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    io.err(
      `slotwise cancel: cannot reach the Temporal server at ${address} within ` +
        `${CONNECT_TIMEOUT_MS / 1000} s (${errorMessage(error)}). ` +
        'Check --address (or TEMPORAL_ADDRESS) and that the server is running.\n',
    );
    return EXIT.error;
  }
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (error) {
      io.err(`slotwise cancel: cannot use namespace "${namespace}" on ${address}: ${errorMessage(error)}\n`);
      return EXIT.error;
    }
    const client = new Client({ connection, namespace });
    const found = await cancelWorkflows(client, target, { dryRun: true });
    if (found.matched.length === 0) {
      io.out(
        `No workflows match ${describeTarget(target)} in namespace "${namespace}". Nothing to cancel.\n`,
      );
      return EXIT.ok;
    }
    io.out(summary(found.matched, target, namespace, dryRun));
    if (dryRun) {
      io.out('Dry run: nothing was cancelled.\n');
      return EXIT.ok;
    }
    if (!yes) {
      const confirm = io.confirm ?? terminalConfirm();
      if (confirm === undefined) {
        io.err(
          `slotwise cancel: not cancelling ${workflows(found.matched.length)} without confirmation, ` +
            'and stdin is not a terminal to ask on. Re-run with --yes to cancel them, ' +
            'or with --dry-run to list them all.\n',
        );
        return EXIT.usage;
      }
      if (!(await confirm(`Cancel ${workflows(found.matched.length)}? [y/N] `))) {
        io.err('slotwise cancel: declined; nothing was cancelled.\n');
        return EXIT.error;
      }
    }
    // A query is run again: what matches now is cancelled, and reported below.
    const result = await cancelWorkflows(client, target, { concurrency });
    report(result, io);
    return result.failed.length > 0 ? EXIT.error : EXIT.ok;
  } catch (error) {
    io.err(`slotwise cancel: ${errorMessage(error).replace(/^cancelWorkflows: /, '')}\n`);
    return EXIT.error;
  } finally {
    await connection.close();
  }
}
