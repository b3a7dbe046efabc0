import { FleetNotRunningError, getFleetState, setFleetSlots } from '../../client/fleet-admin.js';
import type { FleetStateSnapshot } from '../../workflows/fleet/types.js';
import { type CliIo, UsageError } from '../cli-io.js';
import { parseCommandArgs } from '../parse-args.js';
import { withTemporalClient } from '../temporal-client.js';
import { textTable } from '../text-table.js';

/** The text of `slotwise fleet --help`. */
export const FLEET_HELP = `Usage: slotwise fleet status <fleet> [options]
       slotwise fleet set-slots <fleet> <slots> [options]

Shows or changes a fleet budget (FleetSlotSupplier, \`type: fleet\`) through the fleet's lease
manager workflow on the Temporal cluster.

  status      the fleet's size, leases held and wanted per process, counters
  set-slots   change the fleet's size live: the manager grants up to the new size at once (a
              smaller size stops new grants until enough leases come back) and every process
              follows with its next answer. A process that starts later, or reloads a config
              that changed \`slots\`, applies its own value again: change the config too.

Options:
  --address <host:port>   Temporal frontend (default: $TEMPORAL_ADDRESS, else localhost:7233)
  --namespace <name>      Temporal namespace (default: $TEMPORAL_NAMESPACE, else "default")
  --json                  print the manager's state as JSON
  -h, --help              show this help

Exit codes: 0 done, 1 no lease manager of the fleet answers, 2 usage error.`;

/**
 * `slotwise fleet`: shows (`status`) or changes (`set-slots`) a fleet budget. Returns the exit code.
 *
 * @example
 * ```ts
 * import { processIo } from 'slotwise/internal/cli/cli-io.js';
 * import { fleetCommand } from 'slotwise/internal/cli/commands/fleet.js';
 * const code = await fleetCommand(['set-slots', 'licensed-api', '50'], processIo); // => 0
 * ```
 */
export async function fleetCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'fleet',
    argv,
    { address: { type: 'string' }, namespace: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (values.help) {
    io.out(FLEET_HELP);
    return 0;
  }
  const [action, fleet, slotsText, ...extra] = positionals;
  if (action !== 'status' && action !== 'set-slots') {
    throw new UsageError(
      `slotwise fleet: expected \`status <fleet>\` or \`set-slots <fleet> <slots>\`, got ${action === undefined ? 'nothing' : JSON.stringify(action)}. Run \`slotwise fleet --help\` for usage.`,
    );
  }
  if (fleet === undefined || fleet === '') {
    throw new UsageError(`slotwise fleet ${action}: expected the fleet's name after \`${action}\`.`);
  }
  const expected = action === 'status' ? 0 : 1;
  const given = positionals.length - 2;
  if (given !== expected || extra.length > 0) {
    throw new UsageError(
      action === 'status'
        ? `slotwise fleet status: expected only the fleet's name, got ${JSON.stringify(positionals.slice(1))}.`
        : `slotwise fleet set-slots: expected the fleet's name and the new slots, got ${JSON.stringify(positionals.slice(1))}.`,
    );
  }
  let slots: number | undefined;
  if (action === 'set-slots') {
    slots = Number(slotsText);
    if (!Number.isInteger(slots) || slots < 1 || slots > 1_000_000) {
      throw new UsageError(
        `slotwise fleet set-slots: expected the new slots to be an integer in [1, 1000000], got ${JSON.stringify(slotsText)}.`,
      );
    }
  }
  return withTemporalClient('fleet', values, io, async (client) => {
    try {
      const before = slots === undefined ? undefined : await getFleetState(client, fleet);
      const state =
        slots === undefined ? await getFleetState(client, fleet) : await setFleetSlots(client, fleet, slots);
      if (values.json) {
        io.out(JSON.stringify(state, null, 2));
      } else {
        if (before !== undefined) {
          io.out(`slotwise fleet: '${fleet}' slots ${before.slots} -> ${state.slots}`);
        }
        for (const line of describeFleet(state)) io.out(line);
      }
      return 0;
    } catch (error) {
      if (error instanceof FleetNotRunningError) {
        io.err(`slotwise fleet: ${error.message}`);
        return 1;
      }
      throw error;
    }
  });
}

/** A fleet's state as lines of text: a summary, then one row per process. */
export function describeFleet(state: FleetStateSnapshot): string[] {
  const ttlSeconds = state.settings.leaseTtlMs / 1000;
  const lines = [
    `fleet '${state.fleet}': ${state.leased} of ${state.slots} slots leased, ${state.waiting} wanted beyond that${state.contended ? ' (contended: processes are capped at their fair share)' : ''}`,
    `lease TTL ${ttlSeconds} s; manager run ${state.generation + 1}; granted ${state.stats.granted}, returned ${state.stats.returned}, expired ${state.stats.expired} (from ${state.stats.expiredHolders} processes that stopped renewing)`,
  ];
  if (state.holders.length === 0) {
    lines.push('no process holds or wants a lease');
    return lines;
  }
  const rows = [
    ['process', 'held', 'wants', 'cap', 'renewed'],
    ...state.holders.map((holder) => [
      holder.label,
      String(holder.held),
      String(holder.want),
      holder.cap === null ? '-' : String(holder.cap),
      `within ${(((holder.ticksSinceRenewal + 1) * state.tickMs) / 1000).toFixed(1)} s`,
    ]),
  ];
  lines.push(...textTable(rows));
  return lines;
}
