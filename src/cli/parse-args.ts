import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flags: string options as strings, boolean options as booleans, plus `help`. */
export interface ParsedCommandArgs<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean };
  positionals: string[];
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
    throw new UsageError(
      `slotwise ${command}: ${usageMessage(error, argv, all)} Run \`slotwise ${command} --help\` for usage.`,
    );
  }
}

/** Parses a whole-number flag value (digits only), or throws a {@link UsageError} naming the flag. */
export function intFlag(
  command: string,
  flag: string,
  value: string | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(
      `slotwise ${command}: --${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}
