import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { SlotwiseOptionsError } from '../errors.js';
import { checkKnownKeys, checkOptionsObject, describeValue } from '../option-checks.js';
import { currentActivityContext } from './activity-context.js';

/** A function exported by a module, which the thread imports itself: the robust way to name work. */
export interface WorkerThreadModuleTask {
  /** The module: an absolute path or a `file:` URL, e.g. `new URL('./work.js', import.meta.url)`. */
  module: string | URL;
  /** The name of the exported function. @default 'default' */
  exportName?: string;
}

/** Options of {@link runInWorkerThread}. */
export interface RunInWorkerThreadOptions {
  /**
   * Terminates the thread when it aborts; the call then rejects with `signal.reason`.
   * @default the running activity's cancellation signal inside an activity, none elsewhere
   */
  signal?: AbortSignal;
  /** V8 heap and stack limits of the thread (`worker_threads` `resourceLimits`). @default Node's defaults */
  resourceLimits?: ResourceLimits;
}

const OWNER = 'runInWorkerThread';
const KNOWN_KEYS = ['signal', 'resourceLimits'] as const;

/** What the thread is told to run. */
type ThreadJob =
  | { kind: 'module'; url: string; exportName: string; args: unknown[] }
  | { kind: 'function'; source: string; args: unknown[] };

/** What the thread answers. */
type ThreadReply = { ok: true; value: unknown } | { ok: false; error: SerialisedError };

interface SerialisedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
}

/**
 * The thread's program, evaluated as a CommonJS script. `__name` is esbuild's keep-names helper, which
 * a transpiled function's source may call; it is harmless to define.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
globalThis.__name ??= (target) => target;
const serialise = (error) => {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack, code: error.code };
  }
  return { name: 'Error', message: 'a non-Error value was thrown: ' + String(error) };
};
const load = async () => {
  if (workerData.kind === 'function') return (0, eval)('(' + workerData.source + ')');
  const exports = await import(workerData.url);
  const fn = exports[workerData.exportName];
  if (typeof fn !== 'function') {
    const names = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
    throw new TypeError('runInWorkerThread: ' + workerData.url + ' has no exported function "' +
      workerData.exportName + '" (exported functions: ' + (names.join(', ') || 'none') + ')');
  }
  return fn;
};
load()
  .then((fn) => fn(...workerData.args))
  .then(
    (value) => {
      try {
        parentPort.postMessage({ ok: true, value });
      } catch (error) {
        parentPort.postMessage({ ok: false, error: { name: 'DataCloneError',
          message: 'runInWorkerThread: the result cannot be copied to the main thread: ' + error.message } });
      }
    },
    (error) => parentPort.postMessage({ ok: false, error: serialise(error) }),
  );
`;

const STANDARD_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** Rebuilds an error thrown in the thread, keeping its name, message, stack and `code`. */
function deserialiseError(error: SerialisedError, job: ThreadJob): Error {
  const Constructor = STANDARD_ERRORS[error.name] ?? Error;
  let message = error.message;
  if (job.kind === 'function' && error.name === 'ReferenceError') {
    message +=
      ' (runInWorkerThread re-creates a function from its source in the thread, so it cannot use ' +
      'variables or imports of its enclosing scope; pass { module, exportName } instead)';
  }
  const rebuilt = new Constructor(message);
  if (rebuilt.name !== error.name) rebuilt.name = error.name;
  if (error.stack !== undefined) {
    rebuilt.stack = message === error.message ? error.stack : error.stack.replace(error.message, message);
  }
  if (error.code !== undefined) (rebuilt as Error & { code?: unknown }).code = error.code;
  return rebuilt;
}

function moduleJob(task: WorkerThreadModuleTask, args: unknown[]): ThreadJob {
  checkOptionsObject(OWNER, task);
  checkKnownKeys(OWNER, task, ['module', 'exportName']);
  const { module, exportName = 'default' } = task;
  let url: string;
  if (module instanceof URL) {
    if (module.protocol !== 'file:') {
      throw new SlotwiseOptionsError(`${OWNER}: expected \`module\` to be a file: URL, got ${module.href}.`);
    }
    url = module.href;
  } else if (typeof module === 'string' && module.startsWith('file:')) {
    url = module;
  } else if (typeof module === 'string' && isAbsolute(module)) {
    url = pathToFileURL(module).href;
  } else {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected \`module\` to be an absolute path or a file: URL, got ${describeValue(module)}. ` +
        "Relative paths are ambiguous in a thread; use new URL('./work.js', import.meta.url).",
    );
  }
  if (typeof exportName !== 'string' || exportName === '') {
    throw new SlotwiseOptionsError(
      `${OWNER}: expected \`exportName\` to be a non-empty string, got ${describeValue(exportName)}.`,
    );
  }
  return { kind: 'module', url, exportName, args };
}

function functionJob(fn: (...args: never[]) => unknown, args: unknown[]): ThreadJob {
  const source = Function.prototype.toString.call(fn);
  try {
    // Compiles without running: rejects methods (`run() {}`), bound and native functions.
    new Function(`return (${source});`);
  } catch {
    throw new SlotwiseOptionsError(
      `${OWNER}: cannot re-create this function from its source (${JSON.stringify(source.slice(0, 40))}...). ` +
        'Pass a self-contained function expression or arrow function, or { module, exportName }.',
    );
  }
  return { kind: 'function', source, args };
}

/**
 * Runs synchronous, CPU-heavy work in a `worker_threads` thread, so the activity's event loop stays
 * free (heartbeats keep flowing) and cancellation can stop the work at once: when the signal aborts,
 * the thread is terminated and the call rejects with `signal.reason` (a `CancelledFailure` inside an
 * activity, so Temporal records the activity as cancelled and its slot frees promptly). Terminating
 * a thread is safe where killing a thread that shares memory is not: the thread has its own heap, and
 * only what it explicitly shares (a `SharedArrayBuffer` in `args`) can be left half-written.
 *
 * The work is named one of two ways:
 * - `{ module, exportName }` (robust): the thread imports the module and calls the export, which may
 *   import anything. The module must be loadable by plain Node (JavaScript, not TypeScript source).
 * - a function (convenient for small, self-contained code): it is re-created in the thread from its
 *   source text, so it cannot use variables, imports or `this` from its enclosing scope; everything
 *   it needs must come in `args`, or through `require()`/`import()` inside it.
 *
 * `args` and the result are copied with the structured clone algorithm (no functions, no class
 * instances). An error thrown in the thread rejects the call with the same name, message, stack and
 * `code`. The thread is always terminated when the call settles, even if the work left timers or
 * handles open, so no thread outlives its call.
 *
 * @example
 * ```ts
 * import { runInWorkerThread, withHeartbeats } from 'slotwise/activities';
 *
 * // Module form: hash.js exports `function sha256Rounds(input, rounds) { ... }`.
 * export async function hashActivity(input: string): Promise<string> {
 *   return withHeartbeats((signal) =>
 *     runInWorkerThread<string>(
 *       { module: new URL('./hash.js', import.meta.url), exportName: 'sha256Rounds' },
 *       [input, 1_000_000],
 *       { signal },
 *     ),
 *   );
 * }
 *
 * // Function form: self-contained code only.
 * await runInWorkerThread((n: number) => {
 *   let sum = 0;
 *   for (let i = 0; i < n; i++) sum += i;
 *   return sum;
 * }, [1_000]); // => 499500
 * ```
 */
export function runInWorkerThread<A extends unknown[], R>(
  fn: (...args: A) => R,
  args: A,
  options?: RunInWorkerThreadOptions,
): Promise<Awaited<R>>;
export function runInWorkerThread<R = unknown>(
  task: WorkerThreadModuleTask,
  args?: unknown[],
  options?: RunInWorkerThreadOptions,
): Promise<R>;
export function runInWorkerThread(
  task: WorkerThreadModuleTask | ((...args: never[]) => unknown),
  args: unknown[] = [],
  options: RunInWorkerThreadOptions = {},
): Promise<unknown> {
  try {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, KNOWN_KEYS);
    if (!Array.isArray(args)) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`args\` to be an array, got ${describeValue(args)}.`,
      );
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new SlotwiseOptionsError(
        `${OWNER}: expected \`signal\` to be an AbortSignal, got ${describeValue(options.signal)}.`,
      );
    }
    const job = typeof task === 'function' ? functionJob(task, args) : moduleJob(task, args);
    const signal = options.signal ?? currentActivityContext()?.cancellationSignal;
    return runJob(job, signal, options.resourceLimits);
  } catch (error) {
    return Promise.reject(error);
  }
}

function runJob(job: ThreadJob, signal: AbortSignal | undefined, resourceLimits?: ResourceLimits) {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<unknown>((resolve, reject) => {
    const thread = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: job,
      ...(resourceLimits ? { resourceLimits } : {}),
    });
    let settled = false;
    // Every way out terminates the thread first, so a settled call never leaves a thread running.
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      thread.terminate().then(outcome, outcome);
    };
    const onAbort = (): void => finish(() => reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    thread.on('message', (reply: ThreadReply) => {
      if (reply.ok) finish(() => resolve(reply.value));
      else finish(() => reject(deserialiseError(reply.error, job)));
    });
    thread.on('error', (error) => finish(() => reject(error)));
    thread.on('exit', (code) =>
      finish(() =>
        reject(new Error(`${OWNER}: the thread exited with code ${code} before returning a result.`)),
      ),
    );
  });
}
