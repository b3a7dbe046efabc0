/** What a CLI command reads and writes; tests pass their own. */
export interface CliIo {
  /** Writes a line to standard output. */
  out: (line: string) => void;
  /** Writes a line to standard error. */
  err: (line: string) => void;
  /** Environment variables (TEMPORAL_ADDRESS, SLOTWISE_*, ...). */
  env: NodeJS.ProcessEnv;
}

/** Thrown for bad command-line usage; the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The real process I/O. */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};
