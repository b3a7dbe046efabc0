import {
  ConcurrencyNotRunningError,
  getConcurrencyState,
  shardText,
} from '../../client/concurrency-admin.js';
import { concurrencyControllerId } from '../../workflows/concurrency/signals.js';
import type { ConcurrencyControllerSnapshot, ConcurrencyShard } from '../../workflows/concurrency/types.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { intFlag, parseCommandArgs } from '../parse-args.js';
import { withTemporalClient } from '../temporal-client.js';
import { textTable } from '../text-table.js';

/** The text of `slotwise concurrency --help`. */
export const CONCURRENCY_HELP = `Usage: slotwise concurrency status <group> [options]

Shows a withConcurrency() group through its controller workflow on the Temporal cluster: the
limits in force, the runs holding a grant and waiting per key, and the controller's counters
(they count from zero in each controller: one completes after its idle timeout, and the next
request starts a new one).

Options:
  --shards <n>            the group's controller.shards (default 1): shows each shard's controller
  --keys <n>              most keys to list, those with the most runs first (default 20)
  --address <host:port>   Temporal frontend (default: $TEMPORAL_ADDRESS, else localhost:7233)
  --namespace <name>      Temporal namespace (default: $TEMPORAL_NAMESPACE, else "default")
  --json                  print one entry per controller as JSON: its id and state, or why not
  -h, --help              show this help

Exit codes: 0 done, 1 no controller of the group answers, 2 usage error.`;

/** What `--json` prints for each controller of the group. */
type ControllerEntry =
  | { controller: string; answered: true; state: ConcurrencyControllerSnapshot }
  | { controller: string; answered: false; reason: string };

/**
 * `slotwise concurrency status`: shows a `withConcurrency()` group. Returns the exit code.
 *
 * @example
 * ```ts
 * import { processIo } from 'slotwise/internal/cli/cli-io.js';
 * import { concurrencyCommand } from 'slotwise/internal/cli/commands/concurrency.js';
 * const code = await concurrencyCommand(['status', 'reports', '--shards', '4'], processIo); // => 0
 * ```
 */
export async function concurrencyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'concurrency',
    argv,
    {
      address: { type: 'string' },
      namespace: { type: 'string' },
      json: { type: 'boolean' },
      shards: { type: 'string' },
      keys: { type: 'string' },
    },
    true,
  );
  if (values.help) {
    io.out(CONCURRENCY_HELP);
    return 0;
  }
  const [action, group, ...extra] = positionals;
  if (action !== 'status') {
    throw new UsageError(
      `slotwise concurrency: expected \`status <group>\`, got ${action === undefined ? 'nothing' : JSON.stringify(action)}. Run \`slotwise concurrency --help\` for usage.`,
    );
  }
  if (group === undefined || group === '') {
    throw new UsageError("slotwise concurrency status: expected the group's name after `status`.");
  }
  if (extra.length > 0) {
    throw new UsageError(
      `slotwise concurrency status: expected only the group's name, got ${JSON.stringify(positionals.slice(1))}.`,
    );
  }
  const shards = intFlag('concurrency', 'shards', values.shards, 1, 64) ?? 1;
  const keys = intFlag('concurrency', 'keys', values.keys, 1) ?? 20;
  return withTemporalClient('concurrency', values, io, async (client) => {
    // Every shard at once: one that does not answer takes up to 10 s.
    const entries = await Promise.all(
      Array.from({ length: shards }, async (_, index): Promise<ControllerEntry> => {
        const shard: ConcurrencyShard | undefined = shards > 1 ? { index, count: shards } : undefined;
        const controller = concurrencyControllerId(group, shard);
        try {
          return { controller, answered: true, state: await getConcurrencyState(client, group, shard) };
        } catch (error) {
          if (!(error instanceof ConcurrencyNotRunningError)) throw error;
          return { controller, answered: false, reason: error.message };
        }
      }),
    );
    const answered = entries.some((entry) => entry.answered);
    if (values.json) {
      io.out(JSON.stringify(entries, null, 2));
    } else {
      for (const entry of entries) {
        if (entry.answered) for (const line of describeConcurrency(entry.state, { keys })) io.out(line);
        else if (answered) io.out(entry.reason);
        else io.err(`slotwise concurrency: ${entry.reason}`);
      }
    }
    return answered ? 0 : 1;
  });
}

/**
 * A controller's state as lines of text: a summary, the counters, then one row per key (the keys
 * with the most runs first, at most `keys` of them). `now` (epoch ms) measures how long grants are held.
 */
export function describeConcurrency(
  state: ConcurrencyControllerSnapshot,
  { keys = 20, now = Date.now() }: { keys?: number; now?: number } = {},
): string[] {
  const { policy, stats } = state;
  const limits = `${policy.strategy}, at most ${policy.maxRuns} per key${policy.groupMaxRuns === undefined ? '' : `, ${policy.groupMaxRuns} in the group`}`;
  const check = { describe: 'described', probe: 'probed by signal', unknown: 'not checked yet' }[
    state.holderCheck
  ];
  const lines = [
    `group '${state.group}'${shardText(state.shard)}: ${state.running.length} running, ${state.queued.length} waiting; ${limits}`,
    `controller run ${state.generation + 1} (continued as new ${state.generation} times); long-held grants ${check}; ` +
      `granted ${stats.granted}, released ${stats.released}, cancelled ${stats.cancelled}, rejected ${stats.rejected}, ` +
      `reclaimed ${stats.reclaimed}, full ${stats.full ?? 0}`,
  ];
  const perKey = new Map<string, { running: number; waiting: number; oldestGrant: number }>();
  const of = (key: string) => {
    let entry = perKey.get(key);
    if (entry === undefined) {
      entry = { running: 0, waiting: 0, oldestGrant: Number.POSITIVE_INFINITY };
      perKey.set(key, entry);
    }
    return entry;
  };
  for (const run of state.running) {
    const entry = of(run.key);
    entry.running++;
    entry.oldestGrant = Math.min(entry.oldestGrant, run.grantedAt);
  }
  for (const run of state.queued) of(run.key).waiting++;
  if (perKey.size === 0) {
    lines.push('no run holds or waits for a grant');
    return lines;
  }
  const sorted = [...perKey].sort(
    ([a, x], [b, y]) => y.running + y.waiting - (x.running + x.waiting) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const rows = [
    ['key', 'running', 'waiting', 'held longest'],
    ...sorted
      .slice(0, keys)
      .map(([key, entry]) => [
        key,
        String(entry.running),
        String(entry.waiting),
        entry.running === 0 ? '-' : `${(Math.max(0, now - entry.oldestGrant) / 1000).toFixed(1)} s`,
      ]),
  ];
  lines.push(...textTable(rows));
  if (sorted.length > keys) lines.push(`(${sorted.length - keys} more keys; --keys to list more)`);
  return lines;
}
