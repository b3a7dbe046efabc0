// A Temporal Worker in its own process, driven by a benchmark parent over IPC. The parent may start
// it inside a cgroup (bench/lib/cgroup.ts), so slotwise's cgroup readers see that cgroup.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { detectCgroup } from '../../src/resources/cgroup.js';
import type { ResourceSupplierSnapshot } from '../../src/suppliers/resource-slot-supplier.js';
import { slotwiseWorkerOptions } from '../../src/worker/slotwise-worker-options.js';
import { benchActivities, closeActivityResources, onActivityEvent } from './activities.js';
import type { ChildConfig, ChildMessage, ParentMessage } from './child-protocol.js';
import { benchTuner, buildActivitySupplier } from './suppliers.js';

const send = (message: ChildMessage) => {
  if (process.connected) process.send?.(message);
};

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_CHILD_CONFIG ?? '') as ChildConfig;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `127.0.0.1:${config.metricsPort}` } },
    },
  });
  const built = buildActivitySupplier(config.spec);
  if (process.env.BENCH_DEBUG_SUPPLIER) {
    built.slotwise?.subscribe((event) => {
      const { type, ...rest } = event as { type: string } & Record<string, unknown>;
      console.error(
        `[supplier ${(performance.now() / 1000).toFixed(2)}] ${type} ${JSON.stringify(rest, (k, v) => (k === 'error' ? String(v) : v))}`,
      );
    });
  }
  // Every permit a slotwise supplier issues, so a scenario can tell permits issued after an event
  // from tasks that started after it on permits issued before (core reserves ahead of each poll).
  if (config.reportGrants !== false) {
    built.slotwise?.subscribe((event) => {
      if (event.type === 'reservation' && (event.result === 'granted' || event.result === 'eager-granted')) {
        send({ type: 'grant', t: Date.now() });
      }
    });
  }
  onActivityEvent((event) => send({ type: 'event', event }));
  const connection = await NativeConnection.connect({ address: config.address });
  const options: WorkerOptions = {
    connection,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: config.bundlePath },
    activities: benchActivities,
    tuner: benchTuner(built.supplier),
    shutdownGraceTime: '1s',
  };
  const worker = await Worker.create(
    built.slotwise && !config.raw ? slotwiseWorkerOptions(options) : options,
  );

  const sampleTimer = setInterval(() => {
    const snapshot = built.slotwise?.snapshot() as ResourceSupplierSnapshot | undefined;
    send({
      type: 'sample',
      t: Date.now(),
      ...(snapshot
        ? {
            supplier: {
              issued: snapshot.issued,
              used: snapshot.used,
              waiting: snapshot.waiting,
              capacity: snapshot.capacity,
              readings: snapshot.readings ?? {},
            },
          }
        : {}),
    });
  }, config.sampleMs);
  const coreTimer = setInterval(() => void scrapeCore(config.metricsPort), 1000);

  const profiler = config.cpuProfileDir ? new WindowProfiler(config.cpuProfileDir, config.taskQueue) : null;
  process.on('message', (message: ParentMessage) => {
    if (message?.type === 'stop') worker.shutdown();
    else if (message?.type === 'cpu') void answerCpu(message.id, message.mark);
  });
  // The profiler starts before the window's first sample and stops after its last, so its own start
  // and stop fall outside; the answer to `end` waits for the profile to be on disk (the parent stops
  // the child next).
  const answerCpu = async (id: number, mark: 'start' | 'end') => {
    if (mark === 'start') await profiler?.start().catch(profileFailed);
    const { user, system } = process.cpuUsage();
    const loop = performance.eventLoopUtilization();
    if (mark === 'end') await profiler?.stop().catch(profileFailed);
    send({
      type: 'cpu',
      id,
      userUs: user,
      systemUs: system,
      loopActiveMs: loop.active,
      loopIdleMs: loop.idle,
    });
  };
  process.on('disconnect', () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });

  const layout = detectCgroup();
  send({ type: 'ready', pid: process.pid, cgroup: layout });
  try {
    await worker.run();
  } finally {
    clearInterval(sampleTimer);
    clearInterval(coreTimer);
    built.close();
    onActivityEvent(null);
    await closeActivityResources();
    await connection.close();
  }
}

const profileFailed = (error: unknown) =>
  console.error(`[worker-child] CPU profile failed: ${String(error)}`);

/** A V8 CPU profile of this thread between two marks, written as `<dir>/<name>.cpuprofile`. */
class WindowProfiler {
  readonly #session = new Session();
  readonly #path: string;
  #started: Promise<void> | null = null;
  #stopped = false;

  constructor(dir: string, name: string) {
    this.#path = join(dir, `${name}.cpuprofile`);
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#session.connect();
      await this.#session.post('Profiler.enable');
      await this.#session.post('Profiler.setSamplingInterval', { interval: 100 });
      await this.#session.post('Profiler.start');
    })();
    return this.#started;
  }

  async stop(): Promise<void> {
    if (this.#started === null || this.#stopped) return;
    this.#stopped = true;
    await this.#started;
    const { profile } = await this.#session.post('Profiler.stop');
    this.#session.disconnect();
    writeFileSync(this.#path, JSON.stringify(profile));
    console.error(`[worker-child] CPU profile written to ${this.#path}`);
  }
}

const CORE_GAUGE = /^(?:\w+_)?resource_slots_(mem|cpu)_usage(?:\{[^}]*\})?\s+([-+0-9.eE]+)/;

/** Reads the resource-based tuner's own view (percent) from core's Prometheus endpoint. */
async function scrapeCore(port: number): Promise<void> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let mem: number | undefined;
    let cpu: number | undefined;
    for (const line of text.split('\n')) {
      const m = CORE_GAUGE.exec(line);
      if (!m) continue;
      if (m[1] === 'mem') mem = Number(m[2]);
      else cpu = Number(m[2]);
    }
    if (mem !== undefined || cpu !== undefined) {
      send({
        type: 'core',
        t: Date.now(),
        ...(mem !== undefined ? { memPercent: mem } : {}),
        ...(cpu !== undefined ? { cpuPercent: cpu } : {}),
      });
    }
  } catch {
    // the endpoint may not be up yet
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    send({ type: 'error', message: String(error?.stack ?? error) });
    console.error(error);
    process.exit(1);
  },
);
