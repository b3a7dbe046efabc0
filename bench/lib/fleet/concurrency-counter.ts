import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP counter the activities of several Worker processes report to: `POST /start` before an
 * activity works and `POST /end` after it worked, each awaited. An activity counts from the moment
 * its start reached the counter until its end did, an interval inside the one its slot was held, so
 * the counter never shows more running than held slots, and shows every overlap of their work.
 */
export interface ConcurrencyCounter {
  readonly url: string;
  /** Activities running now. */
  readonly running: number;
  /** Most activities running at once so far. */
  readonly max: number;
  /** Starts and ends seen. */
  readonly started: number;
  readonly ended: number;
  /** `[ms since the counter started, running]` after every change. */
  readonly timeline: ReadonlyArray<readonly [number, number]>;
  /** Milliseconds since the counter started (the timeline's clock). */
  now(): number;
  /** The activities of process `pid` stop counting now (it was killed); returns how many. */
  dropProcess(pid: number): number;
  close(): Promise<void>;
}

export async function startConcurrencyCounter(): Promise<ConcurrencyCounter> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const running = new Map<string, number>(); // activity attempt id -> pid
  const timeline: Array<readonly [number, number]> = [[0, 0]];
  let max = 0;
  let started = 0;
  let ended = 0;
  const record = () => {
    max = Math.max(max, running.size);
    timeline.push([now(), running.size]);
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://counter');
    const id = url.searchParams.get('id') ?? '';
    const pid = Number(url.searchParams.get('pid'));
    if (url.pathname === '/start') {
      started++;
      running.set(id, pid);
      record();
    } else if (url.pathname === '/end') {
      ended++;
      if (running.delete(id)) record();
    }
    response.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get running() {
      return running.size;
    },
    get max() {
      return max;
    },
    get started() {
      return started;
    },
    get ended() {
      return ended;
    },
    timeline,
    now,
    dropProcess(pid) {
      let dropped = 0;
      for (const [id, owner] of [...running]) {
        if (owner === pid) {
          running.delete(id);
          dropped++;
        }
      }
      if (dropped > 0) record();
      return dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The share of `[from, to]` (counter milliseconds) during which exactly `level` activities ran, from
 * a counter's timeline.
 */
export function shareAtLevel(
  timeline: ReadonlyArray<readonly [number, number]>,
  level: number,
  from: number,
  to: number,
): number {
  if (to <= from) return 0;
  let at = 0;
  for (let i = 0; i < timeline.length; i++) {
    const [t, value] = timeline[i]!;
    const next = i + 1 < timeline.length ? timeline[i + 1]![0] : to;
    const start = Math.max(t, from);
    const end = Math.min(next, to);
    if (end > start && value === level) at += end - start;
  }
  return at / (to - from);
}
