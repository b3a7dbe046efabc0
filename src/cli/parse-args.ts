import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flags: string options as strings, boolean options as booleans, plus `help`. */
export interface ParsedCommandArgs<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean };
  positionals: string[];
}

/**
 * `util.parseArgs` with errors a user can act on: an unknown or malformed flag becomes a
 * {@link UsageError} that names the command and points at `--help`.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): ParsedCommandArgs<O> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    }) as ParsedCommandArgs<O>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`slotwise ${command}: ${message}. Run \`slotwise ${command} --help\` for usage.`);
  }
}

/** Parses an integer flag value, or throws a {@link UsageError} naming the flag. */
export function intFlag(
  command: string,
  flag: string,
  value: string | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(
      `slotwise ${command}: --${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}
