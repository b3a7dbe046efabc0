import { spawn } from 'node:child_process';
import { brandClass } from '../class-brand.js';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, describeValue, optionError } from '../option-checks.js';
import { currentActivityContext } from './activity-context.js';

/** Options of {@link execFileCancellable}. */
export interface ExecFileCancellableOptions {
  /**
   * Kills the child when it aborts; the call then rejects with `signal.reason`.
   * @default the running activity's cancellation signal (required outside an activity)
   */
  signal?: AbortSignal;
  /** Working directory of the child. @default the current directory */
  cwd?: string;
  /** Environment of the child. @default `process.env` */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. @default nothing (stdin is closed at once) */
  input?: string | Uint8Array;
  /** The signal sent first on cancel. @default 'SIGTERM' */
  killSignal?: NodeJS.Signals;
  /** Milliseconds the child has to exit after `killSignal` before it gets `SIGKILL`. @default 5000 */
  killGraceMs?: number;
  /**
   * Kill the child's whole process group, so the grandchildren a shell script starts stop too. The
   * child then runs in its own process group. Ignored on Windows.
   * @default true
   */
  killProcessGroup?: boolean;
  /** Bytes of stdout and of stderr kept at most; more kills the child and fails the call. @default 16 MiB */
  maxBufferBytes?: number;
}

/** What {@link execFileCancellable} resolves with. */
export interface ExecFileResult {
  /** Everything the child wrote to stdout, as UTF-8. */
  stdout: string;
  /** Everything the child wrote to stderr, as UTF-8. */
  stderr: string;
}

/**
 * A child process that exited with a non-zero code or was killed by a signal nobody asked for.
 *
 * @example
 * ```ts
 * import { CommandFailedError, execFileCancellable } from 'slotwise/activities';
 * try {
 *   await execFileCancellable('false', []);
 * } catch (error) {
 *   if (error instanceof CommandFailedError) error.exitCode; // => 1
 * }
 * ```
 */
export class CommandFailedError extends Error {
  override name = 'CommandFailedError';
  /** The exit code, or `null` when a signal ended the child. */
  readonly exitCode: number | null;
  /** The signal that ended the child, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** What the child wrote to stdout. */
  readonly stdout: string;
  /** What the child wrote to stderr. */
  readonly stderr: string;

  constructor(
    message: string,
    details: { exitCode: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string },
  ) {
    super(message);
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }
}
brandClass(CommandFailedError, 'CommandFailedError');

const OWNER = 'execFileCancellable';
const KNOWN_KEYS = [
  'signal',
  'cwd',
  'env',
  'input',
  'killSignal',
  'killGraceMs',
  'killProcessGroup',
  'maxBufferBytes',
] as const;
const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

function checkNonNegative(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    optionError(OWNER, option, 'a finite number >= 0', value);
  }
  return value;
}

/**
 * Runs a program (no shell) and collects its output, killing it when the activity is cancelled: on
 * abort the child (and by default its whole process group) gets `killSignal`, then `SIGKILL` after
 * `killGraceMs`, and the call rejects with `signal.reason` once the child has exited, so Temporal
 * records the activity as cancelled and no process outlives it. A non-zero exit rejects with a
 * {@link CommandFailedError}; a program that cannot start rejects with the spawn error (`ENOENT`).
 *
 * @example
 * ```ts
 * import { execFileCancellable, withHeartbeats } from 'slotwise/activities';
 *
 * export async function transcode(input: string, output: string): Promise<void> {
 *   await withHeartbeats(() => execFileCancellable('ffmpeg', ['-y', '-i', input, output]));
 * }
 *
 * await execFileCancellable('echo', ['hi'], { signal: AbortSignal.timeout(1000) }); // => { stdout: 'hi\n', stderr: '' }
 * ```
 */
export async function execFileCancellable(
  file: string,
  args: readonly string[] = [],
  options: ExecFileCancellableOptions = {},
): Promise<ExecFileResult> {
  checkOptionsObject(OWNER, options);
  checkKnownKeys(OWNER, options, KNOWN_KEYS);
  if (typeof file !== 'string' || file === '') optionError(OWNER, 'file', 'a non-empty string', file);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    optionError(OWNER, 'args', 'an array of strings', args);
  }
  const signal = options.signal ?? currentActivityContext()?.cancellationSignal;
  if (!(signal instanceof AbortSignal)) {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected \`signal\` to be an AbortSignal, got ${describeValue(signal)}. ` +
        'Outside an activity there is no cancellation signal to default to; pass one.',
    );
  }
  const killGraceMs = checkNonNegative('killGraceMs', options.killGraceMs, DEFAULT_KILL_GRACE_MS);
  const maxBufferBytes = checkNonNegative('maxBufferBytes', options.maxBufferBytes, DEFAULT_MAX_BUFFER_BYTES);
  const killSignal = options.killSignal ?? 'SIGTERM';
  const groupKill = (options.killProcessGroup ?? true) && process.platform !== 'win32';
  signal.throwIfAborted();

  return new Promise<ExecFileResult>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: groupKill,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sizes = { out: 0, err: 0 };
    let failure: (() => void) | undefined;
    let escalation: NodeJS.Timeout | undefined;

    const kill = (sig: NodeJS.Signals): void => {
      try {
        if (groupKill && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // Already gone.
      }
    };
    const stopChild = (reason: () => void): void => {
      if (failure) return;
      failure = reason;
      kill(killSignal);
      escalation = setTimeout(() => kill('SIGKILL'), killGraceMs);
      escalation.unref();
    };
    const onAbort = (): void => stopChild(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });

    const collect = (chunks: Buffer[], key: 'out' | 'err') => (chunk: Buffer) => {
      sizes[key] += chunk.length;
      if (sizes[key] > maxBufferBytes) {
        stopChild(() =>
          reject(new Error(`${OWNER}: ${file} wrote more than ${maxBufferBytes} bytes to std${key}.`)),
        );
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on('data', collect(out, 'out'));
    child.stderr.on('data', collect(err, 'err'));
    child.stdin.on('error', () => {
      // The child may exit without reading its input (EPIPE); its exit code tells what happened.
    });
    child.stdin.end(options.input);

    child.on('error', (error) => {
      // Spawning failed (ENOENT, EACCES): no exit event follows.
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    const finishKilled = (): void => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(escalation);
      failure?.();
    };
    // A killed child counts as gone when it exits, even if a grandchild that escaped its process
    // group still holds the pipes open (then 'close' would wait for the grandchild).
    child.on('exit', () => {
      if (failure) finishKilled();
    });
    child.on('close', (exitCode, exitSignal) => {
      if (failure) {
        finishKilled();
        return;
      }
      signal.removeEventListener('abort', onAbort);
      clearTimeout(escalation);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (exitCode === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const lastLine = stderr.trimEnd().split('\n').at(-1) ?? '';
      const how = exitSignal ? `was killed by ${exitSignal}` : `exited with code ${exitCode}`;
      reject(
        new CommandFailedError(`${file} ${how}${lastLine ? `: ${lastLine}` : ''}`, {
          exitCode,
          signal: exitSignal,
          stdout,
          stderr,
        }),
      );
    });
  });
}
