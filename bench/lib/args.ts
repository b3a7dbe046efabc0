/** Options every benchmark script understands. */
export interface BenchArgs {
  /**
   * `--quick`: the shortest form of every scenario, a smoke run that proves the scripts still
   * work (CI runs it). Its figures are never quoted.
   */
  quick: boolean;
  /** `--rounds N`: how many interleaved rounds (default 3, or 1 with `--quick`; at least 1). */
  rounds: number;
  /** `--no-write`: write no files (for trying things out). */
  write: boolean;
  /**
   * `--out DIR`: where results go (default bench/results, or bench/results/tmp/quick with
   * `--quick`, which git ignores).
   */
  out: string | null;
  /** `--only a,b` (run-all only): scenario names to run. */
  only: string[] | null;
  /** `--address HOST:PORT`: use this Temporal server instead of starting a dev server. */
  address: string | null;
}

export const USAGE =
  'usage: tsx bench/<script>.ts [--quick] [--rounds N] [--no-write] [--out DIR] [--only permit-cost,throughput,...] [--address HOST:PORT]';

/** Parses `argv` (default `process.argv.slice(2)`); unknown flags are an error. */
export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const args: BenchArgs = { quick: false, rounds: 3, write: true, out: null, only: null, address: null };
  let roundsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} expects a value (try --help)`);
      return v;
    };
    switch (flag) {
      case '--quick':
        args.quick = true;
        break;
      case '--rounds': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error(`--rounds expects an integer >= 1, got ${arg}`);
        args.rounds = n;
        roundsGiven = true;
        break;
      }
      case '--no-write':
        args.write = false;
        break;
      case '--out':
        args.out = value();
        break;
      case '--address':
        args.address = value();
        break;
      case '--only':
        args.only = value().split(',').filter(Boolean);
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (try --help)`);
    }
  }
  if (args.quick && !roundsGiven) args.rounds = 1;
  return args;
}
