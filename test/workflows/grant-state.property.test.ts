import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConcurrencyGrants } from '../../src/workflows/concurrency/grant-state.js';
import type {
  ConcurrencyEffect,
  ConcurrencyPolicy,
  ConcurrencyStrategy,
} from '../../src/workflows/concurrency/types.js';

// Random schedules of requests, releases, reclaims (a run found closed), give-ups while waiting,
// duplicate requests and continue-as-new (a JSON round trip of the state), checked step by step
// against an independent model that only sees the effects ConcurrencyGrants returns.

type Op =
  | { type: 'request'; key: number }
  | { type: 'release'; pick: number }
  | { type: 'reclaim'; pick: number }
  | { type: 'giveUp'; pick: number }
  | { type: 'duplicate'; pick: number }
  | { type: 'continueAsNew' };

const opArb = (keys: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ type: fc.constant('request' as const), key: fc.nat(keys - 1) }) },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('release' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('reclaim' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('giveUp' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('duplicate' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ type: 'continueAsNew' as const }) },
  );

const strategies: ConcurrencyStrategy[] = ['GROUP_ROUND_ROBIN', 'CANCEL_IN_PROGRESS', 'CANCEL_NEWEST'];

const scheduleArb = (strategy: ConcurrencyStrategy) =>
  fc
    .record({
      keys: fc.integer({ min: 1, max: 4 }),
      maxRuns: fc.integer({ min: 1, max: 3 }),
      groupMaxRuns: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    })
    .chain(({ keys, maxRuns, groupMaxRuns }) =>
      fc.record({
        policy: fc.constant<ConcurrencyPolicy>(
          groupMaxRuns === undefined ? { strategy, maxRuns } : { strategy, maxRuns, groupMaxRuns },
        ),
        ops: fc.array(opArb(keys), { minLength: 1, maxLength: 150 }),
      }),
    );

interface ModelRun {
  id: string;
  key: string;
  order: number;
}

// The invariants are checked after every step of thousands of schedules: these call expect() (for
// its message) only when a check fails, as expect() itself costs more than the checks.
function is(actual: unknown, expected: unknown, message?: string): void {
  if (!Object.is(actual, expected)) expect(actual, message).toBe(expected);
}
function same(actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected);
}
function atMost(actual: number, limit: number): void {
  if (!(actual <= limit)) expect(actual).toBeLessThanOrEqual(limit);
}
function defined(value: unknown, message: string): void {
  if (value === undefined) expect(value, message).toBeDefined();
}

/** JSON length of the four lists when empty: what the byte count leaves out. */
const EMPTY_LISTS = JSON.stringify({ running: [], queued: [], lastGrant: [], closed: [] }).length;

/**
 * Runs a schedule, checking every invariant after every step; returns the model for final checks.
 * With `maxBytes`, the grant state has that byte budget and requests accept `full` answers.
 */
function runSchedule(policy: ConcurrencyPolicy, ops: Op[], maxBytes?: number) {
  const { maxRuns, groupMaxRuns = Infinity, strategy } = policy;
  const budget = maxBytes === undefined ? undefined : { maxBytes, enforce: () => true };
  let grants = new ConcurrencyGrants(undefined, budget);
  const granted = new Map<string, ModelRun>(); // holding a grant, per the effects seen
  const waiting = new Map<string, ModelRun>(); // asked, not granted, refused, cancelled or given up
  const cancelRequested = new Set<string>();
  const everGranted = new Set<string>();
  const ended = new Map<string, 'rejected' | 'cancelledWaiting' | 'gaveUp' | 'full'>();
  const grantKeys: string[] = [];
  let order = 0;
  let now = 0;

  const perKey = (runs: Iterable<ModelRun>, key: string, skip?: (run: ModelRun) => boolean) => {
    let count = 0;
    for (const run of runs) if (run.key === key && !skip?.(run)) count++;
    return count;
  };
  const oldestWaiting = (key: string) =>
    [...waiting.values()].filter((r) => r.key === key).sort((a, b) => a.order - b.order)[0];

  const apply = (effects: ConcurrencyEffect[], requested?: ModelRun) => {
    for (const effect of effects) {
      const id = effect.run.requestId;
      if (effect.type === 'grant') {
        const run = waiting.get(id);
        defined(run, `grant of ${id}, which is not waiting`);
        is(everGranted.has(id), false);
        // Within a key, oldest request first.
        is(oldestWaiting(run!.key)?.id, id);
        waiting.delete(id);
        granted.set(id, run!);
        everGranted.add(id);
        grantKeys.push(run!.key);
      } else if (effect.type === 'reject') {
        is(strategy, 'CANCEL_NEWEST');
        is(id, requested?.id);
        const others = (r: ModelRun) => r.id === id;
        is(
          perKey(granted.values(), requested!.key) + perKey(waiting.values(), requested!.key, others),
          maxRuns,
        );
        waiting.delete(id);
        ended.set(id, 'rejected');
      } else if (effect.type === 'full') {
        // Only the request just made, and only with a budget: it is not kept.
        is(budget !== undefined, true);
        is(id, requested?.id);
        waiting.delete(id);
        ended.set(id, 'full');
      } else {
        is(strategy, 'CANCEL_IN_PROGRESS');
        if (id === requested?.id) expect(id).not.toBe(requested?.id);
        const victim = effect.queued ? waiting.get(id) : granted.get(id);
        defined(victim, `cancel of ${id}, which is not ${effect.queued ? 'waiting' : 'granted'}`);
        is(victim!.key, requested?.key);
        // The victim is the oldest of its key that is not already on its way out.
        const live = [...granted.values(), ...waiting.values()].filter(
          (r) => r.key === victim!.key && !cancelRequested.has(r.id) && r.id !== requested!.id,
        );
        const grantedLive = live.filter((r) => granted.has(r.id));
        if (effect.queued) same(grantedLive, []);
        const candidates = effect.queued ? live : grantedLive;
        is(Math.min(...candidates.map((r) => r.order)), victim!.order);
        if (effect.queued) {
          waiting.delete(id);
          ended.set(id, 'cancelledWaiting');
        } else {
          is(cancelRequested.has(id), false);
          cancelRequested.add(id);
        }
      }
    }
  };

  const check = () => {
    const { state } = grants;
    const keys = new Set([...granted.values(), ...waiting.values()].map((r) => r.key));
    for (const key of keys) {
      atMost(perKey(granted.values(), key), maxRuns);
      if (strategy === 'CANCEL_NEWEST') {
        atMost(perKey(granted.values(), key) + perKey(waiting.values(), key), maxRuns);
      }
      if (strategy === 'CANCEL_IN_PROGRESS') {
        const live =
          perKey(granted.values(), key, (r) => cancelRequested.has(r.id)) + perKey(waiting.values(), key);
        atMost(live, maxRuns);
      }
    }
    atMost(granted.size, groupMaxRuns);
    // Work-conserving: nothing waits that could run.
    for (const run of waiting.values()) {
      is(perKey(granted.values(), run.key) >= maxRuns || granted.size >= groupMaxRuns, true);
    }
    // The state agrees with the model built from effects alone.
    same(state.running.map((r) => r.requestId).sort(), [...granted.keys()].sort());
    same(
      state.queued.map((r) => r.requestId),
      [...waiting.values()].sort((a, b) => a.order - b.order).map((r) => r.id),
    );
    same(
      state.running
        .filter((r) => r.cancelRequested)
        .map((r) => r.requestId)
        .sort(),
      [...cancelRequested].filter((id) => granted.has(id)).sort(),
    );
    for (const { key } of state.lastGrant) is(keys.has(key), true);
    is(state.stats.granted, everGranted.size);
    is(grants.idle, granted.size === 0 && waiting.size === 0);
    if (maxBytes !== undefined) {
      // The count is what a fresh count of the same state gives, and bounds the lists' JSON.
      const { running, queued, lastGrant, closed } = state;
      is(new ConcurrencyGrants(JSON.parse(JSON.stringify(state))).bytes, grants.bytes);
      const lists = JSON.stringify({ running, queued, lastGrant, closed: closed ?? [] }).length;
      atMost(lists - EMPTY_LISTS, grants.bytes);
      atMost(grants.bytes, maxBytes);
    }
  };

  const pickFrom = (pick: number, pool: ModelRun[]) => pool[pick % pool.length];

  for (const op of ops) {
    now += 7;
    if (op.type === 'request') {
      const run: ModelRun = { id: `r${order}`, key: `k${op.key}`, order: order++ };
      waiting.set(run.id, run);
      const request = {
        requestId: run.id,
        key: run.key,
        workflowId: `wf-${run.id}`,
        runId: 'run',
        policy,
        acceptsFull: budget !== undefined,
      };
      apply(grants.request(request, now), run);
      is(ended.has(run.id) && ended.get(run.id) !== 'rejected' && ended.get(run.id) !== 'full', false);
    } else if (op.type === 'release' || op.type === 'reclaim') {
      const run = pickFrom(op.pick, [...granted.values()]);
      if (!run) continue;
      granted.delete(run.id);
      apply(grants.release(run.id, now, op.type === 'reclaim'));
    } else if (op.type === 'giveUp') {
      const run = pickFrom(op.pick, [...waiting.values()]);
      if (!run) continue;
      waiting.delete(run.id);
      ended.set(run.id, 'gaveUp');
      same(grants.release(run.id, now), []);
    } else if (op.type === 'duplicate') {
      const run = pickFrom(op.pick, [...granted.values(), ...waiting.values()]);
      if (!run) continue;
      const request = { requestId: run.id, key: run.key, workflowId: `wf-${run.id}`, runId: 'run', policy };
      // A repeat changes nothing but tells a granted run its answer again (a reset run needs it).
      const repeated = grants.request(request, now);
      if (!granted.has(run.id)) same(repeated, []);
      else {
        is(repeated.length, 1);
        is(repeated[0]!.run.requestId, run.id);
        is(repeated[0]!.type, cancelRequested.has(run.id) ? 'cancel' : 'grant');
      }
    } else {
      grants = new ConcurrencyGrants(JSON.parse(JSON.stringify(grants.state)), budget);
    }
    check();
  }

  // Liveness: release everything granted until nothing waits; every request then ran or ended.
  while (granted.size > 0) {
    const [id] = granted.keys();
    granted.delete(id!);
    now += 7;
    apply(grants.release(id!, now));
    check();
  }
  expect(waiting.size).toBe(0);
  expect(grants.idle).toBe(true);
  expect(grants.state.lastGrant).toEqual([]);
  for (let n = 0; n < order; n++) {
    is(everGranted.has(`r${n}`) || ended.has(`r${n}`), true);
  }
  return { grantKeys, ended };
}

describe('ConcurrencyGrants (property)', () => {
  for (const strategy of strategies) {
    it(`request()/release() never grant more than maxRuns per key or groupMaxRuns in all, over 3000 random ${strategy} schedules`, () => {
      fc.assert(
        fc.property(scheduleArb(strategy), ({ policy, ops }) => {
          runSchedule(policy, ops);
        }),
        { numRuns: 3000 },
      );
    }, 60_000); // 3000 schedules: 3-11 s at a load average of 22 on 2 cores
  }

  for (const strategy of strategies) {
    it(`with a byte budget, ${strategy} schedules keep every limit, keep the state within the budget and answer full only to the request made, over 2000 random schedules`, () => {
      let full = 0;
      fc.assert(
        fc.property(scheduleArb(strategy), ({ policy, ops }) => {
          const before = full;
          // Room for four to eight entries of these short ids: schedules of up to 150 steps pass it.
          const { ended } = runSchedule(policy, ops, 1_000);
          full = before + [...ended.values()].filter((e) => e === 'full').length;
        }),
        { numRuns: 2000 },
      );
      expect(full).toBeGreaterThan(0); // the budget did bind
    }, 60_000);
  }

  it('request()/release() serve keys round-robin: with one group slot, a key waiting through a grant is served before that key again', () => {
    const arb = fc.record({
      keys: fc.integer({ min: 2, max: 4 }),
      ops: fc.array(fc.nat(), { minLength: 1, maxLength: 120 }),
    });
    fc.assert(
      fc.property(arb, ({ keys, ops }) => {
        const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 100, groupMaxRuns: 1 };
        const grants = new ConcurrencyGrants();
        const waitingKeysAtGrant: Array<{ key: string; waiting: Set<string> }> = [];
        let n = 0;
        const record = (effects: ConcurrencyEffect[], waitingBefore: Set<string>) => {
          for (const e of effects) waitingKeysAtGrant.push({ key: e.run.key, waiting: waitingBefore });
        };
        for (const op of ops) {
          const before = new Set(grants.state.queued.map((r) => r.key));
          if (op % 3 === 2 && grants.state.running.length > 0) {
            record(grants.release(grants.state.running[0]!.requestId, n), before);
          } else {
            const key = `k${op % keys}`;
            const effects = grants.request(
              { requestId: `r${n}`, key, workflowId: `w${n}`, runId: 'x', policy },
              n,
            );
            record(effects, before);
          }
          n++;
        }
        for (let i = 1; i < waitingKeysAtGrant.length; i++) {
          const previous = waitingKeysAtGrant[i - 1]!;
          const current = waitingKeysAtGrant[i]!;
          if (previous.key !== current.key) continue;
          // The same key twice in a row: no other key may have waited through both grants.
          const starved = [...previous.waiting].filter((k) => k !== current.key && current.waiting.has(k));
          expect(starved).toEqual([]);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
