import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseListenAddress } from '../config/listen-address.js';
import { UsageError } from './cli-io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The value of one parsed flag: a boolean, a string, or every string of a repeatable flag. */
type FlagValue<O extends Options[string]> = O['type'] extends 'boolean'
  ? boolean
  : O extends { multiple: true }
    ? string[]
    : string;

/** Parsed flags: string options as strings, boolean options as booleans, plus `help`. */
export interface ParsedCommandArgs<O extends Options> {
  values: { [K in keyof O]?: FlagValue<O[K]> } & { help?: boolean };
  positionals: string[];
}

/**
 * The {@link UsageError} for a problem with how a command was called: names the command, states the
 * problem (a sentence ending in a period) and points at the command's `--help`.
 */
export function usageError(command: string, problem: string): UsageError {
  return new UsageError(`slotwise ${command}: ${problem} Run \`slotwise ${command} --help\` for usage.`);
}

/** Edit distance between two short strings (insertions, deletions, substitutions, transpositions). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `input` most likely meant: the only one it is a prefix of, else the closest within
 * an edit distance of 2 (and less than half its length). `undefined` when none is close.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => input.length >= 2 && c.startsWith(input));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = distance(input, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= 2 && bestDistance < input.length / 2 ? best : undefined;
}

/** Rewrites a `util.parseArgs` error as a sentence that names the flag and what to do. */
function usageMessage(error: unknown, argv: readonly string[], options: Options): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(--?[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
    const names = Object.keys(options).map((name) => `--${name}`);
    const guess = flag.startsWith('--') ? closestMatch(flag, names) : undefined;
    return `unknown option ${flag}.${guess ? ` Did you mean ${guess}?` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
    const name = flag.replace(/^-+/, '');
    if (options[name]?.type === 'boolean') return `${flag} takes no value.`;
    const next = argv[argv.indexOf(flag) + 1];
    if (next?.startsWith('-')) {
      return `${flag} needs a value, got ${JSON.stringify(next)}, which reads as an option (write ${flag}=${next} to pass it).`;
    }
    return `${flag} needs a value.`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const extra = /'([^']*)'/.exec(message)?.[1];
    return `unexpected argument ${JSON.stringify(extra ?? message)}.`;
  }
  return `${message.replace(/\.$/, '')}.`;
}

/**
 * `util.parseArgs` with errors a user can act on: an unknown flag (with the closest known flag), a
 * flag without its value or an extra argument becomes a {@link UsageError} that names the command
 * and points at `--help`.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): ParsedCommandArgs<O> {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as Options;
  try {
    return parseArgs({ args: argv, options: all, allowPositionals, strict: true }) as ParsedCommandArgs<O>;
  } catch (error) {
    throw usageError(command, usageMessage(error, argv, all));
  }
}

/**
 * Parses a whole-number flag value (digits only) from `min` up to `max` (no bound when omitted), or
 * throws a {@link UsageError} naming the flag and the range.
 */
export function intFlag(
  command: string,
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(
      `slotwise ${command}: --${flag} must be an integer ${range}, got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

/**
 * The Temporal frontend a command talks to: `--address`, else `$TEMPORAL_ADDRESS` (empty counts as
 * unset), else `undefined`. Throws a {@link UsageError} naming where a malformed address came from.
 */
export function addressFlag(
  command: string,
  flagValue: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const address = flagValue ?? (env.TEMPORAL_ADDRESS || undefined);
  if (address !== undefined && parseListenAddress(address) === null) {
    const source = flagValue === undefined ? 'TEMPORAL_ADDRESS' : '--address';
    throw new UsageError(
      `slotwise ${command}: ${source} must be "host:port", got ${JSON.stringify(address)}.`,
    );
  }
  return address;
}
