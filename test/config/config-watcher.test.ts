import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BuiltTuner, buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import { type ConfigWatcher, type ReloadResult, watchConfig } from '../../src/config/config-watcher.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { type RecordingLogger, recordingLogger, reserveCtx } from '../helpers/fakes.js';

let dir: string;
const cleanup: Array<() => void> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotwise-watch-'));
});
afterEach(() => {
  for (const close of cleanup.splice(0)) close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to a config file, builds its tuner and watches it; events arrive in order. */
async function watched(text: string, env: NodeJS.ProcessEnv = {}) {
  const path = join(dir, 'slotwise.yaml');
  writeFileSync(path, text);
  const built: BuiltTuner = buildTuner((await loadConfig(path, { env })).config);
  const logger: RecordingLogger = recordingLogger();
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
    onReload: push,
    onError: push,
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
  return { path, built, logger, watcher, next, write: (content: string) => writeFileSync(path, content) };
}

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
    expect(logger.messages()).toEqual([`slotwise: reloaded ${path}: activity.supplier.slots 1 -> 3`]);
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
