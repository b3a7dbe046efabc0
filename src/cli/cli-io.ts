import { createInterface } from 'node:readline/promises';

/** What a CLI command reads and writes; tests pass their own. */
export interface CliIo {
  /** Writes a line to standard output. */
  out: (line: string) => void;
  /** Writes a line to standard error. */
  err: (line: string) => void;
  /** Environment variables (TEMPORAL_ADDRESS, SLOTWISE_*, ...). */
  env: NodeJS.ProcessEnv;
  /**
   * Asks a yes/no question and resolves with the answer; absent when no one can answer (then a
   * command that needs one asks for a flag such as `--yes` instead).
   */
  confirm?: (question: string) => Promise<boolean>;
}

/** Thrown for bad command-line usage; the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A y/N question on the terminal: the question on stderr, the answer from stdin. */
async function askOnTerminal(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * The real process I/O. It can ask for confirmation only when stdin and stderr are terminals, looked
 * at when a command asks (so that loading the CLI does not open stdin).
 */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  get confirm() {
    return process.stdin.isTTY && process.stderr.isTTY ? askOnTerminal : undefined;
  },
};
