import { describe, expect, it } from 'vitest';
import { ConcurrencyGrants, emptyGrantState } from '../../src/workflows/concurrency/grant-state.js';
import type { ConcurrencyEffect, ConcurrencyPolicy } from '../../src/workflows/concurrency/types.js';

const ref = (id: string, key: string) => ({ requestId: id, key, workflowId: `wf-${id}`, runId: `run-${id}` });

/** Requests `ids` (as `key:id` pairs) under `policy`; returns the effects, compactly. */
function requestAll(grants: ConcurrencyGrants, policy: ConcurrencyPolicy, pairs: string[], now = 0) {
  return pairs.flatMap((pair) => {
    const [key, id] = pair.split(':') as [string, string];
    return compact(grants.request({ ...ref(id, key), policy }, now));
  });
}

const compact = (effects: ConcurrencyEffect[]) =>
  effects.map((e) => `${e.type === 'cancel' && e.queued ? 'cancel-queued' : e.type}:${e.run.requestId}`);

describe('ConcurrencyGrants', () => {
  it('request() grants up to maxRuns per key at once and queues the rest, per key', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2 };
    expect(requestAll(grants, policy, ['a:1', 'a:2', 'a:3', 'b:4'])).toEqual([
      'grant:1',
      'grant:2',
      'grant:4',
    ]);
    expect(grants.runningPerKey()).toEqual({ a: 2, b: 1 });
    expect(grants.state.queued.map((r) => r.requestId)).toEqual(['3']);
    expect(compact(grants.release('1', 10))).toEqual(['grant:3']);
    expect(grants.state.running.find((r) => r.requestId === '3')).toMatchObject({ grantedAt: 10 });
  });

  it('release() grants round-robin across keys under a group limit: a, b, c, a, b, a, a, a', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 10, groupMaxRuns: 1 };
    const order = requestAll(grants, policy, [
      'a:a1',
      'a:a2',
      'a:a3',
      'a:a4',
      'a:a5',
      'b:b1',
      'b:b2',
      'c:c1',
    ]);
    for (let n = 0; n < 7; n++) order.push(...compact(grants.release(grants.state.running[0]!.requestId, n)));
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4', 'a5'].map((id) => `grant:${id}`));
    expect(grants.state.lastGrant).toEqual([{ key: 'a', grant: 8 }]);
  });

  it('release() serves keys never granted in the order they first asked', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1, groupMaxRuns: 1 };
    requestAll(grants, policy, ['x:x1', 'c:c1', 'b:b1', 'a:a1']);
    expect(compact(grants.release('x1', 1))).toEqual(['grant:c1']);
    expect(compact(grants.release('c1', 2))).toEqual(['grant:b1']);
  });

  it('request() under CANCEL_IN_PROGRESS cancels the oldest running run and grants the new one only after its release', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'CANCEL_IN_PROGRESS', maxRuns: 2 };
    expect(requestAll(grants, policy, ['k:1', 'k:2'])).toEqual(['grant:1', 'grant:2']);
    expect(requestAll(grants, policy, ['k:3'])).toEqual(['cancel:1']);
    expect(grants.runningFor('k')).toBe(2);
    // A fourth run replaces the next oldest live one (2), not 1 again.
    expect(requestAll(grants, policy, ['k:4'])).toEqual(['cancel:2']);
    // A fifth: both running ones are on their way out, so the oldest waiting one (3) is cancelled.
    expect(requestAll(grants, policy, ['k:5'])).toEqual(['cancel-queued:3']);
    expect(compact(grants.release('2', 1))).toEqual(['grant:4']);
    expect(compact(grants.release('1', 2))).toEqual(['grant:5']);
    expect(grants.state.stats).toEqual({ granted: 4, released: 2, cancelled: 3, rejected: 0, reclaimed: 0 });
  });

  it('request() under CANCEL_NEWEST refuses a run for a full key and keeps the running ones', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'CANCEL_NEWEST', maxRuns: 1 };
    expect(requestAll(grants, policy, ['k:1', 'k:2', 'j:3'])).toEqual(['grant:1', 'reject:2', 'grant:3']);
    const [reject] = grants.request({ ...ref('4', 'k'), policy }, 0);
    expect(reject).toEqual({
      type: 'reject',
      run: ref('4', 'k'),
      reason: 'key "k" already has 1 of 1 runs (CANCEL_NEWEST)',
    });
    grants.release('1', 1);
    expect(requestAll(grants, policy, ['k:5'])).toEqual(['grant:5']);
  });

  it('request() under CANCEL_NEWEST counts runs waiting for the group limit against their key', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'CANCEL_NEWEST', maxRuns: 1, groupMaxRuns: 1 };
    expect(requestAll(grants, policy, ['a:1', 'b:2', 'b:3'])).toEqual(['grant:1', 'reject:3']);
    expect(grants.queuedFor('b')).toBe(1);
  });

  it('request() of a run already granted or waiting changes no count, and tells a granted one again', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    requestAll(grants, policy, ['k:1', 'k:2']);
    expect(requestAll(grants, policy, ['k:1', 'k:2'])).toEqual(['grant:1']);
    expect([grants.runningFor('k'), grants.queuedFor('k')]).toEqual([1, 1]);
    expect(grants.state.stats.granted).toBe(1);
  });

  it('request() of a known request from another run (a reset) moves it there and re-sends its grant', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    requestAll(grants, policy, ['k:1', 'k:2']);
    const moved = { ...ref('1', 'k'), runId: 'reset-run', originalRunId: 'run-1', policy };
    expect(grants.request(moved, 5)).toEqual([
      { type: 'grant', run: { ...ref('1', 'k'), runId: 'reset-run', originalRunId: 'run-1' } },
    ]);
    expect(grants.findRunning('1')).toMatchObject({ runId: 'reset-run', originalRunId: 'run-1' });
    const waitingMoved = { ...ref('2', 'k'), runId: 'reset-2', policy };
    expect(grants.request(waitingMoved, 5)).toEqual([]);
    expect(grants.state.queued[0]).toMatchObject({ requestId: '2', runId: 'reset-2' });
    expect(compact(grants.release('1', 6))).toEqual(['grant:2']);
  });

  it('request() ignores a late repeat of a request its run already released or gave up, and grants it to a reset run', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    requestAll(grants, policy, ['k:1', 'k:2']);
    grants.release('2', 1); // 2 stops waiting (cancelled)
    expect(compact(grants.release('1', 2))).toEqual([]);
    // An ask that was in flight all along (a timed-out acquire activity's update) arrives now.
    expect(requestAll(grants, policy, ['k:1', 'k:2'])).toEqual([]);
    expect(grants.idle).toBe(true);
    expect(grants.state.stats).toMatchObject({ granted: 1, released: 1 });
    // A reset of run 1 (a new run id, same request id) asks again: that is a new request.
    expect(compact(grants.request({ ...ref('1', 'k'), runId: 'reset-run', policy }, 3))).toEqual(['grant:1']);
    // Through JSON (continue-as-new), released requests are still known.
    const after = new ConcurrencyGrants(JSON.parse(JSON.stringify(grants.state)));
    expect(requestAll(after, policy, ['k:2'])).toEqual([]);
  });

  it('request() remembers at most the last 1000 released requests', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    for (let i = 0; i < 1001; i++) {
      requestAll(grants, policy, [`k:${i}`]);
      grants.release(String(i), i);
    }
    expect(grants.state.closed).toHaveLength(1000);
    expect(requestAll(grants, policy, ['k:1'])).toEqual([]);
    expect(requestAll(grants, policy, ['k:0'])).toEqual(['grant:0']);
  });

  it('moveRun() records the new run of a granted request and says what to tell it', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'CANCEL_IN_PROGRESS', maxRuns: 1 };
    requestAll(grants, policy, ['k:1', 'k:2']);
    expect(grants.moveRun('1', 'new-run')).toEqual([
      { type: 'cancel', run: { ...ref('1', 'k'), runId: 'new-run' }, queued: false, by: 'wf-2' },
    ]);
    expect(grants.moveRun('nope', 'x')).toEqual([]);
  });

  it('release() is idempotent, drops a waiting run, and counts reclaimed grants', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    requestAll(grants, policy, ['k:1', 'k:2', 'k:3']);
    expect(grants.release('2', 1)).toEqual([]);
    expect(compact(grants.release('1', 2, true))).toEqual(['grant:3']);
    expect(grants.release('1', 3)).toEqual([]);
    expect(grants.release('nope', 3)).toEqual([]);
    expect(grants.state.stats).toMatchObject({ granted: 2, released: 1, reclaimed: 1 });
  });

  it('request() applies a raised maxRuns at once, and a lowered one to new grants only', () => {
    const grants = new ConcurrencyGrants();
    const one: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    const three: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 3 };
    requestAll(grants, one, ['k:1', 'k:2']);
    expect(requestAll(grants, three, ['k:3'])).toEqual(['grant:2', 'grant:3']);
    expect(requestAll(grants, one, ['k:4'])).toEqual([]);
    grants.release('1', 1);
    grants.release('2', 1);
    expect(compact(grants.release('3', 1))).toEqual(['grant:4']);
  });

  it('checkTargets() lists the runs that have held their grant through one whole tick, whatever the clock said', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 5 };
    grants.request({ ...ref('1', 'k'), policy }, 9_999_999, 3);
    grants.request({ ...ref('2', 'k'), policy }, 0, 4);
    expect(grants.checkTargets(4)).toEqual([]);
    expect(grants.checkTargets(5)).toEqual([ref('1', 'k')]);
    expect(grants.checkTargets(6)).toEqual([ref('1', 'k'), ref('2', 'k')]);
  });

  it('runningPerKey() handles any key string, including __proto__', () => {
    const grants = new ConcurrencyGrants();
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };
    requestAll(grants, policy, ['__proto__:1', '__proto__:2', 'constructor:3']);
    expect(Object.entries(grants.runningPerKey())).toEqual([
      ['__proto__', 1],
      ['constructor', 1],
    ]);
    expect(compact(grants.release('1', 1))).toEqual(['grant:2']);
  });

  it('constructor() continues from a state that went through JSON (continue-as-new)', () => {
    const before = new ConcurrencyGrants(emptyGrantState());
    const policy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1, groupMaxRuns: 1 };
    requestAll(before, policy, ['a:1', 'a:2', 'b:3']);
    const after = new ConcurrencyGrants(JSON.parse(JSON.stringify(before.state)));
    expect(compact(after.release('1', 1))).toEqual(['grant:3']);
    expect(compact(after.release('3', 2))).toEqual(['grant:2']);
    expect(after.idle).toBe(false);
    after.release('2', 3);
    expect(after.idle).toBe(true);
  });
});
