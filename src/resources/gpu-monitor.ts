import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '@temporalio/common';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject, MAX_TIMER_MS, optionError } from '../option-checks.js';
import { checkOption } from '../option-rules.js';
import { DistinctErrorLog, errorMessage } from './distinct-error-log.js';
import { checkClock, checkLogger, checkOptionalInteger } from './resource-options.js';
import { GPU_OPTION_RULES } from './sampler-options.js';

/** One GPU as reported by `nvidia-smi`. Unknown values (`[N/A]`, `[Not Supported]`) are `null`, never 0. */
export interface GpuDevice {
  /** The `nvidia-smi` (physical) index, not renumbered by `CUDA_VISIBLE_DEVICES`. */
  index: number;
  /** The device UUID, such as `GPU-5a0b...`. */
  uuid: string;
  /** `utilization.gpu` as a ratio in [0, 1], or `null` when unknown. */
  utilization: number | null;
  /** `memory.used` in bytes (reported in MiB), or `null` when unknown. */
  memoryUsedBytes: number | null;
  /** `memory.total` in bytes (reported in MiB), or `null` when unknown. */
  memoryTotalBytes: number | null;
}

/** One GPU reading: the visible devices, in `CUDA_VISIBLE_DEVICES` order when it is set. */
export interface GpuReading {
  /** Visible devices; empty when none are visible or readings are disabled. */
  devices: readonly GpuDevice[];
  /** When the devices were read (or readings disabled), in milliseconds of the monitor's clock. */
  at: number;
  /** `true` when the latest call failed: {@link devices} are from the last good call (or empty). */
  stale: boolean;
  /** `true` when `nvidia-smi` is not installed: no further calls are made. */
  disabled: boolean;
  /** The latest call's error message, `null` after a good call. */
  error: string | null;
}

/** Options of a {@link GpuMonitor}. */
export interface GpuMonitorOptions {
  /**
   * The program to run, looked up on `env.PATH` unless it is a path.
   * @default 'nvidia-smi'
   */
  command?: string;
  /**
   * Environment of the child process; its `PATH` finds {@link command} and its
   * `CUDA_VISIBLE_DEVICES` (comma-separated indices, UUIDs or UUID prefixes; `''` for none; unset for
   * all) selects the devices reported. The environment is read when a process starts (each plain
   * call, and each start of a {@link GpuMonitor.watch} loop); `CUDA_VISIBLE_DEVICES` is applied
   * to every reading, so later changes to it apply at once.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How long one call may take, in milliseconds, before the process (and its process group) is
   * killed and the call counts as failed.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * Where the missing-GPU line and failures (once per distinct message) are logged.
   * @default new DefaultLogger('WARN')
   */
  logger?: Logger;
  /**
   * Monotonic clock in milliseconds, for {@link GpuReading.at}.
   * @default performance.now
   */
  now?: () => number;
}

const OWNER = 'GpuMonitor';
const OPTION_KEYS = ['command', 'env', 'timeoutMs', 'logger', 'now'];
const MAX_OUTPUT_BYTES = 1 << 20;
const MIB = 1024 * 1024;

/** The longest wait between two restarts of a failing `nvidia-smi` loop. */
const MAX_BACKOFF_MS = 60_000;

/** The arguments of each `nvidia-smi` call. */
export const NVIDIA_SMI_ARGS: readonly string[] = [
  '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total',
  '--format=csv,noheader,nounits',
];

/**
 * Reads GPUs by running `nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits` asynchronously, with a timeout and never two calls in flight.
 *
 * - `nvidia-smi` missing (`ENOENT`): one log line, "no GPU: nvidia-smi not found on PATH, GPU
 *   readings disabled", and no further calls; readings say `disabled: true`.
 * - A non-zero exit, or output no real device gives (see {@link parseNvidiaSmiCsv}: negative or
 *   absurd values, duplicate indexes or UUIDs, output cut short or over 1 MiB): logged once per
 *   distinct message and counted, never turned into devices; the last good devices are kept,
 *   marked `stale` (and suppliers stop above `minSlots` once they are older than their bound).
 * - A call still running after `timeoutMs`: its process group is killed (SIGKILL); a failure as above.
 *
 * @example
 * ```ts
 * import { GpuMonitor } from 'slotwise';
 *
 * const gpu = new GpuMonitor({ timeoutMs: 2000 });
 * await gpu.sample();
 * // => { devices: [{ index: 0, uuid: 'GPU-...', utilization: 0.37, memoryUsedBytes: 12944670720,
 * //      memoryTotalBytes: 85520809984 }], stale: false, disabled: false, error: null, at: 1234.5 }
 * gpu.latest(); // the same object, without I/O
 * ```
 */
export class GpuMonitor {
  readonly #command: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #errors: DistinctErrorLog;
  #latest: GpuReading | null = null;
  #inFlight: Promise<GpuReading | null> | null = null;
  #child: ChildProcess | null = null;
  #disabled = false;
  #cancelled = false;
  /** Device lines in the latest good call's output (before `CUDA_VISIBLE_DEVICES`): a loop round's size. */
  #lastLineCount = 0;
  #watch: Watch | null = null;

  constructor(options: GpuMonitorOptions = {}) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, OPTION_KEYS);
    this.#command = checkOption(OWNER, 'command', GPU_OPTION_RULES.nvidiaSmi, options.command) as string;
    if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) {
      optionError(OWNER, 'env', 'an object of environment variables', options.env);
    }
    this.#env = options.env ?? process.env;
    this.#timeoutMs = checkOptionalInteger(OWNER, 'timeoutMs', options.timeoutMs, 2000, 1, MAX_TIMER_MS);
    this.#logger = checkLogger(OWNER, options.logger);
    this.#now = checkClock(OWNER, options.now);
    this.#errors = new DistinctErrorLog(this.#logger);
  }

  /** The latest reading, `null` before the first call completes. Does no I/O. */
  latest(): GpuReading | null {
    return this.#latest;
  }

  /** `true` once `nvidia-smi` was found missing; {@link sample} then spawns nothing. */
  get disabled(): boolean {
    return this.#disabled;
  }

  /** `true` while a call is running. */
  get busy(): boolean {
    return this.#inFlight !== null;
  }

  /** How many calls failed (non-zero exit, timeout, bad output, spawn error other than ENOENT). */
  get errors(): number {
    return this.#errors.count;
  }

  /**
   * Runs `nvidia-smi` once and resolves with the new {@link latest} reading. While a call is in
   * flight, returns that call's promise instead of starting another. Never rejects.
   */
  sample(): Promise<GpuReading | null> {
    if (this.#disabled) return Promise.resolve(this.#latest);
    if (!this.#inFlight) {
      this.#inFlight = this.#run().finally(() => {
        this.#inFlight = null;
      });
    }
    return this.#inFlight;
  }

  /** `true` between {@link watch} and {@link close}. */
  get watching(): boolean {
    return this.#watch !== null;
  }

  /**
   * Follows the GPUs with one long-lived `nvidia-smi ... -lms intervalMs` process instead of a
   * process per reading (starting a process blocks the event loop for a millisecond or more each
   * time), and calls `onReading` with every new {@link latest} reading. `nvidia-smi` prints the same
   * lines again every `intervalMs`, with nothing between rounds; a round is as many lines as one
   * plain call printed just before the loop started (that call also gives the first reading).
   *
   * - A round no real device gives (see {@link parseNvidiaSmiCsv}) is an error, as for one call: the
   *   loop is killed and started again after a backoff (`intervalMs`, doubling per failure in a row
   *   up to 60 s).
   * - A loop that prints no round for `intervalMs + timeoutMs` is killed (its process group) and
   *   restarted the same way; so is a loop that exits. Readings keep their time, so suppliers see
   *   them grow stale.
   * - A loop that exits before its first round (an `nvidia-smi` without `-lms`) is not used again:
   *   GPUs are read by one call per `intervalMs` instead, and one line says so.
   * - `nvidia-smi` missing: as for {@link sample}, one line and no further calls.
   *
   * Each distinct failure is logged once. Idempotent while watching; {@link close} stops it.
   */
  watch(intervalMs: number, onReading: (reading: GpuReading | null) => void): void {
    if (this.#watch !== null) return;
    if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > MAX_TIMER_MS) {
      optionError(OWNER, 'watch intervalMs', `an integer in [1, ${MAX_TIMER_MS}]`, intervalMs);
    }
    const watch: Watch = {
      intervalMs,
      onReading,
      loop: null,
      timer: null,
      failures: 0,
      refusals: 0,
      perCall: false,
    };
    this.#watch = watch;
    this.#probe(watch);
  }

  /**
   * Stops {@link watch} (kills the loop process group and cancels its timers), and kills a call in
   * flight, which then resolves with the previous reading, unchanged and not counted as an error.
   * Later calls to {@link sample} and {@link watch} work as before. Idempotent.
   */
  close(): void {
    const watch = this.#watch;
    if (watch !== null) {
      this.#watch = null;
      if (watch.timer !== null) clearTimeout(watch.timer);
      watch.timer = null;
      const loop = watch.loop;
      watch.loop = null;
      if (loop !== null) killGroup(loop);
    }
    if (this.#child === null) return;
    this.#cancelled = true;
    killGroup(this.#child);
  }

  /** One plain call: the first reading, whether `nvidia-smi` exists, and how many lines a round has. */
  #probe(watch: Watch): void {
    const started = this.#now();
    void this.sample().then((reading) => {
      if (this.#watch !== watch) return;
      this.#publish(watch);
      if (this.#disabled) return;
      if (reading === null || reading.error !== null || this.#lastLineCount === 0) {
        this.#retry(watch);
      } else if (watch.perCall) {
        watch.failures = 0;
        this.#after(watch, Math.max(0, watch.intervalMs - (this.#now() - started)), () => this.#probe(watch));
      } else {
        watch.failures = 0;
        this.#startLoop(watch, this.#lastLineCount);
      }
    });
  }

  #startLoop(watch: Watch, roundLines: number): void {
    const command = this.#command;
    let child: ChildProcess;
    try {
      child = spawn(command, [...NVIDIA_SMI_ARGS, '-lms', String(watch.intervalMs)], {
        env: this.#env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: process.platform !== 'win32', // own process group, so a hang is killed whole
        windowsHide: true,
      });
    } catch (error) {
      this.#loopFailed(watch, null, `${command} -lms could not be started: ${errorMessage(error)}`);
      return;
    }
    watch.loop = child;
    // A sampler never keeps the process alive: neither the loop nor its pipes hold the event loop.
    child.unref();
    unrefStream(child.stdout);
    unrefStream(child.stderr);
    let rounds = 0;
    let pending = '';
    let lines: string[] = [];
    const stderr: string[] = [];
    const silent = () =>
      this.#loopFailed(
        watch,
        child,
        `${command} -lms printed no reading for ${watch.intervalMs + this.#timeoutMs} ms and was killed`,
      );
    this.#after(watch, watch.intervalMs + this.#timeoutMs, silent);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (watch.loop !== child) return;
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1 && watch.loop === child) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length < roundLines) continue;
        const round = `${lines.join('\n')}\n`;
        lines = [];
        let devices: GpuDevice[];
        try {
          devices = filterVisibleDevices(parseNvidiaSmiCsv(round), this.#env.CUDA_VISIBLE_DEVICES);
        } catch (error) {
          this.#loopFailed(
            watch,
            child,
            `${command} -lms output could not be parsed: ${errorMessage(error)}`,
          );
          return;
        }
        rounds++;
        watch.failures = 0;
        watch.refusals = 0;
        this.#record({ devices });
        this.#publish(watch);
        this.#after(watch, watch.intervalMs + this.#timeoutMs, silent);
      }
      if (pending.length > MAX_OUTPUT_BYTES) {
        this.#loopFailed(
          watch,
          child,
          `${command} -lms wrote a line over ${MAX_OUTPUT_BYTES} bytes, which is not trusted`,
        );
      }
    });
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 16) stderr.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      this.#loopFailed(watch, child, `${command} -lms could not be started: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      if (watch.loop !== child) return;
      const detail = firstLine(stderr.join('')) ?? firstLine(`${lines.join('\n')}\n${pending}`);
      const status = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      // A real loop only stops when killed: one that exits 0, or fails before its first round right
      // after a plain call worked, twice in a row, does not loop here (a tool that refuses or ignores
      // the flag). Once could be a GPU failing at that moment.
      if (code === 0 || (rounds === 0 && code !== null)) watch.refusals++;
      else watch.refusals = 0;
      if (watch.refusals >= 2) {
        watch.loop = null;
        watch.perCall = true;
        if (watch.timer !== null) clearTimeout(watch.timer);
        try {
          this.#logger.warn(
            `GPU: \`${command} -lms\` ${status} before its first reading${detail ? ` (${detail})` : ''}, so GPUs are read by one ${command} call every ${watch.intervalMs} ms instead`,
          );
        } catch {
          // A broken logger must not break sampling.
        }
        this.#after(watch, watch.intervalMs, () => this.#probe(watch));
        return;
      }
      const cut = pending.trim() !== '' ? ', its output ending in the middle of a line (truncated)' : '';
      this.#loopFailed(watch, child, `${command} -lms ${status}${cut}${detail && !cut ? `: ${detail}` : ''}`);
    });
  }

  /** A loop round failed or the loop stopped: record the error, kill the loop and start again later. */
  #loopFailed(watch: Watch, child: ChildProcess | null, error: string): void {
    if (this.#watch !== watch || (child !== null && watch.loop !== child)) return;
    watch.loop = null;
    if (child !== null) {
      killGroup(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
    this.#record({ error: `${error}; restarting it` });
    this.#publish(watch);
    this.#retry(watch);
  }

  /** Probes again after a backoff: `intervalMs`, doubled per failure in a row, at most 60 s. */
  #retry(watch: Watch): void {
    const delay = Math.min(
      watch.intervalMs * 2 ** Math.min(watch.failures, 30),
      Math.max(MAX_BACKOFF_MS, watch.intervalMs),
    );
    watch.failures++;
    this.#after(watch, delay, () => this.#probe(watch));
  }

  /** Runs `action` in `ms` unless the watch stopped; replaces the watch's pending timer. */
  #after(watch: Watch, ms: number, action: () => void): void {
    if (watch.timer !== null) clearTimeout(watch.timer);
    watch.timer = setTimeout(() => {
      watch.timer = null;
      if (this.#watch === watch) action();
    }, ms);
    watch.timer.unref?.();
  }

  #publish(watch: Watch): void {
    try {
      watch.onReading(this.#latest);
    } catch (error) {
      this.#errors.report(`GPU reading listener threw: ${errorMessage(error)}`);
    }
  }

  #run(): Promise<GpuReading | null> {
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const output: Buffer[] = [];
      let outputBytes = 0;
      let truncated = false;
      const finish = (result: { devices: GpuDevice[] } | { error: string } | 'missing') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#child = null;
        if (this.#cancelled) this.#cancelled = false;
        else this.#record(result);
        resolve(this.#latest);
      };

      let child: ChildProcess;
      try {
        child = spawn(this.#command, NVIDIA_SMI_ARGS, {
          env: this.#env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: process.platform !== 'win32', // own process group, so a hang is killed whole
          windowsHide: true,
        });
      } catch (error) {
        finish({ error: `${this.#command} could not be started: ${errorMessage(error)}` });
        return;
      }
      this.#child = child;
      timer = setTimeout(() => {
        killGroup(child);
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ error: `${this.#command} timed out after ${this.#timeoutMs} ms and was killed` });
      }, this.#timeoutMs);
      const collect = (chunk: Buffer) => {
        if (outputBytes + chunk.length > MAX_OUTPUT_BYTES) truncated = true;
        if (outputBytes >= MAX_OUTPUT_BYTES) return;
        output.push(chunk);
        outputBytes += chunk.length;
      };
      const stderr: Buffer[] = [];
      child.stdout?.on('data', collect);
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 16) stderr.push(chunk);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') finish('missing');
        else finish({ error: `${this.#command} could not be started: ${error.message}` });
      });
      child.on('close', (code, signal) => {
        const stdout = Buffer.concat(output).toString('utf8');
        if (code !== 0) {
          const detail = firstLine(Buffer.concat(stderr).toString('utf8')) ?? firstLine(stdout);
          const status = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
          finish({ error: `${this.#command} ${status}${detail ? `: ${detail}` : ''}` });
          return;
        }
        if (truncated) {
          finish({
            error: `${this.#command} wrote more than ${MAX_OUTPUT_BYTES} bytes, so its output was cut and is not trusted`,
          });
          return;
        }
        try {
          const all = parseNvidiaSmiCsv(stdout);
          this.#lastLineCount = all.length;
          finish({ devices: filterVisibleDevices(all, this.#env.CUDA_VISIBLE_DEVICES) });
        } catch (error) {
          finish({ error: `${this.#command} output could not be parsed: ${errorMessage(error)}` });
        }
      });
    });
  }

  #record(result: { devices: GpuDevice[] } | { error: string } | 'missing'): void {
    const at = this.#now();
    if (result === 'missing') {
      this.#disabled = true;
      this.#latest = { devices: [], at, stale: false, disabled: true, error: `${this.#command} not found` };
      try {
        this.#logger.warn(`no GPU: ${this.#command} not found on PATH, GPU readings disabled`);
      } catch {
        // A broken logger must not break sampling.
      }
      return;
    }
    if ('devices' in result) {
      this.#latest = { devices: result.devices, at, stale: false, disabled: false, error: null };
      return;
    }
    this.#errors.report(`GPU reading failed: ${result.error}`, { command: this.#command });
    const previous = this.#latest;
    this.#latest = {
      devices: previous?.devices ?? [],
      at: previous?.at ?? at,
      stale: true,
      disabled: false,
      error: result.error,
    };
  }
}
brandClass(GpuMonitor, 'GpuMonitor');

/** A {@link GpuMonitor.watch} in progress. */
interface Watch {
  readonly intervalMs: number;
  readonly onReading: (reading: GpuReading | null) => void;
  /** The `-lms` process, `null` between two. */
  loop: ChildProcess | null;
  /** The pending watchdog, backoff or next call. */
  timer: NodeJS.Timeout | null;
  /** Failures in a row, for the backoff. */
  failures: number;
  /** Loops in a row that exited 0 or before their first round. */
  refusals: number;
  /** `true` once the loop mode proved unusable: one call per interval. */
  perCall: boolean;
}

function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function firstLine(text: string): string | null {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return line === undefined ? null : line.slice(0, 200);
}

/** A field value is unknown when `nvidia-smi` prints `[N/A]`, `[Not Supported]`, `N/A` or nothing. */
function parseField(text: string): number | null {
  const value = text.trim();
  if (value === '' || value.startsWith('[') || /^n\/?a$/i.test(value)) return null;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`not a number: ${JSON.stringify(value)}`);
  return number;
}

/** Device indexes `nvidia-smi` can report (it numbers devices from 0). */
const MAX_DEVICE_INDEX = 1023;
/** More memory than any GPU has, in MiB (16 TiB): a reading above it is garbage. */
const MAX_DEVICE_MIB = 16 * 1024 * 1024;
const UUID = /^(GPU|MIG)-[^\s,]+$/;

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits` output, and refuses what no real device reports: throws on a line
 * without five fields, an index that is not an integer in [0, 1023], a UUID not starting with
 * `GPU-` or `MIG-`, utilization outside [0, 100] %, negative memory, memory used above the total or
 * a total above 16 TiB, a duplicate index or UUID, and output cut in the middle of a line.
 */
export function parseNvidiaSmiCsv(text: string): GpuDevice[] {
  if (text.trim() !== '' && !text.endsWith('\n')) {
    throw new Error('the output ends in the middle of a line (truncated)');
  }
  const devices: GpuDevice[] = [];
  const indexes = new Set<number>();
  const uuids = new Set<string>();
  let lineNumber = 0;
  for (const line of text.split('\n')) {
    lineNumber++;
    if (line.trim() === '') continue;
    const where = `line ${lineNumber} ${JSON.stringify(line.slice(0, 200))}`;
    const fields = line.split(',').map((field) => field.trim());
    const index = Number(fields[0]);
    if (fields.length !== 5 || fields[0] === '' || !Number.isInteger(index) || !fields[1]) {
      throw new Error(`unexpected line ${JSON.stringify(line.slice(0, 200))}`);
    }
    const fail = (problem: string): never => {
      throw new Error(`${where}: ${problem}`);
    };
    const uuid = fields[1];
    if (index < 0 || index > MAX_DEVICE_INDEX) fail(`index ${index} is outside [0, ${MAX_DEVICE_INDEX}]`);
    if (!UUID.test(uuid)) fail(`uuid ${JSON.stringify(uuid)} does not start with GPU- or MIG-`);
    if (indexes.has(index)) fail(`index ${index} is listed twice`);
    if (uuids.has(uuid)) fail(`uuid ${uuid} is listed twice`);
    indexes.add(index);
    uuids.add(uuid);
    const utilization = parseField(fields[2]!);
    const used = parseField(fields[3]!);
    const total = parseField(fields[4]!);
    if (utilization !== null && (utilization < 0 || utilization > 100)) {
      fail(`utilization.gpu ${utilization} % is outside [0, 100]`);
    }
    if (used !== null && used < 0) fail(`memory.used ${used} MiB is negative`);
    if (total !== null && (total <= 0 || total > MAX_DEVICE_MIB)) {
      fail(`memory.total ${total} MiB is not in (0, ${MAX_DEVICE_MIB}]`);
    }
    if (used !== null && total !== null && used > total) {
      fail(`memory.used ${used} MiB is above memory.total ${total} MiB`);
    }
    devices.push({
      index,
      uuid,
      utilization: utilization === null ? null : utilization / 100,
      memoryUsedBytes: used === null ? null : used * MIB,
      memoryTotalBytes: total === null ? null : total * MIB,
    });
  }
  return devices;
}

/**
 * Applies `CUDA_VISIBLE_DEVICES` the way CUDA does: `undefined` keeps every device; otherwise a
 * comma-separated list of indices, UUIDs or unambiguous UUID prefixes (`GPU-5a0b`), in that order,
 * stopping at the first entry that matches no device (so `-1` or `''` hides all). Duplicates are
 * dropped.
 */
export function filterVisibleDevices(
  devices: readonly GpuDevice[],
  visible: string | undefined,
): GpuDevice[] {
  if (visible === undefined) return [...devices];
  const chosen: GpuDevice[] = [];
  for (const raw of visible.split(',')) {
    const entry = raw.trim();
    let device: GpuDevice | undefined;
    if (/^\d+$/.test(entry)) {
      device = devices.find((d) => d.index === Number(entry));
    } else if (entry !== '') {
      const prefix = entry.toLowerCase();
      const matches = devices.filter((d) => d.uuid.toLowerCase().startsWith(prefix));
      device = matches.length === 1 ? matches[0] : undefined;
    }
    if (device === undefined) break;
    if (!chosen.includes(device)) chosen.push(device);
  }
  return chosen;
}
