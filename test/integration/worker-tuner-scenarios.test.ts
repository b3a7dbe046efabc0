// The scenarios of Temporal's own worker-tuner tests (sdk-typescript packages/test/src/test-worker-tuner.ts)
// that apply to custom suppliers, run with every slotwise supplier kind on the dev server: one
// supplier for every slot type, a supplier that sees aborts at shutdown, a supplier whose own code
// throws, and the resource-based tuner's scenarios with resourceBasedTuner(). Where Temporal's test
// tolerates one permit missing after shutdown, these count exactly. Workers are wired as the README
// says for hand-wired Workers, through slotwiseWorkerOptions(): it tells a supplier the slot types
// it serves, so that a shared fixed supplier keeps room for every floor from the first poll.
import type { Worker, WorkerTuner } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTuner } from '../../src/config/build-tuner.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import type { LedgerSlotSupplier } from '../../src/suppliers/ledger-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { resourceBasedTuner } from '../../src/suppliers/resource-based-tuner.js';
import { TEMPORAL_FLOORS } from '../../src/suppliers/slot-type-limits.js';
import type { SlotType, SupplierEvent } from '../../src/suppliers/types.js';
import { slotwiseWorkerOptions } from '../../src/worker/slotwise-worker-options.js';
import { type RecordingLogger, recordingLogger } from '../helpers/fakes.js';
import { cleanupTempDirs, gpuEnv } from '../resources/fixtures/fake-root.js';
import { createWorker, testClient, uniqueQueue } from './helpers.js';

type Supplier = LedgerSlotSupplier<object>;

/** A slotwise supplier (or tuner) under test, with every supplier it is made of. */
interface Subject {
  /** The tuner the Worker gets. */
  tuner: WorkerTuner;
  /** Every slotwise supplier inside, the one serving the Worker first. */
  suppliers: Supplier[];
  logger: RecordingLogger;
  close(): void;
}

/** One supplier for workflow, activity, local activity and Nexus slots, as in Temporal's test. */
function everyType(
  supplier: Supplier,
  parts: Supplier[],
  logger: RecordingLogger,
  close = () => {},
): Subject {
  return {
    tuner: {
      workflowTaskSlotSupplier: supplier,
      activityTaskSlotSupplier: supplier,
      localActivityTaskSlotSupplier: supplier,
      nexusTaskSlotSupplier: supplier,
    },
    suppliers: [supplier, ...parts],
    logger,
    close,
  };
}

const asSupplier = (supplier: object) => supplier as unknown as Supplier;

/** Every slotwise supplier kind, alone and in a composite, and the drop-in for the resource-based tuner. */
const KINDS: Array<[string, () => Subject]> = [
  [
    'FixedSlotSupplier(10)',
    () => {
      const logger = recordingLogger();
      return everyType(new FixedSlotSupplier({ slots: 10, logger }), [], logger);
    },
  ],
  [
    'FixedSlotSupplier(4)',
    () => {
      const logger = recordingLogger();
      return everyType(new FixedSlotSupplier({ slots: 4, logger }), [], logger);
    },
  ],
  [
    'CpuSlotSupplier(0.95)',
    () => {
      const logger = recordingLogger();
      const supplier = new CpuSlotSupplier({ targetUtilization: 0.95, logger });
      return everyType(supplier, [], logger, () => supplier.close());
    },
  ],
  [
    'MemorySlotSupplier(0.95)',
    () => {
      const logger = recordingLogger();
      const supplier = new MemorySlotSupplier({ targetUtilization: 0.95, logger });
      return everyType(supplier, [], logger, () => supplier.close());
    },
  ],
  [
    'GpuSlotSupplier over the fake nvidia-smi, with floors',
    () => {
      const logger = recordingLogger();
      const supplier = new GpuSlotSupplier({
        env: gpuEnv(),
        slotsPerDevice: 8,
        floors: TEMPORAL_FLOORS,
        logger,
      });
      return everyType(asSupplier(supplier), [], logger, () => supplier.close());
    },
  ],
  [
    'CompositeSlotSupplier(fixed 8, memory 0.95)',
    () => {
      const logger = recordingLogger();
      const fixed = new FixedSlotSupplier({ slots: 8, logger });
      const memory = new MemorySlotSupplier({ targetUtilization: 0.95, logger });
      const composite = new CompositeSlotSupplier([fixed, memory], { logger });
      return everyType(asSupplier(composite), [fixed, memory], logger, () => {
        composite.close();
        memory.close();
      });
    },
  ],
  [
    'resourceBasedTuner with the options of Temporal’s test',
    () => {
      const logger = recordingLogger();
      const tuner = resourceBasedTuner({
        targetCpuUsage: 0.6,
        targetMemoryUsage: 0.6,
        activityTaskSlotOptions: { minimumSlots: 2, maximumSlots: 10 },
        rampThrottleMs: 20,
        logger,
      });
      return {
        tuner,
        suppliers: [asSupplier(tuner.supplier), tuner.cpu, tuner.memory],
        logger,
        close: tuner.close,
      };
    },
  ],
  [
    'buildTuner({ resourceBased: (0.95, 0.95) })',
    () => {
      const logger = recordingLogger();
      const built = buildTuner(
        { resourceBased: { targetCpuUsage: 0.95, targetMemoryUsage: 0.95 } },
        { logger },
      );
      const suppliers = [...built.suppliers.values()].reverse() as Supplier[]; // the composite first
      return { tuner: built.tuner, suppliers, logger, close: built.close };
    },
  ],
];

/** What a supplier's events add up to, counted from its creation. */
class EventCounts {
  granted = 0;
  released = 0;
  aborted = 0;
  used = 0;
  releasedAfterUse = 0;
  /** Permits taken back because core aborted the reservation after they were granted. */
  reclaimed = 0;
  /** `slotType` of released permits, with `:sticky` for sticky workflow polls. */
  readonly kinds = new Set<string>();

  constructor(supplier: Supplier) {
    supplier.subscribe((event: SupplierEvent) => {
      if (event.type === 'reservation') {
        if (event.result === 'granted' || event.result === 'eager-granted') this.granted++;
        if (event.result === 'aborted') this.aborted++;
      } else if (event.type === 'used') {
        this.used++;
      } else if (event.type === 'release') {
        this.released++;
        if (event.reason === 'normal') this.releasedAfterUse++;
        if (event.reason === 'reclaimed') this.reclaimed++;
        const { slotType, sticky } = event.permit;
        this.kinds.add(slotType === 'workflow' && sticky ? 'workflow:sticky' : (slotType as SlotType));
      }
    });
  }
}

const open: Subject[] = [];
afterEach(() => {
  for (const subject of open.splice(0)) subject.close();
  cleanupTempDirs();
});

function subjectOf(make: () => Subject) {
  const subject = make();
  open.push(subject);
  return { subject, counts: subject.suppliers.map((s) => new EventCounts(s)) };
}

/** Resolves once `condition()` holds; fails with `explain()` if it does not within 30 s (a stall, not a slow run). */
async function until(condition: () => boolean, explain: () => string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 30_000) throw new Error(`stalled for 30 s: ${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `worker` until `work` settles, failing with the supplier counts if it stalls for 60 s. */
async function runUntil<T>(worker: Worker, work: Promise<T>, subject: Subject): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const counts = subject.suppliers.map((s) => JSON.stringify(s.snapshot()));
      reject(new Error(`the workflow did not complete within 60 s; suppliers: ${counts.join(' ')}`));
    }, 60_000);
  });
  try {
    return await worker.runUntil(Promise.race([work, stalled]));
  } finally {
    clearTimeout(timer);
  }
}

/** After shutdown: nothing issued, used or waiting in any supplier, and every grant released exactly once. */
function expectAllReleased(subject: Subject, counts: EventCounts[], check: typeof expect): void {
  for (const [i, supplier] of subject.suppliers.entries()) {
    check(supplier.snapshot(), supplier.name).toMatchObject({ issued: 0, used: 0, waiting: 0 });
    check(counts[i]!.released, `${supplier.name}: releases = grants`).toBe(counts[i]!.granted);
    check(counts[i]!.releasedAfterUse, `${supplier.name}: releases after use = uses`).toBe(counts[i]!.used);
  }
}

describe('one slotwise supplier for every slot type of a Worker', () => {
  it.for(KINDS)(
    '%s runs a workflow with an activity and a local activity, and releases every permit',
    async ([, make], { expect }) => {
      const { subject, counts } = subjectOf(make);
      const client = await testClient();
      const taskQueue = uniqueQueue('tuner-all');
      const worker = await createWorker(
        slotwiseWorkerOptions({
          taskQueue,
          tuner: subject.tuner,
          activities: { hiActivity: async () => 'hi' },
        }),
      );
      const result = await runUntil(
        worker,
        client.workflow.execute('tunerActivitiesWorkflow', { taskQueue, workflowId: taskQueue }),
        subject,
      );
      expect(result).toBe('success');
      expectAllReleased(subject, counts, expect);
      const [first] = counts;
      expect([...first!.kinds].sort()).toEqual(['activity', 'local-activity', 'workflow', 'workflow:sticky']);
      expect(first!.used).toBeGreaterThanOrEqual(4); // two workflow tasks, the activity, the local activity
      expect(subject.suppliers.map((s) => s.snapshot().errors)).toEqual(subject.suppliers.map(() => 0));
      expect(subject.logger.messages('error')).toEqual([]);
    },
  );
});

/** One of each supplier kind, and a composite (the drop-in and the config form are composites too). */
const EACH_KIND = KINDS.filter(([name]) => !/FixedSlotSupplier\(10\)|resourceBased/.test(name));

describe('a slotwise supplier that sees aborts at shutdown', () => {
  it.for(EACH_KIND)(
    '%s: reservations still waiting when the Worker stops are aborted, and every permit is released',
    async ([, make], { expect }) => {
      const { subject, counts } = subjectOf(make);
      const supplier = subject.suppliers[0]!;
      const worker = await createWorker(
        slotwiseWorkerOptions({
          taskQueue: uniqueQueue('tuner-abort'),
          tuner: subject.tuner,
          activities: {},
        }),
      );
      const running = worker.run();
      // Pollers beyond what the supplier grants wait in it; Temporal's test waits 1 s instead.
      await until(
        () => supplier.snapshot().waiting > 0,
        () => JSON.stringify(supplier.snapshot()),
      );
      worker.shutdown();
      await running;
      // Aborted while waiting, or after the grant (core dropped the reservation): taken back.
      expect(counts[0]!.aborted + counts[0]!.reclaimed).toBeGreaterThan(0);
      expectAllReleased(subject, counts, expect);
      expect(subject.logger.messages('error')).toEqual([]);
    },
  );
});

/**
 * Makes `supplier`'s own code throw, as a buggy subclass would: admission (floors included) of every
 * slot type but workflow, every mark-used and release hook (after doing their work), and an event
 * listener. Temporal's throwing supplier throws from the contract methods; slotwise's catch these
 * errors inside, so what is left to throw is the code they call.
 */
function injectFailures(supplier: Supplier): void {
  const hooks = supplier as unknown as Record<string, (arg: { slotType?: string }) => unknown>;
  for (const hook of ['admit', 'admitFloor']) {
    const original = hooks[hook]!.bind(supplier);
    hooks[hook] = (request) => {
      if (request.slotType !== 'workflow') throw new Error(`injected failure in ${hook}`);
      return original(request);
    };
  }
  for (const hook of ['onUsed', 'onReleased']) {
    const original = hooks[hook]!.bind(supplier);
    hooks[hook] = (record) => {
      original(record);
      throw new Error(`injected failure in ${hook}`);
    };
  }
  supplier.subscribe(() => {
    throw new Error('injected failure in a listener');
  });
}

describe('a slotwise supplier whose own code throws', () => {
  it.for(EACH_KIND)(
    '%s: the Worker completes a workflow, the errors are logged and counted, and every permit is released',
    async ([, make], { expect }) => {
      const { subject, counts } = subjectOf(make);
      for (const supplier of subject.suppliers) injectFailures(supplier);
      const client = await testClient();
      const taskQueue = uniqueQueue('tuner-throw');
      const worker = await createWorker(
        slotwiseWorkerOptions({ taskQueue, tuner: subject.tuner, activities: {} }),
      );
      const result = await runUntil(
        worker,
        client.workflow.execute('tunerSuccessWorkflow', { taskQueue, workflowId: taskQueue }),
        subject,
      );
      expect(result).toBe('success');
      expectAllReleased(subject, counts, expect);
      const errors = subject.suppliers.reduce((sum, s) => sum + s.snapshot().errors, 0);
      expect(errors).toBeGreaterThan(0);
      expect(errors).toBe(subject.logger.messages('error').length);
      expect(subject.logger.messages('error').some((m) => m.includes('injected failure in onUsed'))).toBe(
        true,
      );
    },
  );
});

describe("Temporal's resource-based tuner scenarios, with resourceBasedTuner()", () => {
  it('two Workers share one (as a shared ResourceBasedController), the second mixing in fixed-size suppliers, with partial slot options', async () => {
    const tuner = resourceBasedTuner({
      targetCpuUsage: 0.6,
      targetMemoryUsage: 0.6,
      activityTaskSlotOptions: { minimumSlots: 3 },
      localActivityTaskSlotOptions: { maximumSlots: 50 },
      nexusTaskSlotOptions: { maximumSlots: 50 },
    });
    const subject: Subject = {
      tuner,
      suppliers: [asSupplier(tuner.supplier), tuner.cpu, tuner.memory],
      logger: recordingLogger(),
      close: tuner.close,
    };
    open.push(subject);
    const counts = subject.suppliers.map((s) => new EventCounts(s));
    const client = await testClient();
    const [first, second] = [uniqueQueue('tuner-share-a'), uniqueQueue('tuner-share-b')];
    const workers = await Promise.all([
      createWorker({ taskQueue: first, tuner, activities: { hiActivity: async () => 'hi' } }),
      createWorker({
        taskQueue: second,
        activities: { hiActivity: async () => 'hi' },
        tuner: {
          workflowTaskSlotSupplier: tuner.supplier,
          activityTaskSlotSupplier: tuner.supplier,
          localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
        },
      }),
    ]);
    const runs = [first, second].map((taskQueue) =>
      client.workflow.execute('tunerActivitiesWorkflow', { taskQueue, workflowId: taskQueue }),
    );
    const results = await runUntil(workers[0]!, runUntil(workers[1]!, Promise.all(runs), subject), subject);
    expect(results).toEqual(['success', 'success']);
    expectAllReleased(subject, counts, expect);
    expect(subject.suppliers.map((s) => s.snapshot().errors)).toEqual([0, 0, 0]);
  });
});
