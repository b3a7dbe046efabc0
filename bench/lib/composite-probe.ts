// Probe (issue 16): where the slow decisions of one contender of scenario 1a fall, by index after the
// last fresh reading, round by round (frozen readings as in the scenario).
//
//   WARM=500 ROUNDS=3 npx tsx bench/lib/composite-probe.ts [composite|fixed|memory|cpu|gpu] [outstanding=16] [async|sync]

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frozenContenders } from './permit-contenders.js';

const which = process.argv[2] ?? 'composite';
const outstanding = Number(process.argv[3] ?? 16);
const mode = process.argv[4] ?? 'async';
const dir = mkdtempSync(join(tmpdir(), 'probe-'));
const contenders = await frozenContenders(dir, { maxSlots: 2000, mode: 'gate' });
const c = contenders.find((x) => x.id === which)!;
const holding: unknown[] = [];
for (let i = 0; i < outstanding; i++) {
  if (i % 100 === 0) await c.refresh?.();
  const p = await c.reserve();
  c.markUsed(p);
  holding.push(p);
}
// Warm-up: WARM decisions, untimed (the scenario runs 500 per contender and mode).
for (let i = 0; i < Number(process.env.WARM ?? 0); i++) {
  if (i % 100 === 0) await c.refresh?.();
  const permit = mode === 'async' ? await c.reserve() : c.tryReserve();
  if (permit === null) continue;
  c.markUsed(permit);
  c.release(permit);
}
for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
  const n = 10_000;
  const times: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (i % 100 === 0) await c.refresh?.();
    const t = performance.now();
    const permit = mode === 'async' ? await c.reserve() : c.tryReserve();
    times[i] = (performance.now() - t) * 1000;
    if (permit === null) continue;
    c.markUsed(permit);
    c.release(permit);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const p99 = sorted[Math.floor(n * 0.99)]!;
  const slow = times.map((t, i) => [t, i] as const).filter(([t]) => t >= p99);
  const byMod = new Map<number, number>();
  for (const [, i] of slow) byMod.set(i % 100, (byMod.get(i % 100) ?? 0) + 1);
  const top = [...byMod].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(
    `${which} out=${outstanding} ${mode} p50 ${sorted[n / 2]!.toFixed(2)} p99 ${p99.toFixed(2)} slow by i%100: ${top.map(([m, k]) => `${m}:${k}`).join(' ')}`,
  );
}
for (const p of holding) c.release(p);
process.exit(0);
