import { type FSWatcher, watch } from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { describeValue } from '../describe-value.js';
import { FleetSlotSupplier } from '../fleet/fleet-slot-supplier.js';
import { FLEET_OPTION_RULES } from '../fleet/fleet-supplier-options.js';
import { checkInteger, MAX_TIMER_MS } from '../option-checks.js';
import { configKeys, type LiveKey, type SupplierOptionRule } from '../option-rules.js';
import { FixedSlotSupplier } from '../suppliers/fixed-slot-supplier.js';
import { FIXED_OPTION_RULES } from '../suppliers/fixed-supplier-options.js';
import { ResourceSlotSupplier } from '../suppliers/resource-slot-supplier.js';
import {
  RESOURCE_LIVE_KEYS,
  type ResourceLiveKey,
  resourceOptionKeys,
} from '../suppliers/resource-supplier-options.js';
import type { BuiltTuner } from './build-tuner.js';
import { ConfigError } from './config-error.js';
import type {
  EffectiveConfig,
  EffectiveFixedSupplier,
  EffectiveFleetSupplier,
  EffectiveSupplier,
} from './effective-config.js';
import { formatOf, parseConfigText } from './load-config.js';
import { readConfigFile } from './read-config-file.js';
import { CONFIG_SLOT_TYPES, type SlotwiseConfig } from './schema.js';

/** A limit changed in a running supplier. */
export interface AppliedChange {
  /** The setting: `activity.supplier.slots`. */
  path: string;
  /** The supplier's name. */
  supplier: string;
  from: number;
  to: number;
}

/** A change in the file that takes effect only when the Worker is restarted. */
export interface RestartRequiredChange {
  /** The setting: `activity.supplier.type`. */
  path: string;
  /** What changed: `changed from "fixed" to "cpu"`. */
  message: string;
}

/** The outcome of a reload of a valid file. */
export interface ReloadResult {
  /** The config now read from the file (its limits are in force; see {@link restartRequired}). */
  config: SlotwiseConfig;
  /** Limits changed in running suppliers. */
  applied: AppliedChange[];
  /**
   * Changes not applied, compared with the config the tuner was built from: a supplier's type,
   * name or parts, settings other than limits, Temporal's own suppliers, the sampler, metrics,
   * the Temporal connection. Reported on every reload until the Worker is restarted.
   */
  restartRequired: RestartRequiredChange[];
}

/** Options of {@link watchConfig}. */
export interface WatchConfigOptions {
  /** Called after every reload of a valid file, once its limits are applied. */
  onReload?: (result: ReloadResult) => void;
  /** Called when a new file is invalid (it was logged, and the last good config stays in force). */
  onError?: (error: ConfigError) => void;
  /**
   * Where reloads (info), changes that need a restart (warn) and rejected files (error) are logged.
   * @default a `DefaultLogger` at `INFO` level
   */
  logger?: Logger;
  /**
   * Environment whose `SLOTWISE_*` variables override the file, as when it was first loaded; `false`
   * for none.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv | false;
  /**
   * Reload also on this signal; `false` for none. Listening to SIGHUP replaces its default action
   * (ending the process) while the watcher is open.
   * @default 'SIGHUP'
   */
  signal?: 'SIGHUP' | false;
  /**
   * Milliseconds to wait after a change in the file's directory before reading it (editors write in
   * steps).
   * @default 100
   */
  debounceMs?: number;
  /**
   * Milliseconds a changed file must keep reading the same before it is applied: a writer that
   * pauses mid-file does not get its first part applied. A writer that pauses longer than this can still be read half-written: write a temporary
   * file and rename it into place (as editors and Kubernetes do), or raise this.
   * @default 250
   */
  settleMs?: number;
}

/** A running {@link watchConfig}. */
export interface ConfigWatcher {
  /** The last valid config read (the one the tuner was built from until a reload succeeds). */
  readonly config: SlotwiseConfig;
  /**
   * Resolves once the file's directories are watched and the file was read once (a change made
   * before then is still seen, by that read). Never rejects.
   */
  readonly ready: Promise<void>;
  /**
   * Reads the file now and applies it; resolves with the result, or `null` when the file was
   * invalid (logged and passed to `onError`). Never rejects. Reloads run one at a time.
   */
  reload(): Promise<ReloadResult | null>;
  /** Stops watching the file and the signal. Idempotent. */
  close(): void;
}

/** Symbolic links followed at most, as the kernel does (ELOOP beyond). */
const MAX_LINK_HOPS = 40;

/** The file as read: its text, or why it cannot be used. `key` tells two reads apart. */
type FileState = { key: string; text: string } | { key: string; error: ConfigError };

/**
 * Watches a config file (and SIGHUP) and applies new limits to the running suppliers of `built`
 * without a restart: the options their rules mark live (`slots` of fixed and fleet suppliers;
 * `minSlots`, `maxSlots` and `targetUtilization` of cpu, memory, gpu and heap suppliers). Permits in flight are kept; a lower limit only stops new
 * permits until enough are released. An invalid file is rejected, its errors logged, and the last
 * good config stays in force. A change that cannot be applied live (a supplier's type, parts or
 * other settings; Temporal's own suppliers; the sampler, metrics or Temporal connection) is
 * logged as needing a restart, while the limits that can change still do.
 *
 * The watch follows the file however it is replaced: written in place, saved by an editor that
 * writes a new file and renames it over the old one, a symbolic link to a file elsewhere (the
 * directory of every link and of the file itself is watched), or a Kubernetes ConfigMap mount,
 * whose files are links through a `..data` link the kubelet swaps on an update. Any change in
 * those directories leads to a read; a file is applied only once it reads the same twice, `settleMs`
 * apart, so a write in progress is not applied. Only a regular file
 * of at most {@link CONFIG_LIMITS}.maxBytes is read (a FIFO in its place is refused, not waited on).
 *
 * @example
 * ```ts
 * import { buildTuner, loadConfig, watchConfig } from 'slotwise';
 *
 * const built = buildTuner((await loadConfig('slotwise.yaml')).config);
 * const watcher = watchConfig('slotwise.yaml', built, {
 *   onReload: ({ applied }) => console.log(applied), // => [{ path: 'activity.supplier.slots', supplier: 'activity', from: 1, to: 3 }]
 * });
 * // ... run the Worker with built.tuner ...
 * watcher.close();
 * built.close();
 * ```
 */
export function watchConfig(
  path: string,
  built: BuiltTuner,
  options: WatchConfigOptions = {},
): ConfigWatcher {
  const owner = 'watchConfig';
  const logger = options.logger ?? new DefaultLogger('INFO');
  const env = options.env === undefined ? process.env : options.env;
  const debounceMs = checkInteger(owner, 'debounceMs', options.debounceMs ?? 100, 0, MAX_TIMER_MS);
  const settleMs = checkInteger(owner, 'settleMs', options.settleMs ?? 250, 0, MAX_TIMER_MS);
  const signal = options.signal === undefined ? 'SIGHUP' : options.signal;
  const absolute = resolve(path);
  let current = built.config;
  /** The file state last acted on (applied or rejected), so that it is acted on once. */
  let lastKey: string | undefined;
  /** A new file state, read at `since`, waiting to read the same `settleMs` later. */
  let candidate: { key: string; since: number } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Watches by real directory: the file's, and that of every link on the way to it. */
  const watchers = new Map<string, FSWatcher>();
  /** Directories that could not be watched, each reported once. */
  const unwatchable = new Set<string>();
  /** Directories whose watch failed after it started: not watched again. */
  const failed = new Set<string>();

  const readState = async (): Promise<FileState> => {
    try {
      formatOf(path);
      const text = await readConfigFile(path);
      return { key: `text:${text}`, text };
    } catch (error) {
      if (error instanceof ConfigError) return { key: `error:${error.message}`, error };
      throw error;
    }
  };

  /** Applies (or rejects) a file state; it is then the one acted on. */
  const act = (state: FileState): ReloadResult | null => {
    lastKey = state.key;
    candidate = undefined;
    if ('error' in state) return reject(state.error);
    let next: ReturnType<typeof parseConfigText>;
    try {
      next = parseConfigText(state.text, path, formatOf(path), { env });
    } catch (error) {
      if (error instanceof ConfigError) return reject(error);
      throw error;
    }
    const result = apply(built, next.effective, next.config);
    current = next.config;
    const changes = result.applied.map((c) => `${c.path} ${c.from} -> ${c.to}`).join(', ');
    logger.info(`slotwise: reloaded ${path}: ${changes || 'no limit changed'}`);
    for (const pending of result.restartRequired) {
      logger.warn(`slotwise: ${path}: ${pending.path}: ${pending.message}: restart the worker to apply it`);
    }
    options.onReload?.(result);
    return result;
  };

  const reject = (error: ConfigError): null => {
    logger.error(`slotwise: rejected the new ${path}, keeping the last good config:\n${error.message}`);
    options.onError?.(error);
    return null;
  };

  /** Whether `text` holds the config in force (the file as it was when the tuner was built). */
  const inForce = (text: string): boolean => {
    try {
      return sameValue(parseConfigText(text, path, formatOf(path), { env }).config, current);
    } catch {
      return false;
    }
  };

  /** Reads the file after a change; applies it once it reads the same `settleMs` after it first did. */
  const check = async (): Promise<void> => {
    const state = await readState();
    await rewatch();
    if (closed || state.key === lastKey) {
      candidate = undefined;
      return;
    }
    if (lastKey === undefined && 'text' in state && inForce(state.text)) {
      lastKey = state.key; // the first read: the file the tuner was built from
      return;
    }
    const now = performance.now();
    if (candidate?.key === state.key) {
      // A timer may fire a little before its time by this clock: 2 ms of slack.
      const left = candidate.since + settleMs - now;
      if (left <= 2) act(state);
      else schedule(left);
      return;
    }
    candidate = { key: state.key, since: now };
    logger.debug(`slotwise: ${path} changed; applying it once it reads the same for ${settleMs} ms`);
    schedule(settleMs);
  };

  const schedule = (ms: number): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void enqueue(check);
    }, ms);
    timer.unref();
  };

  const onChange = (): void => {
    if (!closed) schedule(debounceMs);
  };

  /** Watches the directories the file is reached through now (links may point elsewhere since). */
  const rewatch = async (): Promise<void> => {
    const wanted = await directoriesOf(absolute);
    if (closed) return;
    for (const [directory, watcher] of watchers) {
      if (!wanted.includes(directory)) {
        watcher.close();
        watchers.delete(directory);
      }
    }
    for (const directory of wanted) {
      if (watchers.has(directory) || failed.has(directory)) continue;
      try {
        const watcher = watch(directory, { persistent: false }, onChange);
        watcher.on('error', (error) => {
          // Not retried (it could fail again at once); read the file, which may have changed.
          watcher.close();
          if (watchers.get(directory) === watcher) watchers.delete(directory);
          failed.add(directory);
          logger.error(
            `slotwise: watching ${directory} for changes of ${path} failed (${error.message}); reload with SIGHUP instead`,
          );
          onChange();
        });
        watchers.set(directory, watcher);
        unwatchable.delete(directory);
      } catch (error) {
        if (unwatchable.has(directory)) continue;
        unwatchable.add(directory);
        logger.error(
          `slotwise: cannot watch ${directory} for changes of ${path} (${error instanceof Error ? error.message : String(error)}); reload with SIGHUP instead`,
        );
      }
    }
    if (wanted.length === 0 && !unwatchable.has('')) {
      unwatchable.add('');
      logger.error(
        `slotwise: cannot watch ${path}: its directory does not exist; reload with SIGHUP instead`,
      );
    }
  };

  const enqueue = <T>(job: () => Promise<T>): Promise<T | null> => {
    const run = queue.then(() => (closed ? null : job()));
    queue = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      logger.error(
        `slotwise: reloading ${path} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return null;
    });
  };

  const reload = (): Promise<ReloadResult | null> =>
    enqueue(async () => {
      const state = await readState();
      await rewatch();
      return closed ? null : act(state);
    });

  const onSignal = () => void reload();
  if (signal) process.on(signal, onSignal);
  const ready = enqueue(check).then(() => undefined);
  return {
    get config() {
      return current;
    },
    ready,
    reload,
    close: () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
      if (signal) process.removeListener(signal, onSignal);
    },
  };
}

/**
 * The real directories a file is reached through: its own directory and, for each symbolic link on
 * the way, the directory of the link's target (a ConfigMap file links through `..data`, which
 * links to a revision directory). A change to any of them can change the file.
 */
async function directoriesOf(path: string): Promise<string[]> {
  const directories = new Set<string>();
  let at = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    try {
      directories.add(await realpath(dirname(at)));
    } catch {
      // The directory is gone; the ones found so far are still watched.
    }
    let target: string;
    try {
      if (!(await lstat(at)).isSymbolicLink()) break;
      target = await readlink(at);
    } catch {
      break;
    }
    at = resolve(dirname(at), target);
  }
  return [...directories];
}

/**
 * The fleet size each fleet supplier's config last asked for. Compared with the next file rather
 * than the supplier's `slots`, which is the fleet's current size (the CLI or another process may
 * have changed it): a reload re-applies only what its own file changed.
 */
const fleetSlotsApplied = new WeakMap<FleetSlotSupplier, number>();

/** How config reload reads and changes one live option of a running supplier. */
interface LiveSetter<S> {
  /** The value to compare the file's with: the supplier's now, or what the config last asked for. */
  current(supplier: S, written: number): number;
  set(supplier: S, value: number): void;
}

/**
 * How config reload applies the options of one kind of supplier: its rules, and a setter for each
 * option they mark `live` (the type asks for exactly those, so an option marked live cannot be left
 * unapplied and any other is reported as needing a restart).
 */
interface LiveOptions<R extends Record<string, SupplierOptionRule>, S, N> {
  rules: R;
  live: { [K in LiveKey<R>]: LiveSetter<S> };
  supplier(value: unknown): value is S;
  /** Whether the live options apply to the running supplier (a fleet's other fleet does not). */
  appliesTo(before: N, after: N): boolean;
}

const FIXED_OPTIONS: LiveOptions<typeof FIXED_OPTION_RULES, FixedSlotSupplier, EffectiveFixedSupplier> = {
  rules: FIXED_OPTION_RULES,
  live: {
    slots: { current: (supplier) => supplier.slots, set: (supplier, slots) => supplier.setSlots(slots) },
  },
  supplier: (value) => value instanceof FixedSlotSupplier,
  appliesTo: () => true,
};

const FLEET_OPTIONS: LiveOptions<typeof FLEET_OPTION_RULES, FleetSlotSupplier, EffectiveFleetSupplier> = {
  rules: FLEET_OPTION_RULES,
  live: {
    slots: {
      current: (supplier, written) => fleetSlotsApplied.get(supplier) ?? written,
      set: (supplier, slots) => {
        fleetSlotsApplied.set(supplier, slots);
        // Sent to the fleet's lease manager; a failure is logged there and retried with the next request.
        supplier.setSlots(slots).catch(() => undefined);
      },
    },
  },
  supplier: (value) => value instanceof FleetSlotSupplier,
  // Another fleet is another budget: the change of `fleet` is reported as needing a restart.
  appliesTo: (before, after) => before.fleet === after.fleet,
};

/** Applies the live limits of `next` to the suppliers of `built`; reports what needs a restart. */
function apply(built: BuiltTuner, next: EffectiveConfig, config: SlotwiseConfig): ReloadResult {
  const applied: AppliedChange[] = [];
  const restartRequired: RestartRequiredChange[] = [];
  const restart = (path: string, message: string) => restartRequired.push({ path, message });
  const show = (value: unknown) =>
    value === undefined
      ? 'the default'
      : typeof value === 'string'
        ? value
        : describeValue(value, 'as-written');
  const changed = (path: string, from: unknown, to: unknown) =>
    restart(path, `changed from ${show(from)} to ${show(to)}`);

  /**
   * Compares the options of a fixed or fleet supplier as their rules list them: an option marked
   * `live` is applied to the running supplier, any other that changed needs a restart.
   */
  const compareOptions = <R extends Record<string, SupplierOptionRule>, S, N extends EffectiveSupplier>(
    options: LiveOptions<R, S, N>,
    supplier: unknown,
    before: N,
    after: N,
  ): void => {
    const path = (after as { path: string }).path;
    const name = (before as { name: string }).name;
    const written = (node: N, key: string) => (node as unknown as Record<string, number>)[key]!;
    for (const key of configKeys(options.rules)) {
      const setter = (options.live as Partial<Record<string, LiveSetter<S>>>)[key];
      if (setter === undefined) {
        if (!sameValue(written(before, key), written(after, key))) {
          changed(`${path}.${key}`, written(before, key), written(after, key));
        }
        continue;
      }
      if (!options.supplier(supplier) || !options.appliesTo(before, after)) continue;
      const from = setter.current(supplier, written(before, key));
      const to = written(after, key);
      if (from === to) continue;
      applied.push({ path: `${path}.${key}`, supplier: name, from, to });
      setter.set(supplier, to);
    }
  };

  /** Compares two suppliers; `place` is where a slot type or composite names one (it may be shared). */
  const compare = (before: EffectiveSupplier, after: EffectiveSupplier, place?: string): void => {
    const beforeShared = isShared(before);
    const afterShared = isShared(after);
    if (place !== undefined && (beforeShared || afterShared)) {
      // A shared supplier is compared once, under `suppliers`; here only which one is named.
      if (!(beforeShared && afterShared && before.name === after.name)) {
        changed(place, describe(before), describe(after));
      }
      return;
    }
    if (before.type !== after.type) {
      changed(`${after.path}.type`, before.type, after.type);
      return;
    }
    if (before.type === 'temporal-fixed-size' || before.type === 'temporal-resource-based') {
      for (const key of Object.keys(before) as (keyof typeof before)[]) {
        if (key === 'path' || key === 'defaults') continue;
        const from = before[key];
        const to = (after as typeof before)[key];
        if (!sameValue(from, to)) changed(`${after.path}.${key}`, from, to);
      }
      return;
    }
    const afterNode = after as typeof before;
    if (before.name !== afterNode.name) {
      changed(`${after.path}.name`, before.name, afterNode.name);
      return;
    }
    for (const key of ['floors', 'ceilings'] as const) {
      if (!sameValue(before[key], afterNode[key]))
        changed(`${after.path}.${key}`, before[key], afterNode[key]);
    }
    const supplier = built.suppliers.get(before.name);
    if (before.type === 'fixed' && afterNode.type === 'fixed') {
      compareOptions(FIXED_OPTIONS, supplier, before, afterNode);
      return;
    }
    if (before.type === 'fleet' && afterNode.type === 'fleet') {
      compareOptions(FLEET_OPTIONS, supplier, before, afterNode);
      return;
    }
    if (before.type === 'composite' && afterNode.type === 'composite') {
      if (before.parts.length !== afterNode.parts.length) {
        changed(`${after.path}.parts`, `${before.parts.length} parts`, `${afterNode.parts.length} parts`);
        return;
      }
      for (const [i, part] of before.parts.entries()) {
        compare(part, afterNode.parts[i]!, `${after.path}.parts[${i}]`);
      }
      return;
    }
    if (before.type === 'fixed' || before.type === 'composite' || before.type === 'fleet') return;
    const resource = afterNode as typeof before;
    // What a running supplier can change is said by the options' rules (`live`); any other option
    // (and the costs) needs a restart.
    for (const key of [...resourceOptionKeys(before.type), 'costs'] as const) {
      if (key !== 'costs' && RESOURCE_LIVE_KEYS.includes(key as ResourceLiveKey)) continue;
      if (!sameValue(before[key], resource[key])) changed(`${after.path}.${key}`, before[key], resource[key]);
    }
    if (!(supplier instanceof ResourceSlotSupplier)) return;
    const limits = supplier.limits;
    const wanted = Object.fromEntries(RESOURCE_LIVE_KEYS.map((key) => [key, resource[key]])) as Required<
      Pick<typeof resource, ResourceLiveKey>
    >;
    const changes = RESOURCE_LIVE_KEYS.filter((key) => limits[key] !== wanted[key]);
    if (changes.length === 0) return;
    supplier.setLimits(wanted);
    for (const key of changes) {
      applied.push({
        path: `${after.path}.${key}`,
        supplier: before.name,
        from: limits[key],
        to: wanted[key],
      });
    }
  };

  const was = built.effective;
  for (const slotType of CONFIG_SLOT_TYPES) compare(was[slotType], next[slotType], `${slotType}.supplier`);
  for (const name of new Set([...Object.keys(was.shared), ...Object.keys(next.shared)])) {
    const before = was.shared[name];
    const after = next.shared[name];
    if (before && after) compare(before, after);
    else restart(`suppliers.${name}`, before ? 'removed' : 'added');
  }
  // Settings read once at start: the sampler as written (whether one is needed follows from the
  // suppliers, reported above), the metrics server, the Temporal connection.
  const sections: Array<[string, object | undefined, object | undefined]> = [
    ['sampler', built.config.sampler, config.sampler],
    ['metrics', was.metrics, next.metrics],
    ['temporal', was.temporal, next.temporal],
  ];
  for (const [key, before = {}, after = {}] of sections) {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    for (const field of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (!sameValue(b[field], a[field])) changed(`${key}.${field}`, b[field], a[field]);
    }
  }
  return { config, applied, restartRequired };
}

function isShared(node: EffectiveSupplier): node is EffectiveSupplier & { shared: true; name: string } {
  return 'shared' in node && node.shared;
}

/** How a place names a supplier: `shared supplier "gpuPool"`, `a fixed supplier`. */
function describe(node: EffectiveSupplier): string {
  return isShared(node) ? `shared supplier "${node.name}"` : `a ${node.type} supplier`;
}

/** Deep equality of plain data (key order ignored). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const keysB = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    keysA.length === keysB.length &&
    keysA.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
