// Weighs permits and waiting reservations: run with `node --expose-gc --import tsx` (bench/
// permit-cost.ts does), prints one JSON line of {@link PermitMemory} per contender on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frozenContenders, GPU_WEIGH_MAX as GPU_MAX, type PermitContender } from './permit-contenders.js';

/** Heap bytes per outstanding permit and per waiting reservation of one contender. */
export interface PermitMemory {
  id: string;
  label: string;
  n: number;
  bytesPerPermit: number;
  bytesPerWaiter: number;
  /** Counts seen while the permits were held, the reservations waiting, and after both ended. */
  counts: {
    held: Counts | null;
    waiting: Counts | null;
    afterPermits: Counts | null;
    afterWaiters: Counts | null;
  };
}

type Counts = { issued: number; used: number; waiting: number };

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const counts = (c: PermitContender): Counts | null => {
  const s = c.snapshot();
  return s && { issued: s.issued, used: s.used, waiting: s.waiting };
};

async function weighPermits(
  c: PermitContender,
  n: number,
): Promise<{ bytes: number; held: Counts | null; after: Counts | null }> {
  const held: unknown[] = new Array(n).fill(null);
  const before = heapAfterGc();
  for (let i = 0; i < n; i++) {
    const permit = await c.reserve();
    c.markUsed(permit);
    held[i] = permit;
  }
  const after = heapAfterGc();
  const heldCounts = counts(c);
  for (let i = 0; i < n; i++) c.release(held[i]);
  held.fill(null);
  return { bytes: (after - before) / n, held: heldCounts, after: counts(c) };
}

async function weighWaiters(
  c: PermitContender,
  n: number,
): Promise<{ bytes: number; waiting: Counts | null; after: Counts | null }> {
  const blocker = await c.reserve();
  // Core creates one AbortController per reservation: its weight is core's, not the supplier's.
  const controllers = Array.from({ length: n }, () => new AbortController());
  const pending: Array<Promise<unknown> | null> = new Array(n).fill(null);
  const before = heapAfterGc();
  for (let i = 0; i < n; i++) pending[i] = c.reserve(controllers[i]!.signal);
  const after = heapAfterGc();
  const waiting = counts(c);
  const settled = pending.map((p) =>
    p!.then(
      (permit) => c.release(permit),
      () => {},
    ),
  );
  if (c.id === 'floor') {
    for (let i = 0; i <= n; i++) c.release(blocker);
  } else {
    for (const controller of controllers) controller.abort('benchmark done');
    c.release(blocker);
  }
  await Promise.all(settled);
  return { bytes: (after - before) / n, waiting, after: counts(c) };
}

async function main(): Promise<void> {
  if (!gc) throw new Error('permit-memory-child needs node --expose-gc');
  const n = Number(process.argv[2] ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-bench-mem-'));
  try {
    const big = await frozenContenders(join(dir, 'big'), { maxSlots: n, mode: 'count' });
    const one = await frozenContenders(join(dir, 'one'), { maxSlots: 1, mode: 'count' });
    for (let i = 0; i < big.length; i++) {
      // GpuSlotSupplier picks a device for every permit by walking (and copying) every live permit,
      // even within minSlots: holding 100k of them would take O(n^2), so it is weighed over fewer.
      const count = big[i]!.id === 'gpu' ? Math.min(n, GPU_MAX) : n;
      const permits = await weighPermits(big[i]!, count);
      const waiters = await weighWaiters(one[i]!, count);
      const result: PermitMemory = {
        id: big[i]!.id,
        label: big[i]!.label,
        n: count,
        bytesPerPermit: permits.bytes,
        bytesPerWaiter: waiters.bytes,
        counts: {
          held: permits.held,
          waiting: waiters.waiting,
          afterPermits: permits.after,
          afterWaiters: waiters.after,
        },
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
    for (const c of [...big, ...one]) c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
