import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuiltTuner, buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import { watchConfig } from '../../src/config/config-watcher.js';
import { effectiveConfig } from '../../src/config/effective-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { recordingLogger, reserveCtx } from '../helpers/fakes.js';

const open: BuiltTuner[] = [];
function build(...args: Parameters<typeof buildTuner>): BuiltTuner {
  const built = buildTuner(...args);
  open.push(built);
  return built;
}
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const built of open.splice(0)) built.close();
  for (const close of cleanup.splice(0)) close();
});

/** Builds the tuner of a config file, then rewrites the file and reloads it. */
async function reloaded(before: string, after: string) {
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-floors-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'slotwise.yaml');
  writeFileSync(path, before);
  const built = build((await loadConfig(path, { env: {} })).config);
  const watcher = watchConfig(path, built, { env: {}, signal: false, logger: recordingLogger() });
  cleanup.push(() => watcher.close());
  writeFileSync(path, after);
  return { built, result: await watcher.reload() };
}

/** The message of the ConfigError `data` is rejected with (source `slotwise.yaml`). */
function rejection(data: unknown): string {
  try {
    parseConfig(data, { source: 'slotwise.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}
const line = (path: string, message: string) => `slotwise.yaml: ${path}: ${message}`;

describe('floors and ceilings in a config', () => {
  it('effectiveConfig() fills floors per kind: Temporal’s, none with minSlots 0, the smallest part’s for a composite', () => {
    const effective = effectiveConfig(
      parseConfig({
        workflow: { supplier: { type: 'fixed', slots: 10, floors: { workflow: 4 } } },
        activity: {
          supplier: {
            type: 'composite',
            parts: [
              { type: 'fixed', slots: 8, ceilings: { activity: 6 } },
              { type: 'memory', minSlots: 0 },
            ],
          },
        },
        localActivity: { supplier: { type: 'cpu', floors: false } },
      }),
    );
    expect(effective.workflow).toMatchObject({
      floors: { workflow: 4, activity: 1, localActivity: 1 },
      ceilings: { workflow: null, activity: null, localActivity: null },
    });
    if (effective.activity.type !== 'composite') throw new Error('expected a composite');
    expect(effective.activity.floors).toEqual({ workflow: 0, activity: 0, localActivity: 0 });
    expect(effective.activity.parts.map((p) => [p.floors.activity, p.ceilings.activity])).toEqual([
      [1, 6],
      [0, null],
    ]);
    expect(effective.localActivity).toMatchObject({ floors: { workflow: 0, activity: 0, localActivity: 0 } });
  });

  it('buildTuner() gives each supplier the floors and ceilings of the config', () => {
    const built = build({
      activity: { supplier: { type: 'fixed', slots: 8, floors: { activity: 2 }, ceilings: { activity: 3 } } },
    });
    const supplier = built.suppliers.get('activity')!;
    expect([supplier.floors, supplier.ceilings]).toEqual([
      { workflow: 2, activity: 2, localActivity: 1 },
      { workflow: null, activity: 3, localActivity: null },
    ]);
    for (let i = 0; i < 3; i++) expect(supplier.tryReserveSlot(reserveCtx('q'))).not.toBeNull();
    expect(supplier.tryReserveSlot(reserveCtx('q'))).toBeNull(); // the ceiling
  });

  it('buildTuner() declares to each supplier the slot types it serves, so it keeps room for no others', async () => {
    const built = build({
      workflow: { supplier: { type: 'fixed', slots: 4 } },
      suppliers: { shared: { type: 'fixed', slots: 4 } },
      activity: { supplier: 'shared' },
      localActivity: { supplier: 'shared' },
    });
    const workflow = built.suppliers.get('workflow')!;
    const polls = [true, false, true, true].map((sticky) =>
      workflow.tryReserveSlot(reserveCtx('q', 'workflow', sticky)),
    );
    expect(polls.every((p) => p !== null)).toBe(true); // no room kept for activities it never serves
    const shared = built.suppliers.get('shared')!;
    expect(shared.tryReserveSlot(reserveCtx('q', 'activity'))).not.toBeNull();
    expect(shared.snapshot().groups.map((g) => [g.slotType, g.unmet])).toEqual([
      ['activity', 0],
      ['local-activity', 1],
    ]);
  });

  it('parseConfig() accepts a resource supplier of workflow tasks with minSlots 1 when its workflow floor holds both polls', () => {
    expect(() => parseConfig({ workflow: { supplier: { type: 'memory', minSlots: 1 } } })).not.toThrow();
  });

  it.each([
    [
      { activity: { supplier: { type: 'fixed', slots: 4, floors: { workflow: 1 } } } },
      line(
        'activity.supplier.floors.workflow',
        'expected 0 or an integer >= 2 (one sticky and one non-sticky workflow poll), got 1',
      ),
    ],
    [
      { activity: { supplier: { type: 'cpu', floors: { activity: 2 }, ceilings: { activity: 1 } } } },
      line('activity.supplier.ceilings.activity', 'expected an integer >= the floor of activity (2), got 1'),
    ],
    [
      { activity: { supplier: { type: 'fixed', slots: 4, floors: { nexus: 1 } } } },
      line(
        'activity.supplier.floors.nexus',
        'unknown key (expected one of: workflow, activity, localActivity)',
      ),
    ],
    [
      { activity: { supplier: { type: 'fixed', slots: 4, floors: true } } },
      line(
        'activity.supplier.floors',
        'expected a mapping of slot type (workflow, activity, localActivity) to a floor, or false for none, got true',
      ),
    ],
    [
      { workflow: { supplier: { type: 'memory', minSlots: 0 } } },
      line(
        'workflow.supplier.minSlots',
        'expected an integer >= 2, as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot), got 0',
      ),
    ],
  ])('parseConfig() rejects %j with the path', (data, message) => {
    expect(rejection(data)).toBe(message);
  });
});

describe('resourceBased: the config form of resourceBasedTuner()', () => {
  const resourceBased = { targetCpuUsage: 0.8, targetMemoryUsage: 0.8 };

  it('effectiveConfig() expands it into one composite of a CPU and a memory gate for every slot type', () => {
    const effective = effectiveConfig(
      parseConfig({ resourceBased: { ...resourceBased, activityTaskSlotOptions: { maximumSlots: 10 } } }),
    );
    const node = effective.workflow;
    expect(effective.activity).toBe(node);
    expect(effective.localActivity).toBe(node);
    if (node.type !== 'composite') throw new Error('expected a composite');
    expect(node).toMatchObject({
      name: 'resource-based',
      path: 'resourceBased',
      floors: { workflow: 2, activity: 1, localActivity: 1 },
      ceilings: { workflow: 1000, activity: 10, localActivity: 2000 },
    });
    expect(
      node.parts.map((p) =>
        p.type === 'cpu' || p.type === 'memory'
          ? [p.name, p.minSlots, p.maxSlots, p.targetUtilization]
          : p.type,
      ),
    ).toEqual([
      ['resource-based-cpu', 0, 3010, 0.8],
      ['resource-based-memory', 0, 3010, 0.8],
    ]);
    expect(effective.nexus.numSlots).toBe(2000);
    expect(effective.sampler).toMatchObject({ cpu: true, memory: { scope: 'cgroup' }, gpu: null });
  });

  it('buildTuner() builds one composite on one sampler for workflow, activity and local activity tasks', () => {
    const built = build({ resourceBased, sampler: { intervalMs: 100 } });
    const { tuner, suppliers, sampler } = built;
    expect([...suppliers.keys()]).toEqual(['resource-based-cpu', 'resource-based-memory', 'resource-based']);
    const supplier = suppliers.get('resource-based') as unknown as CompositeSlotSupplier;
    expect(supplier).toBeInstanceOf(CompositeSlotSupplier);
    expect([
      tuner.workflowTaskSlotSupplier,
      tuner.activityTaskSlotSupplier,
      tuner.localActivityTaskSlotSupplier,
    ]).toEqual([supplier, supplier, supplier]);
    expect(supplier.parts[0]).toBeInstanceOf(CpuSlotSupplier);
    expect(supplier.parts[1]).toBeInstanceOf(MemorySlotSupplier);
    expect(sampler).not.toBeNull();
    expect(supplier.floors).toEqual({ workflow: 2, activity: 1, localActivity: 1 });
    expect(tuner.nexusTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 2000 });
    expect(suppliers.get('resource-based-cpu')).not.toBeInstanceOf(FixedSlotSupplier);
  });

  it('loadConfig() accepts the documented examples/resource-based.yaml', async () => {
    const { effective } = await loadConfig('examples/resource-based.yaml', { env: false });
    expect(effective.activity).toMatchObject({ type: 'composite', name: 'resource-based' });
  });

  it.each([
    [
      { resourceBased, activity: { supplier: { type: 'fixed', slots: 4 } } },
      line(
        'activity',
        'expected no `activity` section next to `resourceBased`, which serves workflow, activity and local activity tasks: remove one of them',
      ),
    ],
    [
      { resourceBased: { ...resourceBased, targetCpuUsage: 80 } },
      line('resourceBased.targetCpuUsage', 'expected a ratio in (0, 1], got 80. Did you mean 0.8?'),
    ],
    [
      { resourceBased: { ...resourceBased, workflowTaskSlotOptions: { minimumSlots: 1 } } },
      line(
        'resourceBased.workflowTaskSlotOptions.minimumSlots',
        'expected 0 or an integer >= 2 (one sticky and one non-sticky workflow poll), got 1',
      ),
    ],
    [
      { resourceBased: { ...resourceBased, activityTaskSlotOptions: { minimumSlots: 4, maximumSlots: 2 } } },
      line(
        'resourceBased.activityTaskSlotOptions.maximumSlots',
        'expected an integer >= minimumSlots (4), got 2',
      ),
    ],
    [
      { resourceBased: { ...resourceBased, activityTaskSlotOptions: { rampThrottle: 20 } } },
      line(
        'resourceBased.activityTaskSlotOptions.rampThrottle',
        'unknown key (expected one of: minimumSlots, maximumSlots)',
      ),
    ],
    [
      { resourceBased: { targetCpuUsage: 0.8 } },
      line('resourceBased.targetMemoryUsage', 'expected a ratio in (0, 1], but it is missing'),
    ],
  ])('parseConfig() rejects %j with the path', (data, message) => {
    expect(rejection(data)).toBe(message);
  });
});

describe('reloading a config with floors', () => {
  it('watchConfig() reports changed floors and ceilings as needing a restart', async () => {
    const { result } = await reloaded(
      'activity:\n  supplier: { type: fixed, slots: 4 }\n',
      'activity:\n  supplier: { type: fixed, slots: 4, floors: { activity: 2 }, ceilings: { activity: 3 } }\n',
    );
    expect(result?.restartRequired).toEqual([
      {
        path: 'activity.supplier.floors',
        message:
          'changed from {"workflow":2,"activity":1,"localActivity":1} to {"workflow":2,"activity":2,"localActivity":1}',
      },
      {
        path: 'activity.supplier.ceilings',
        message:
          'changed from {"workflow":null,"activity":null,"localActivity":null} to {"workflow":null,"activity":3,"localActivity":null}',
      },
    ]);
  });

  it('watchConfig() applies new resourceBased targets to its gates live', async () => {
    const { built, result } = await reloaded(
      'resourceBased: { targetCpuUsage: 0.8, targetMemoryUsage: 0.8 }\n',
      'resourceBased: { targetCpuUsage: 0.7, targetMemoryUsage: 0.8 }\n',
    );
    expect(result).toMatchObject({
      applied: [
        { path: 'resourceBased.cpu.targetUtilization', supplier: 'resource-based-cpu', from: 0.8, to: 0.7 },
      ],
      restartRequired: [],
    });
    expect((built.suppliers.get('resource-based-cpu') as CpuSlotSupplier).limits.targetUtilization).toBe(0.7);
  });
});
