import type { Logger } from '@temporalio/common';
import { brandClass } from '../class-brand.js';
import { checkKnownKeys, checkOptionsObject, optionError } from '../option-checks.js';
import { checkOption } from '../option-rules.js';
import { CpuMonitor, type CpuMonitorOptions, type CpuReading } from './cpu-monitor.js';
import { DistinctErrorLog, errorMessage } from './distinct-error-log.js';
import { GpuMonitor, type GpuMonitorOptions, type GpuReading } from './gpu-monitor.js';
import { HeapMonitor, type HeapMonitorOptions, type HeapReading } from './heap-monitor.js';
import { MemoryMonitor, type MemoryMonitorOptions, type MemoryReading } from './memory-monitor.js';
import { checkClock, checkLogger, checkRoot } from './resource-options.js';
import { SAMPLER_OPTION_RULES } from './sampler-options.js';

/** The latest readings held by a {@link ResourceSampler}. Treat it as read-only. */
export interface ResourceSample {
  /** Increases by one with every new sample (a CPU/memory tick or a GPU result); `0` before the first. */
  seq: number;
  /** When this sample was published, in milliseconds of the sampler's clock. */
  at: number;
  /** The latest CPU reading; `null` when CPU is not sampled or before two ticks have passed. */
  cpu: CpuReading | null;
  /** The latest memory reading; `null` when memory is not sampled or before the first tick. */
  memory: MemoryReading | null;
  /** The latest GPU reading; `null` when GPUs are not sampled or before the first call returns. */
  gpu: GpuReading | null;
  /** The latest V8 heap reading of this process; `null` when the heap is not sampled or before the first tick. */
  heap: HeapReading | null;
  /** Errors so far: failed reads (CPU, memory, GPU) and listeners that threw. */
  errors: number;
}

/** Called with each new {@link ResourceSample}. Must not throw (throws are logged and counted). */
export type ResourceSampleListener = (sample: ResourceSample) => void;

/** Options of a {@link ResourceSampler}. */
export interface ResourceSamplerOptions {
  /**
   * Milliseconds between CPU, memory and heap samples.
   * @default 100
   */
  intervalMs?: number;
  /**
   * Milliseconds between GPU readings: the `-lms` interval of the one `nvidia-smi` loop it runs (or
   * between calls, where `nvidia-smi` has no loop mode).
   * @default 1000
   */
  gpuIntervalMs?: number;
  /**
   * Directory standing for `/`, passed to the CPU and memory monitors this sampler creates.
   * @default '/'
   */
  root?: string;
  /**
   * A {@link CpuMonitor}, options to create one, or `false` to not sample CPU.
   * @default {} (a CpuMonitor with default options)
   */
  cpu?: CpuMonitor | CpuMonitorOptions | false;
  /**
   * A {@link MemoryMonitor}, options to create one, or `false` to not sample memory.
   * @default {} (a MemoryMonitor with default options)
   */
  memory?: MemoryMonitor | MemoryMonitorOptions | false;
  /**
   * A {@link GpuMonitor}, options to create one, or `false` to not sample GPUs.
   * @default false
   */
  gpu?: GpuMonitor | GpuMonitorOptions | false;
  /**
   * A {@link HeapMonitor}, options to create one, or `false` to not sample this process's V8 heap.
   * @default false
   */
  heap?: HeapMonitor | HeapMonitorOptions | false;
  /**
   * Where read errors (once per distinct message) are logged; also given to monitors it creates.
   * @default new DefaultLogger('WARN')
   */
  logger?: Logger;
  /**
   * Monotonic clock in milliseconds; also given to monitors it creates.
   * @default performance.now
   */
  now?: () => number;
}

const OWNER = 'ResourceSampler';
const OPTION_KEYS = ['intervalMs', 'gpuIntervalMs', 'root', 'cpu', 'memory', 'gpu', 'heap', 'logger', 'now'];

/** A resource a {@link ResourceSampler} reads. */
export type SampledResource = 'cpu' | 'memory' | 'gpu' | 'heap';

/**
 * The one place resources are read. A background timer (unref'd, so it never keeps the process
 * alive) reads CPU, memory (and the V8 heap, when asked) every `intervalMs`, and one long-lived
 * `nvidia-smi -lms gpuIntervalMs` process reports GPUs (see {@link GpuMonitor.watch});
 * consumers read the cached {@link latest} sample synchronously and never do I/O themselves.
 *
 * Lifecycle is explicit: {@link start} and {@link stop} are idempotent, and whoever creates the
 * sampler starts and stops it (suppliers sharing it only read {@link latest} or {@link subscribe}).
 * A stopped sampler keeps its last sample and can be started again.
 *
 * A reader that throws does not stop sampling: the error is logged once per distinct message and
 * counted in {@link ResourceSample.errors}, and the previous reading is kept with `stale: true`.
 *
 * @example
 * ```ts
 * import { ResourceSampler } from 'slotwise';
 *
 * const sampler = new ResourceSampler({ intervalMs: 250, memory: { scope: 'cgroup' } });
 * const unsubscribe = sampler.subscribe((sample) => console.log(sample.memory?.ratio));
 * sampler.start();
 * sampler.latest().memory?.worstRecentRatio; // => 0.42, from the cache
 * unsubscribe();
 * sampler.stop();
 * ```
 */
export class ResourceSampler {
  readonly #intervalMs: number;
  readonly #gpuIntervalMs: number;
  readonly #now: () => number;
  readonly #errors: DistinctErrorLog;
  readonly #cpu: CpuMonitor | null;
  readonly #memory: MemoryMonitor | null;
  readonly #gpu: GpuMonitor | null;
  readonly #heap: HeapMonitor | null;
  /** The error of each resource whose latest read failed. */
  readonly #failures = new Map<SampledResource, string>();
  readonly #listeners = new Set<{ listener: ResourceSampleListener }>();
  #timer: NodeJS.Timeout | null = null;
  #latest: ResourceSample;

  constructor(options: ResourceSamplerOptions = {}) {
    checkOptionsObject(OWNER, options);
    checkKnownKeys(OWNER, options, OPTION_KEYS);
    this.#intervalMs = checkOption(
      OWNER,
      'intervalMs',
      SAMPLER_OPTION_RULES.intervalMs,
      options.intervalMs,
    ) as number;
    this.#gpuIntervalMs = checkOption(
      OWNER,
      'gpuIntervalMs',
      SAMPLER_OPTION_RULES.gpuIntervalMs,
      options.gpuIntervalMs,
    ) as number;
    const root = options.root === undefined ? {} : { root: checkRoot(OWNER, options.root) };
    const logger = checkLogger(OWNER, options.logger);
    this.#now = checkClock(OWNER, options.now);
    const now = { now: this.#now };
    this.#errors = new DistinctErrorLog(logger);
    this.#cpu = monitor(
      options.cpu ?? {},
      'cpu',
      CpuMonitor,
      (o) => new CpuMonitor({ ...root, ...now, ...o }),
    );
    this.#memory = monitor(
      options.memory ?? {},
      'memory',
      MemoryMonitor,
      (o) => new MemoryMonitor({ ...root, ...now, ...o }),
    );
    this.#gpu = monitor(
      options.gpu ?? false,
      'gpu',
      GpuMonitor,
      (o) => new GpuMonitor({ logger, ...now, ...o }),
    );
    this.#heap = monitor(
      options.heap ?? false,
      'heap',
      HeapMonitor,
      (o) => new HeapMonitor({ ...now, ...o }),
    );
    this.#latest = Object.freeze({
      seq: 0,
      at: this.#now(),
      cpu: null,
      memory: null,
      gpu: null,
      heap: null,
      errors: 0,
    });
  }

  /** Milliseconds between CPU, memory and heap samples. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Milliseconds between GPU readings. */
  get gpuIntervalMs(): number {
    return this.#gpuIntervalMs;
  }

  /** The V8 heap monitor, or `null` when the heap is not sampled. */
  get heap(): HeapMonitor | null {
    return this.#heap;
  }

  /**
   * Why the latest read of `resource` failed, or `null` when it succeeded (or the resource is not
   * sampled). A failing resource keeps its last good reading, which grows old.
   */
  failure(resource: SampledResource): string | null {
    if (resource === 'gpu') return this.#latest.gpu?.error ?? null;
    return this.#failures.get(resource) ?? null;
  }

  /** The CPU monitor, or `null` when CPU is not sampled. */
  get cpu(): CpuMonitor | null {
    return this.#cpu;
  }

  /** The memory monitor, or `null` when memory is not sampled. */
  get memory(): MemoryMonitor | null {
    return this.#memory;
  }

  /** The GPU monitor, or `null` when GPUs are not sampled. */
  get gpu(): GpuMonitor | null {
    return this.#gpu;
  }

  /** `true` between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.#timer !== null;
  }

  /** The cached latest sample. Synchronous, does no I/O, never throws. */
  latest(): ResourceSample {
    return this.#latest;
  }

  /**
   * Calls `listener` with every new sample until the returned function is called. The returned
   * unsubscribe function is idempotent.
   */
  subscribe(listener: ResourceSampleListener): () => void {
    if (typeof listener !== 'function') optionError(OWNER, 'listener', 'a function', listener);
    const entry = { listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /**
   * Takes one sample now and starts the timers. Idempotent: a second call while running does
   * nothing.
   */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.sampleNow(), this.#intervalMs);
    this.#timer.unref?.();
    this.sampleNow();
    // One long-lived nvidia-smi loop, not a process per reading (see GpuMonitor.watch).
    this.#gpu?.watch(this.#gpuIntervalMs, (reading) => this.#takeGpu(reading));
  }

  /**
   * Stops the timers, kills the `nvidia-smi` loop and any call in flight and closes file handles (they re-open if
   * sampled again). The last sample stays readable. Idempotent.
   */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#cpu?.close();
    this.#memory?.close();
    this.#gpu?.close();
    this.#heap?.close();
  }

  /**
   * Reads CPU, memory and the heap synchronously now, publishes the new sample to listeners and returns it.
   * What each timer tick does; for tests and for callers that need a fresh value. Never throws.
   */
  sampleNow(): ResourceSample {
    const previous = this.#latest;
    const cpu = this.#cpu ? this.#read('cpu', () => this.#cpu!.read(), previous.cpu) : null;
    const memory = this.#memory ? this.#read('memory', () => this.#memory!.read(), previous.memory) : null;
    const heap = this.#heap ? this.#read('heap', () => this.#heap!.read(), previous.heap) : null;
    return this.#publish(cpu, memory, previous.gpu, heap);
  }

  /**
   * Runs `nvidia-smi` now (or joins the call in flight), publishes the new sample and returns it.
   * Resolves with the current sample at once when GPUs are not sampled. Never rejects.
   */
  async sampleGpu(): Promise<ResourceSample> {
    if (this.#gpu === null) return this.#latest;
    return this.#takeGpu(await this.#gpu.sample());
  }

  /** Publishes a new GPU reading (the same object again publishes nothing). */
  #takeGpu(reading: GpuReading | null): ResourceSample {
    const current = this.#latest;
    if (reading === current.gpu) return current;
    return this.#publish(current.cpu, current.memory, reading, current.heap);
  }

  #read<T extends { stale: boolean }>(
    resource: Exclude<SampledResource, 'gpu'>,
    read: () => T | null,
    previous: T | null,
  ): T | null {
    const what = resource === 'cpu' ? 'CPU' : resource === 'heap' ? 'V8 heap' : resource;
    try {
      const reading = read() ?? previous;
      this.#failures.delete(resource);
      return reading;
    } catch (error) {
      const message = errorMessage(error);
      this.#failures.set(resource, message);
      this.#errors.report(`${OWNER}: ${what} reading failed: ${message}`);
      return previous === null ? null : { ...previous, stale: true };
    }
  }

  #publish(
    cpu: CpuReading | null,
    memory: MemoryReading | null,
    gpu: GpuReading | null,
    heap: HeapReading | null,
  ): ResourceSample {
    const sample = Object.freeze({
      seq: this.#latest.seq + 1,
      at: this.#now(),
      cpu,
      memory,
      gpu,
      heap,
      errors: this.#errors.count + (this.#gpu?.errors ?? 0),
    });
    this.#latest = sample;
    for (const { listener } of [...this.#listeners]) {
      try {
        listener(sample);
      } catch (error) {
        this.#errors.report(`${OWNER}: a sample listener threw: ${errorMessage(error)}`);
      }
    }
    return sample;
  }
}
brandClass(ResourceSampler, 'ResourceSampler');

function monitor<M, O extends object>(
  value: unknown,
  option: string,
  type: new (options: O) => M,
  create: (options: O) => M,
): M | null {
  if (value === false) return null;
  if (value instanceof type) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    optionError(OWNER, option, `a ${type.name}, ${type.name} options or \`false\``, value);
  }
  return create(value as O);
}
