// One Worker process of a fleet, driven by a test or benchmark parent over IPC: Workers on the
// given task queues share one FleetSlotSupplier (or a local FixedSlotSupplier, for comparison), and
// its activities report to the parent's concurrency counter. Run with `node --import tsx`.
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { FleetSlotSupplier } from '../../../src/fleet/fleet-slot-supplier.js';
import { FixedSlotSupplier } from '../../../src/suppliers/fixed-slot-supplier.js';
import { slotwiseWorkerOptions } from '../../../src/worker/slotwise-worker-options.js';
import type { ChildCommand, ChildMessage, FleetChildConfig, SlotEvent } from './child-protocol.js';

const send = (message: ChildMessage) => {
  if (process.connected) process.send?.(message);
};

async function main(): Promise<void> {
  const config = JSON.parse(process.env.FLEET_CHILD_CONFIG ?? '') as FleetChildConfig;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: config.address });
  const supplier =
    config.supplier.kind === 'fleet'
      ? new FleetSlotSupplier({
          fleet: config.supplier.fleet,
          slots: config.supplier.slots,
          connection,
          name: `fleet-${process.pid}`,
          managerTaskQueue: config.supplier.managerTaskQueue,
          managerWorkflowBundle: { codePath: config.bundlePath },
          leaseTtlMs: config.supplier.leaseTtlMs,
          lingerMs: config.supplier.lingerMs,
        })
      : new FixedSlotSupplier({ slots: config.supplier.slots, name: `fixed-${process.pid}` });

  // Reservation latency: from reserveSlot() to its permit, with and without a spare lease.
  const reserve = supplier.reserveSlot.bind(supplier);
  const acquireMs: Array<{ ms: number; spare: boolean }> = [];
  supplier.reserveSlot = (ctx, signal) => {
    const spare = supplier.snapshot().capacity! > supplier.snapshot().issued;
    const started = performance.now();
    const permit = reserve(ctx, signal);
    permit.then(
      (issued) => {
        acquireMs.push({ ms: performance.now() - started, spare });
        queueOf.set(issued, ctx.taskQueue);
        slotEvents.push([absoluteNow(), 'issued', 1, ctx.taskQueue]);
      },
      () => undefined,
    );
    return permit;
  };
  // Where the permits' time goes (issued to a poller, used by a task), for the bench's breakdown.
  const slotEvents: SlotEvent[] = [];
  const queueOf = new WeakMap<object, string>();
  const queueOfPermit = (permit: unknown) =>
    (typeof permit === 'object' && permit !== null ? queueOf.get(permit) : undefined) ?? '';
  const absoluteNow = () => performance.timeOrigin + performance.now();
  const markUsed = supplier.markSlotUsed.bind(supplier);
  supplier.markSlotUsed = (ctx) => {
    slotEvents.push([absoluteNow(), 'used', 1, queueOfPermit(ctx.permit)]);
    markUsed(ctx);
  };
  const release = supplier.releaseSlot.bind(supplier);
  supplier.releaseSlot = (ctx) => {
    const t = absoluteNow();
    const queue = queueOfPermit(ctx.permit);
    slotEvents.push([t, 'issued', -1, queue]);
    if (ctx.slotInfo !== undefined) slotEvents.push([t, 'used', -1, queue]);
    release(ctx);
  };

  const report = async (path: string, id: string) => {
    const response = await fetch(
      `${config.counterUrl}/${path}?pid=${process.pid}&id=${encodeURIComponent(id)}`,
      {
        method: 'POST',
      },
    );
    await response.text();
  };
  const activities = {
    async fleetWork({ ms, index }: { ms: number; index: number }): Promise<number> {
      const { info } = Context.current();
      const id = `${info.workflowExecution?.workflowId}/${index}/${info.attempt}`;
      await report('start', id);
      await Context.current().sleep(ms);
      await report('end', id);
      return index;
    },
  };

  // As a user wires slotwise suppliers by hand: slotwiseWorkerOptions() turns eager activity
  // reservations off, without which a workflow task scheduling 128+ activities while fewer than 3
  // permits are free stops the Worker (the SDK 1.24 issue in README's "Known issue"; seen here).
  const workers = await Promise.all(
    config.taskQueues.map((taskQueue) =>
      Worker.create(
        slotwiseWorkerOptions({
          connection,
          taskQueue,
          workflowBundle: { codePath: config.bundlePath },
          activities,
          shutdownGraceTime: '1s',
          ...(config.activityPollers ? { maxConcurrentActivityTaskPolls: config.activityPollers } : {}),
          tuner: {
            activityTaskSlotSupplier: supplier,
            workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
            localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
            nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
          },
        }),
      ),
    ),
  );
  const running = workers.map((worker) => worker.run());
  const stateTimer = setInterval(() => {
    const snapshot = supplier.snapshot();
    send({
      type: 'state',
      issued: snapshot.issued,
      used: snapshot.used,
      waiting: snapshot.waiting,
      ...(supplier instanceof FleetSlotSupplier ? { fleet: supplier.snapshot().fleet } : {}),
    });
  }, config.stateMs ?? 100);

  process.on('message', (command: ChildCommand) => {
    if (command.type !== 'stop') return;
    clearInterval(stateTimer);
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    void Promise.allSettled(running).then(async () => {
      const closed = supplier instanceof FleetSlotSupplier ? supplier.close() : Promise.resolve();
      await closed;
      send({ type: 'stopped', acquireMs, slotEvents });
      await connection.close();
      process.exit(0);
    });
  });
  send({ type: 'ready', pid: process.pid });
  await Promise.allSettled(running);
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
