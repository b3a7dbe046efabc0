import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { FixedSlotSupplier } from '../suppliers/fixed-slot-supplier.js';
import { ResourceSlotSupplier } from '../suppliers/resource-slot-supplier.js';
import type { BuiltTuner } from './build-tuner.js';
import { ConfigError } from './config-error.js';
import type { EffectiveConfig, EffectiveSupplier } from './effective-config.js';
import { formatValue } from './format-value.js';
import { formatOf, parseConfigText } from './load-config.js';
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
   * Milliseconds to wait after a change of the file before reading it (editors write in steps).
   * @default 100
   */
  debounceMs?: number;
}

/** A running {@link watchConfig}. */
export interface ConfigWatcher {
  /** The last valid config read (the one the tuner was built from until a reload succeeds). */
  readonly config: SlotwiseConfig;
  /**
   * Reads the file now and applies it; resolves with the result, or `null` when the file was
   * invalid (logged and passed to `onError`). Never rejects. Reloads run one at a time.
   */
  reload(): Promise<ReloadResult | null>;
  /** Stops watching the file and the signal. Idempotent. */
  close(): void;
}

/**
 * Watches a config file (and SIGHUP) and applies new limits to the running suppliers of `built`
 * without a restart: `slots` of fixed suppliers, `minSlots`, `maxSlots` and `targetUtilization`
 * of cpu, memory and gpu suppliers. Permits in flight are kept; a lower limit only stops new
 * permits until enough are released. An invalid file is rejected, its errors logged, and the last
 * good config stays in force. A change that cannot be applied live (a supplier's type, parts or
 * other settings; Temporal's own suppliers; the sampler, metrics or Temporal connection) is
 * logged as needing a restart, while the limits that can change still do.
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
  const logger = options.logger ?? new DefaultLogger('INFO');
  const env = options.env === undefined ? process.env : options.env;
  const debounceMs = options.debounceMs ?? 100;
  const signal = options.signal === undefined ? 'SIGHUP' : options.signal;
  let current = built.config;
  /** The text of the last file read, so that one write reported twice is applied once. */
  let lastText: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const attempt = async (force: boolean): Promise<ReloadResult | null> => {
    let text: string;
    try {
      formatOf(path);
      text = await readFile(path, 'utf8');
    } catch (error) {
      return reject(
        error instanceof ConfigError
          ? error
          : new ConfigError(path, [
              {
                path: '',
                message: `cannot read the file: ${error instanceof Error ? error.message : String(error)}`,
              },
            ]),
      );
    }
    if (!force && text === lastText) return null;
    lastText = text;
    let next: ReturnType<typeof parseConfigText>;
    try {
      next = parseConfigText(text, path, formatOf(path), { env });
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

  const enqueue = (force: boolean): Promise<ReloadResult | null> => {
    const run = queue.then(() => (closed ? null : attempt(force)));
    queue = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      logger.error(
        `slotwise: reloading ${path} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return null;
    });
  };

  const onSignal = () => void enqueue(true);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (closed || (filename !== null && filename !== basename(path))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        void enqueue(false);
      }, debounceMs);
    });
    watcher.on('error', (error) => logger.error(`slotwise: watching ${path} failed: ${error.message}`));
  } catch (error) {
    logger.error(
      `slotwise: cannot watch ${path} (${error instanceof Error ? error.message : String(error)}); reload with SIGHUP instead`,
    );
  }
  if (signal) process.on(signal, onSignal);
  return {
    get config() {
      return current;
    },
    reload: () => enqueue(true),
    close: () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
      if (signal) process.removeListener(signal, onSignal);
    },
  };
}

/** Applies the live limits of `next` to the suppliers of `built`; reports what needs a restart. */
function apply(built: BuiltTuner, next: EffectiveConfig, config: SlotwiseConfig): ReloadResult {
  const applied: AppliedChange[] = [];
  const restartRequired: RestartRequiredChange[] = [];
  const restart = (path: string, message: string) => restartRequired.push({ path, message });
  const show = (value: unknown) =>
    value === undefined ? 'the default' : typeof value === 'string' ? value : formatValue(value);
  const changed = (path: string, from: unknown, to: unknown) =>
    restart(path, `changed from ${show(from)} to ${show(to)}`);

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
    const supplier = built.suppliers.get(before.name);
    if (before.type === 'fixed' && afterNode.type === 'fixed') {
      if (supplier instanceof FixedSlotSupplier && supplier.slots !== afterNode.slots) {
        applied.push({
          path: `${after.path}.slots`,
          supplier: before.name,
          from: supplier.slots,
          to: afterNode.slots,
        });
        supplier.setSlots(afterNode.slots);
      }
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
    if (before.type === 'fixed' || before.type === 'composite') return;
    const resource = afterNode as typeof before;
    for (const key of ['hysteresis', 'rampThrottleMs', 'settleMs', 'slotsPerDevice', 'costs'] as const) {
      if (!sameValue(before[key], resource[key])) changed(`${after.path}.${key}`, before[key], resource[key]);
    }
    if (!(supplier instanceof ResourceSlotSupplier)) return;
    const limits = supplier.limits;
    const wanted = {
      minSlots: resource.minSlots,
      maxSlots: resource.maxSlots,
      targetUtilization: resource.targetUtilization,
    };
    const changes = (Object.keys(wanted) as (keyof typeof wanted)[]).filter(
      (key) => limits[key] !== wanted[key],
    );
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
