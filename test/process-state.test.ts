import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { claimProcessState, PROCESS_STATE_KEY, PROCESS_STATE_VERSION } from '../src/process-state.js';

/** A second, independent instance of a module, as a second build of the package would load it. */
async function freshCopy<T>(path: string): Promise<T> {
  vi.resetModules();
  return (await import(path)) as T;
}

describe('process-wide state', () => {
  it('slotPairing, evictionRegistry and the interceptor claims are one instance across copies of the code', async () => {
    type Copy = {
      pairing: typeof import('../src/suppliers/slot-pairing.js');
      eviction: typeof import('../src/activities/eviction-registry.js');
    };
    const load = async (): Promise<Copy> => {
      vi.resetModules();
      return {
        pairing: await import('../src/suppliers/slot-pairing.js'),
        eviction: await import('../src/activities/eviction-registry.js'),
      };
    };
    const a = await load();
    const b = await load();
    expect(a.pairing.SlotPairing).not.toBe(b.pairing.SlotPairing); // really two copies of the code
    expect(a.pairing.slotPairing).toBe(b.pairing.slotPairing);
    expect(a.eviction.evictionRegistry).toBe(b.eviction.evictionRegistry);
  });

  it('a permit claimed through one copy of the interceptor is found by another copy of currentSlot()', async () => {
    type Interceptor = typeof import('../src/activities/slot-interceptor.js');
    const a = await freshCopy<Interceptor>('../src/activities/slot-interceptor.js');
    const b = await freshCopy<Interceptor>('../src/activities/slot-interceptor.js');
    expect(a.claimOf).not.toBe(b.claimOf);
    const context = {
      info: { taskQueue: `q-${Math.random()}`, activityType: 'work', isLocal: false },
    } as unknown as import('@temporalio/activity').Context;
    a.slotwiseActivityInterceptor(context);
    expect(b.claimOf(context)).toBeDefined();
    expect(b.claimOf(context)).toBe(a.claimOf(context));
  });

  it('permit ids and default supplier names continue across copies of the code', async () => {
    type Fixed = typeof import('../src/suppliers/fixed-slot-supplier.js');
    const a = await freshCopy<Fixed>('../src/suppliers/fixed-slot-supplier.js');
    const b = await freshCopy<Fixed>('../src/suppliers/fixed-slot-supplier.js');
    const first = new a.FixedSlotSupplier({ slots: 1 });
    const second = new b.FixedSlotSupplier({ slots: 1 });
    const n = Number(first.name.replace('fixed-', ''));
    expect(second.name).toBe(`fixed-${n + 1}`);
    const ctx = { slotType: 'activity', taskQueue: 'q' } as never;
    const p1 = first.tryReserveSlot(ctx)!;
    const p2 = second.tryReserveSlot(ctx)!;
    expect(p2.id).toBe(p1.id + 1);
  });

  it('instanceof accepts instances made by another copy of the code, for slotwise classes and errors', async () => {
    type Main = typeof import('../src/index.js');
    const a = await freshCopy<Main>('../src/index.js');
    const b = await freshCopy<Main>('../src/index.js');
    expect(a.FixedSlotSupplier).not.toBe(b.FixedSlotSupplier);
    const fixed = new a.FixedSlotSupplier({ slots: 1 });
    expect(fixed instanceof b.FixedSlotSupplier).toBe(true);
    expect(fixed instanceof b.LedgerSlotSupplier).toBe(true);
    expect(fixed instanceof b.CompositeSlotSupplier).toBe(false);
    expect(fixed instanceof b.ResourceSlotSupplier).toBe(false);
    // A composite from one copy takes parts from the other.
    const composite = new b.CompositeSlotSupplier([fixed]);
    expect(composite.snapshot().parts).toHaveLength(1);
    expect(new a.SlotwiseOptionsError('x') instanceof b.SlotwiseOptionsError).toBe(true);
    expect(new a.SlotwiseOptionsError('x') instanceof b.ConfigError).toBe(false);
    expect(new a.SlotwiseMetrics() instanceof b.SlotwiseMetrics).toBe(true);
  });

  it('instanceof of a user subclass stays ordinary', async () => {
    const { FixedSlotSupplier } = await import('../src/suppliers/fixed-slot-supplier.js');
    class Mine extends FixedSlotSupplier {}
    expect(new Mine({ slots: 1 }) instanceof Mine).toBe(true);
    expect(new FixedSlotSupplier({ slots: 1 }) instanceof Mine).toBe(false);
    expect(new Mine({ slots: 1 }) instanceof FixedSlotSupplier).toBe(true);
  });

  it('claimProcessState() keeps a state of its own and warns when another version owns the key', () => {
    const holder = {};
    const warnings: string[] = [];
    const first = claimProcessState(holder, (m) => warnings.push(m), 7);
    expect(claimProcessState(holder, (m) => warnings.push(m), 7)).toBe(first);
    expect(warnings).toEqual([]);
    const other = claimProcessState(holder, (m) => warnings.push(m), 8);
    expect(other).not.toBe(first);
    expect(other.version).toBe(8);
    expect((holder as Record<symbol, unknown>)[PROCESS_STATE_KEY]).toBe(first);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('process state version 7 and 8');
    expect(warnings[0]).toContain('Install a single version of slotwise');
  });

  it('the state lives on globalThis under Symbol.for("slotwise.process-state") with its version', () => {
    const state = (globalThis as Record<symbol, { version: number } | undefined>)[
      Symbol.for('slotwise.process-state')
    ];
    expect(state?.version).toBe(PROCESS_STATE_VERSION);
  });

  it('each process-wide key has one owner module, the one the list in process-state.ts names', () => {
    const src = join(import.meta.dirname, '..', 'src');
    const files = (readdirSync(src, { recursive: true }) as string[]).filter(
      (f) => f.endsWith('.ts') && f !== 'process-state.ts',
    ); // its @example names a key too
    const owners = new Map<string, string[]>();
    for (const file of files) {
      for (const m of readFileSync(join(src, file), 'utf8').matchAll(/processWide\(\s*'(\w+)'/g)) {
        owners.set(m[1]!, [...(owners.get(m[1]!) ?? []), relative(src, join(src, file))]);
      }
    }
    const doc = readFileSync(join(src, 'process-state.ts'), 'utf8');
    const listed = new Map([...doc.matchAll(/^ \* - `(\w+)` \(([\w/.-]+)\)/gm)].map((m) => [m[1]!, [m[2]!]]));
    const keys = [...doc.matchAll(/^ {2}\| '(\w+)'/gm)].map((m) => m[1]!);
    expect(listed.size).toBe(9);
    expect(new Set(keys)).toEqual(new Set(listed.keys()));
    expect(new Map([...owners].sort())).toEqual(new Map([...listed].sort()));
  });

  it('process-state.ts imports nothing of slotwise (the lowest layer depends on no layer above)', () => {
    const text = readFileSync(join(import.meta.dirname, '..', 'src', 'process-state.ts'), 'utf8');
    expect([...text.matchAll(/^import .* from '(\.[^']*)'/gm)].map((m) => m[1])).toEqual([]);
  });
});
