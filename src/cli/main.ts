import { type CliIo, processIo, UsageError } from './cli-io.js';
import { cancelCommand } from './commands/cancel.js';
import { concurrencyCommand } from './commands/concurrency.js';
import { costsCommand } from './commands/costs.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { fleetCommand } from './commands/fleet.js';
import { validateCommand } from './commands/validate.js';
import { workerCommand } from './commands/worker.js';
import { closestMatch } from './parse-args.js';

const COMMANDS: Record<string, { summary: string; run: (argv: string[], io: CliIo) => Promise<number> }> = {
  worker: {
    summary: 'run a Worker with slotwise suppliers (embedded dev server when no address is given)',
    run: workerCommand,
  },
  validate: {
    summary: 'check a config file and print the effective limits, or every error',
    run: validateCommand,
  },
  doctor: {
    summary: 'what slotwise sees here: cgroups, cores, memory, GPUs, Temporal CLI and server',
    run: doctorCommand,
  },
  demo: { summary: 'a short workload that makes slots fill and drain, with a live page', run: demoCommand },
  costs: { summary: "print a Worker's learned per-task costs as a config costs: block", run: costsCommand },
  fleet: { summary: 'show a fleet budget, or change its slots live (status, set-slots)', run: fleetCommand },
  cancel: {
    summary: 'cancel many workflow runs by ids or by a visibility query (--dry-run to preview)',
    run: cancelCommand,
  },
  concurrency: {
    summary: 'show a withConcurrency() group: limits, runs per key, counters (status)',
    run: concurrencyCommand,
  },
};

export const MAIN_HELP = `Usage: slotwise <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`)
  .join('\n')}

Run \`slotwise <command> --help\` for a command's options.`;

/** Runs the slotwise CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    const guess = closestMatch(name, Object.keys(COMMANDS));
    io.err(
      `slotwise: unknown command ${JSON.stringify(name)}.${guess ? ` Did you mean \`slotwise ${guess}\`?` : ''}\n\n${MAIN_HELP}`,
    );
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(error.message);
      return 2;
    }
    io.err(`slotwise ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
