import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BuiltTuner, buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import {
  type ConfigWatcher,
  type ReloadResult,
  type WatchConfigOptions,
  watchConfig,
} from '../../src/config/config-watcher.js';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { FleetSlotSupplier } from '../../src/fleet/fleet-slot-supplier.js';
import { FLEET_OPTION_RULES } from '../../src/fleet/fleet-supplier-options.js';
import { configKeys, type SupplierOptionRule } from '../../src/option-rules.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { FIXED_OPTION_RULES } from '../../src/suppliers/fixed-supplier-options.js';
import type { LedgerSlotSupplier } from '../../src/suppliers/ledger-slot-supplier.js';
import type { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import {
  RESOURCE_KINDS,
  RESOURCE_LIVE_KEYS,
  RESOURCE_OPTION_RULES,
  type ResourceLiveKey,
  type ResourceOptionKey,
  resourceOptionKeys,
} from '../../src/suppliers/resource-supplier-options.js';
import { FakeFleetManager } from '../fleet/fake-fleet-manager.js';
import { recordingLogger, reserveCtx } from '../helpers/fakes.js';

let dir: string;
const cleanup: Array<() => void> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotwise-watch-'));
});
afterEach(() => {
  for (const close of cleanup.splice(0)) close();
  rmSync(dir, { recursive: true, force: true });
});

/** A recording logger whose next debug line can be awaited (resolved before any timer runs). */
function hookedLogger() {
  const logger = recordingLogger();
  const debug = logger.debug.bind(logger);
  let hook: ((message: string) => void) | undefined;
  logger.debug = (message: string, meta?: Record<string, unknown>) => {
    debug(message, meta);
    hook?.(message);
  };
  return Object.assign(logger, {
    nextDebug: () => new Promise<string>((resolve) => (hook = resolve)),
  });
}

/** Builds the tuner of the config at `path` and watches it; events arrive in order. */
async function watching(path: string, env: NodeJS.ProcessEnv = {}, options: WatchConfigOptions = {}) {
  const built: BuiltTuner = buildTuner((await loadConfig(path, { env })).config);
  const logger = hookedLogger();
  const events: Array<ReloadResult | ConfigError> = [];
  let wake: (() => void) | undefined;
  const push = (event: ReloadResult | ConfigError) => {
    events.push(event);
    wake?.();
  };
  const watcher: ConfigWatcher = watchConfig(path, built, {
    logger,
    env,
    debounceMs: 20,
    settleMs: 60,
    onReload: push,
    onError: push,
    ...options,
  });
  cleanup.push(
    () => watcher.close(),
    () => built.close(),
  );
  /** The next reload result or rejection. */
  const next = async (): Promise<ReloadResult | ConfigError> => {
    while (events.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return events.shift()!;
  };
  /** The capacity of the `activity` supplier now. */
  const capacity = () => built.suppliers.get('activity')!.snapshot().capacity;
  return { path, built, logger, watcher, next, events, capacity };
}

/** Writes `text` to a config file, builds its tuner and watches it. */
async function watched(text: string, env: NodeJS.ProcessEnv = {}) {
  const path = join(dir, 'slotwise.yaml');
  writeFileSync(path, text);
  return { ...(await watching(path, env)), write: (content: string) => writeFileSync(path, content) };
}

/** The one change a reload of FIXED(from) to FIXED(to) applies. */
const slotsChange = (from: number, to: number) => ({
  applied: [{ path: 'activity.supplier.slots', supplier: 'activity', from, to }],
  restartRequired: [],
});

const FIXED = (activitySlots: number, workflowSlots = 4) =>
  `workflow:\n  supplier: { type: fixed, slots: ${workflowSlots} }\nactivity:\n  supplier: { type: fixed, slots: ${activitySlots} }\n`;

describe('watchConfig', () => {
  it('watchConfig() applies a new fixed slots value when the file changes, keeping permits in flight', async () => {
    const { path, built, logger, next, write } = await watched(FIXED(1));
    const activity = built.suppliers.get('activity') as FixedSlotSupplier;
    expect(activity.tryReserveSlot(reserveCtx())).not.toBeNull();
    expect(activity.tryReserveSlot(reserveCtx())).toBeNull();
    write(FIXED(3));
    const result = await next();
    expect(result).toEqual({
      config: {
        workflow: { supplier: { type: 'fixed', slots: 4 } },
        activity: { supplier: { type: 'fixed', slots: 3 } },
      },
      applied: [{ path: 'activity.supplier.slots', supplier: 'activity', from: 1, to: 3 }],
      restartRequired: [],
    });
    expect(activity.snapshot()).toMatchObject({ capacity: 3, issued: 1 });
    expect(activity.tryReserveSlot(reserveCtx())).not.toBeNull();
    expect(logger.messages('info')).toEqual([`slotwise: reloaded ${path}: activity.supplier.slots 1 -> 3`]);
  });

  it('watchConfig() rejects an invalid file, logs why, and keeps the last good config in force', async () => {
    const { path, built, logger, watcher, next, write } = await watched(FIXED(2));
    write(FIXED(3));
    await next();
    write(FIXED(0));
    const error = await next();
    expect(error).toBeInstanceOf(ConfigError);
    const message = `${path}: activity.supplier.slots: expected an integer >= 1, got 0`;
    expect((error as ConfigError).message).toBe(message);
    expect(logger.messages('error')).toEqual([
      `slotwise: rejected the new ${path}, keeping the last good config:\n${message}`,
    ]);
    expect(built.suppliers.get('activity')!.snapshot().capacity).toBe(3);
    expect(watcher.config.activity?.supplier).toEqual({ type: 'fixed', slots: 3 });
    write('activity: [\n');
    const syntax = await next();
    expect((syntax as ConfigError).message).toBe(
      `${path}:2:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    );
    expect(built.suppliers.get('activity')!.snapshot().capacity).toBe(3);
  });

  it('watchConfig() reports a changed supplier type as needing a restart, and still applies what it can', async () => {
    const { path, built, logger, next, write } = await watched(FIXED(2, 4));
    write('workflow:\n  supplier: { type: fixed, slots: 6 }\nactivity:\n  supplier: { type: cpu }\n');
    expect(await next()).toMatchObject({
      applied: [{ path: 'workflow.supplier.slots', supplier: 'workflow', from: 4, to: 6 }],
      restartRequired: [{ path: 'activity.supplier.type', message: 'changed from fixed to cpu' }],
    });
    expect(logger.messages('warn')).toEqual([
      `slotwise: ${path}: activity.supplier.type: changed from fixed to cpu: restart the worker to apply it`,
    ]);
    expect(built.suppliers.get('workflow')!.snapshot().capacity).toBe(6);
    expect(built.suppliers.get('activity')!.snapshot().capacity).toBe(2);
  });

  it('watchConfig() changes minSlots, maxSlots and targetUtilization of resource suppliers live; other settings need a restart', async () => {
    const before = 'activity:\n  supplier: { type: memory, maxSlots: 10 }\n';
    const { built, next, write } = await watched(before);
    write(
      'activity:\n  supplier: { type: memory, minSlots: 2, maxSlots: 20, targetUtilization: 0.9, settleMs: 10 }\n',
    );
    expect(await next()).toMatchObject({
      applied: [
        { path: 'activity.supplier.minSlots', supplier: 'activity', from: 1, to: 2 },
        { path: 'activity.supplier.maxSlots', supplier: 'activity', from: 10, to: 20 },
        { path: 'activity.supplier.targetUtilization', supplier: 'activity', from: 0.8, to: 0.9 },
      ],
      restartRequired: [{ path: 'activity.supplier.settleMs', message: 'changed from 1000 to 10' }],
    });
    expect((built.suppliers.get('activity') as MemorySlotSupplier).limits).toEqual({
      minSlots: 2,
      maxSlots: 20,
      targetUtilization: 0.9,
    });
  });

  it('watchConfig() applies every option the rules mark live and reports every other one as needing a restart', async () => {
    // A changed value for each option of RESOURCE_OPTION_RULES: a new option without one fails here.
    const changedValue: Record<ResourceOptionKey, number> = {
      minSlots: 2,
      maxSlots: 7,
      targetUtilization: 0.6,
      hysteresis: 0.1,
      rampThrottleMs: 10,
      settleMs: 10,
      staleAfterMs: 3000,
      slotsPerDevice: 2,
    };
    const keys = Object.keys(RESOURCE_OPTION_RULES) as ResourceOptionKey[];
    expect(Object.keys(changedValue).sort()).toEqual([...keys].sort());
    // One shared supplier of each kind, each changed one option at a time.
    const config = (changed: readonly ResourceOptionKey[]) => {
      const lines = ['suppliers:'];
      for (const kind of RESOURCE_KINDS) {
        const options = resourceOptionKeys(kind)
          .filter((key) => changed.includes(key))
          .map((key) => `, ${key}: ${changedValue[key]}`)
          .join('');
        lines.push(`  ${kind}Pool: { type: ${kind}${options} }`);
      }
      lines.push(
        'activity:',
        `  supplier: { type: composite, parts: [${RESOURCE_KINDS.map((k) => `${k}Pool`)}] }`,
        '',
      );
      return lines.join('\n');
    };
    const { built, watcher, write } = await watched(config([]));
    for (const [i, key] of keys.entries()) {
      write(config(keys.slice(0, i + 1)));
      const result = (await watcher.reload()) as ReloadResult;
      const kinds = RESOURCE_KINDS.filter((kind) => resourceOptionKeys(kind).includes(key));
      const live = (RESOURCE_LIVE_KEYS as readonly string[]).includes(key);
      const paths = kinds.map((kind) => `suppliers.${kind}Pool.${key}`);
      expect({ key, applied: result.applied.map((change) => change.path) }).toEqual({
        key,
        applied: live ? paths : [],
      });
      // (a gpu supplier's minSlots 0 -> 2 also gives it floors, which need a restart: not this key's entry)
      const restart = result.restartRequired
        .map((change) => change.path)
        .filter((path) => path.endsWith(`.${key}`));
      expect({ key, restart }).toEqual({
        key,
        restart: live ? [] : paths,
      });
      if (!live) continue;
      for (const kind of kinds) {
        const limits = (built.suppliers.get(`${kind}Pool`) as MemorySlotSupplier).limits;
        expect({ kind, key, value: limits[key as ResourceLiveKey] }).toEqual({
          kind,
          key,
          value: changedValue[key],
        });
      }
    }
  });

  it('watchConfig() applies every fixed and fleet option the rules mark live and reports every other one as needing a restart', async () => {
    // A changed value for each config option of FIXED_OPTION_RULES and FLEET_OPTION_RULES: a new option without one fails here.
    const changedValue: Record<string, Record<string, number | string>> = {
      fixed: { slots: 5 },
      fleet: { fleet: 'other', slots: 6, leaseTtlMs: 9000, lingerMs: 50, managerTaskQueue: 'managers-2' },
    };
    const rules = { fixed: FIXED_OPTION_RULES, fleet: FLEET_OPTION_RULES } as const;
    for (const type of ['fixed', 'fleet'] as const) {
      expect({ type, keys: Object.keys(changedValue[type]!).sort() }).toEqual({
        type,
        keys: configKeys(rules[type]).sort(),
      });
    }
    const first = { fixed: { slots: 2 }, fleet: { fleet: 'f', slots: 3 } };
    const config = (changed: { fixed: string[]; fleet: string[] }) => {
      const spec = (type: 'fixed' | 'fleet') => {
        const options = { ...first[type] } as Record<string, number | string>;
        for (const key of changed[type]) options[key] = changedValue[type]![key]!;
        return JSON.stringify({ type, ...options });
      };
      return `suppliers:\n  fixedPool: ${spec('fixed')}\n  fleetPool: ${spec('fleet')}\nactivity:\n  supplier: { type: composite, parts: [fixedPool, fleetPool] }\n`;
    };
    const path = join(dir, 'slotwise.yaml');
    writeFileSync(path, config({ fixed: [], fleet: [] }));
    // The fleet supplier built as buildTuner builds it, on a fake lease manager (no Temporal here).
    const loaded = await loadConfig(path, { env: {} });
    const manager = new FakeFleetManager(3);
    const fleetPool = new FleetSlotSupplier({
      name: 'fleetPool',
      fleet: 'f',
      slots: 3,
      transport: manager.transport(),
    });
    const fixedPool = new FixedSlotSupplier({ name: 'fixedPool', slots: 2 });
    const built = {
      ...buildTuner(parseConfig({ activity: { supplier: { type: 'fixed', slots: 1 } } })),
      config: loaded.config,
      effective: loaded.effective,
      suppliers: new Map<string, LedgerSlotSupplier>([
        ['fixedPool', fixedPool],
        ['fleetPool', fleetPool],
      ]),
    };
    const watcher = watchConfig(path, built, {
      logger: recordingLogger(),
      env: {},
      debounceMs: 20,
      settleMs: 60,
    });
    cleanup.push(
      () => watcher.close(),
      () => built.close(),
      () => void fleetPool.close(),
    );
    const changed = { fixed: [] as string[], fleet: [] as string[] };
    for (const type of ['fixed', 'fleet'] as const) {
      // `fleet` last: once it changed, the fleet options after it no longer apply to the running supplier.
      const keys = (configKeys(rules[type]) as string[]).sort(
        (a, b) => Number(a === 'fleet') - Number(b === 'fleet'),
      );
      for (const key of keys) {
        changed[type].push(key);
        writeFileSync(path, config(changed));
        const result = (await watcher.reload()) as ReloadResult;
        const rule: SupplierOptionRule = rules[type][key as keyof (typeof rules)[typeof type]];
        const live = rule.live === true;
        const at = `suppliers.${type}Pool.${key}`;
        // A changed `fleet` is another budget (a restart), and the slots of the fleet after it are not sent to the old one.
        const applies = live && !changed.fleet.includes('fleet');
        expect({ type, key, applied: result.applied.map((change) => change.path) }).toEqual({
          type,
          key,
          applied: applies ? [at] : [],
        });
        expect({
          type,
          key,
          restart: result.restartRequired.map((change) => change.path).filter((p) => p === at),
        }).toEqual({
          type,
          key,
          restart: live ? [] : [at],
        });
      }
    }
    expect(fixedPool.slots).toBe(5);
    expect(manager.slotRequests).toEqual([6]);
  });

  it('watchConfig() reports a changed staleAfterMs as needing a restart, not silently ignored', async () => {
    const { next, write } = await watched('activity:\n  supplier: { type: cpu, staleAfterMs: 2000 }\n');
    write('activity:\n  supplier: { type: cpu, staleAfterMs: 500 }\n');
    expect(await next()).toMatchObject({
      applied: [],
      restartRequired: [{ path: 'activity.supplier.staleAfterMs', message: 'changed from 2000 to 500' }],
    });
  });

  it('watchConfig() applies limits inside composites and shared suppliers, and reports structural changes', async () => {
    const { built, next, write } = await watched(
      [
        'suppliers:',
        '  pool: { type: fixed, slots: 4 }',
        '  other: { type: fixed, slots: 4 }',
        'activity:',
        '  supplier: { type: composite, parts: [{ type: fixed, slots: 8 }, pool] }',
        'localActivity:',
        '  supplier: pool',
        'workflow:',
        '  supplier: { type: temporal-fixed-size, numSlots: 10 }',
        '',
      ].join('\n'),
    );
    write(
      [
        'suppliers:',
        '  pool: { type: fixed, slots: 6 }',
        '  other: { type: fixed, slots: 4 }',
        'activity:',
        '  supplier: { type: composite, parts: [{ type: fixed, slots: 5 }, pool] }',
        'localActivity:',
        '  supplier: other',
        'workflow:',
        '  supplier: { type: temporal-fixed-size, numSlots: 20 }',
        'metrics:',
        '  listen: 127.0.0.1:9464',
        'sampler:',
        '  intervalMs: 200',
        '',
      ].join('\n'),
    );
    expect(await next()).toMatchObject({
      applied: [
        { path: 'activity.supplier.parts[0].slots', supplier: 'activity-fixed', from: 8, to: 5 },
        { path: 'suppliers.pool.slots', supplier: 'pool', from: 4, to: 6 },
      ],
      restartRequired: [
        { path: 'workflow.supplier.numSlots', message: 'changed from 10 to 20' },
        {
          path: 'localActivity.supplier',
          message: 'changed from shared supplier "pool" to shared supplier "other"',
        },
        { path: 'sampler.intervalMs', message: 'changed from the default to 200' },
        { path: 'metrics.listen', message: 'changed from false to 127.0.0.1:9464' },
      ],
    });
    expect(built.suppliers.get('activity')!.snapshot().capacity).toBe(5);
  });

  it('watchConfig() reloads on SIGHUP, applying SLOTWISE_* overrides as when first loaded', async () => {
    const env = { SLOTWISE_ACTIVITY__SUPPLIER__SLOTS: '5' };
    const { built, next } = await watched(FIXED(1), env);
    expect(built.suppliers.get('activity')!.snapshot().capacity).toBe(5);
    (built.suppliers.get('activity') as FixedSlotSupplier).setSlots(2);
    process.emit('SIGHUP', 'SIGHUP');
    expect(await next()).toMatchObject({
      applied: [{ path: 'activity.supplier.slots', supplier: 'activity', from: 2, to: 5 }],
      restartRequired: [],
    });
  });

  it('watchConfig() close() stops listening to SIGHUP and later reloads do nothing', async () => {
    const listeners = process.listenerCount('SIGHUP');
    const { watcher } = await watched(FIXED(1));
    expect(process.listenerCount('SIGHUP')).toBe(listeners + 1);
    watcher.close();
    watcher.close();
    expect(process.listenerCount('SIGHUP')).toBe(listeners);
    expect(await watcher.reload()).toBeNull();
  });

  it('watchConfig() reload() re-reads the file on demand and resolves with the result', async () => {
    const { watcher, write } = await watched(FIXED(1));
    write(FIXED(2));
    const result = await watcher.reload();
    expect(result?.applied).toEqual([
      { path: 'activity.supplier.slots', supplier: 'activity', from: 1, to: 2 },
    ]);
    expect(await watcher.reload()).toMatchObject({ applied: [], restartRequired: [] });
  });
});

/**
 * Lays out a config the way the kubelet mounts a ConfigMap, or updates it: the files are in a
 * revision directory, `..data` links to it, and `slotwise.yaml` links to `..data/slotwise.yaml`.
 * An update writes a new revision, swaps `..data` with a rename, and removes the old revision.
 */
function configMapRevision(root: string, revision: string, text: string, previous?: string): void {
  mkdirSync(join(root, revision));
  writeFileSync(join(root, revision, 'slotwise.yaml'), text);
  symlinkSync(revision, join(root, '..data_tmp'));
  renameSync(join(root, '..data_tmp'), join(root, '..data'));
  if (previous === undefined) symlinkSync('..data/slotwise.yaml', join(root, 'slotwise.yaml'));
  else rmSync(join(root, previous), { recursive: true });
}

describe('watchConfig: how files get replaced', () => {
  it('watchConfig() reloads a Kubernetes ConfigMap mount when the kubelet swaps its ..data link, every time', async () => {
    configMapRevision(dir, '..2026_01_01_00_00_00.000000001', FIXED(1));
    const { watcher, next, capacity } = await watching(join(dir, 'slotwise.yaml'));
    await watcher.ready;
    configMapRevision(dir, '..2026_01_01_00_01_00.000000002', FIXED(3), '..2026_01_01_00_00_00.000000001');
    expect(await next()).toMatchObject(slotsChange(1, 3));
    configMapRevision(dir, '..2026_01_01_00_02_00.000000003', FIXED(5), '..2026_01_01_00_01_00.000000002');
    expect(await next()).toMatchObject(slotsChange(3, 5));
    expect(capacity()).toBe(5);
  });

  it('watchConfig() reloads a file an editor saves by writing a temporary file and renaming it over the old one', async () => {
    const { path, watcher, next, capacity } = await watched(FIXED(1));
    await watcher.ready;
    writeFileSync(join(dir, '.slotwise.yaml.swp'), FIXED(3));
    renameSync(join(dir, '.slotwise.yaml.swp'), path);
    expect(await next()).toMatchObject(slotsChange(1, 3));
    // vim with backupcopy=no: the old file is renamed away, the new one written, the backup removed.
    renameSync(path, `${path}~`);
    writeFileSync(path, FIXED(4));
    unlinkSync(`${path}~`);
    expect(await next()).toMatchObject(slotsChange(3, 4));
    expect(capacity()).toBe(4);
  });

  it('watchConfig() reloads a symlinked file edited where it lives, and follows the link when it is re-pointed', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'slotwise-watch-target-'));
    const later = mkdtempSync(join(tmpdir(), 'slotwise-watch-target-'));
    cleanup.push(
      () => rmSync(elsewhere, { recursive: true, force: true }),
      () => rmSync(later, { recursive: true, force: true }),
    );
    writeFileSync(join(elsewhere, 'real.yaml'), FIXED(1));
    symlinkSync(join(elsewhere, 'real.yaml'), join(dir, 'slotwise.yaml'));
    const { watcher, next, capacity } = await watching(join(dir, 'slotwise.yaml'));
    await watcher.ready;
    writeFileSync(join(elsewhere, 'real.yaml'), FIXED(3));
    expect(await next()).toMatchObject(slotsChange(1, 3));
    writeFileSync(join(later, 'other.yaml'), FIXED(5));
    symlinkSync(join(later, 'other.yaml'), join(dir, 'link.tmp'));
    renameSync(join(dir, 'link.tmp'), join(dir, 'slotwise.yaml'));
    expect(await next()).toMatchObject(slotsChange(3, 5));
    writeFileSync(join(later, 'other.yaml'), FIXED(6));
    expect(await next()).toMatchObject(slotsChange(5, 6));
    expect(capacity()).toBe(6);
  });

  it('watchConfig() never applies the first part of a file whose writer pauses mid-file', async () => {
    const { path, watcher, logger, next, capacity } = await watched(FIXED(2));
    await watcher.ready;
    const fd = openSync(path, 'w');
    // A valid prefix: `slots: 1`, to become `slots: 16`.
    writeSync(
      fd,
      'workflow:\n  supplier: { type: fixed, slots: 4 }\nactivity:\n  supplier:\n    type: fixed\n    slots: 1',
    );
    const first = await Promise.race([logger.nextDebug(), next()]);
    // The watcher has read the prefix (or, before this was fixed, applied it). The rest is written
    // synchronously from here, before any timer of the watcher can run.
    writeSync(fd, '6\n');
    closeSync(fd);
    expect(first).toBe(`slotwise: ${path} changed; applying it once it reads the same for 60 ms`);
    expect(await next()).toMatchObject(slotsChange(2, 16));
    expect(capacity()).toBe(16);
    expect(logger.messages('info')).toEqual([`slotwise: reloaded ${path}: activity.supplier.slots 2 -> 16`]);
  });

  it('watchConfig() ignores changes to other files of the directory', async () => {
    const { path, watcher, logger, next, events } = await watched(FIXED(1));
    await watcher.ready;
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `other-${i % 3}.log`), `line ${i}\n`);
    writeFileSync(path, FIXED(2));
    expect(await next()).toMatchObject(slotsChange(1, 2));
    expect(events).toEqual([]);
    expect(logger.messages('info')).toEqual([`slotwise: reloaded ${path}: activity.supplier.slots 1 -> 2`]);
    expect(logger.messages('error')).toEqual([]);
  });

  it('watchConfig() refuses a FIFO put in place of the file without stalling later reloads', async () => {
    const { path, watcher, next, capacity } = await watched(FIXED(1));
    await watcher.ready;
    unlinkSync(path);
    execFileSync('mkfifo', [path]);
    const refused = await next();
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).message).toBe(
      `${path}: expected a regular file, got a FIFO (named pipe)`,
    );
    expect(await watcher.reload()).toBeNull();
    expect((await next()) as ConfigError).toBeInstanceOf(ConfigError);
    unlinkSync(path);
    writeFileSync(path, FIXED(3));
    expect(await next()).toMatchObject(slotsChange(1, 3));
    expect(capacity()).toBe(3);
  });

  it('watchConfig() keeps the last good config while the file is missing or too large, and reloads it when it is back', async () => {
    const { path, watcher, logger, next, capacity } = await watched(FIXED(1));
    await watcher.ready;
    unlinkSync(path);
    expect(((await next()) as ConfigError).message).toBe(
      `${path}: cannot read the file: ENOENT: no such file or directory, open '${path}'`,
    );
    writeFileSync(path, `${FIXED(2)}# ${'x'.repeat(300 * 1024)}\n`);
    expect(((await next()) as ConfigError).message).toMatch(
      new RegExp(`^${path}: expected a config of at most 256 KiB, got 300`),
    );
    expect(capacity()).toBe(1);
    writeFileSync(path, FIXED(2));
    expect(await next()).toMatchObject(slotsChange(1, 2));
    expect(logger.messages('error').length).toBe(2);
  });
});
