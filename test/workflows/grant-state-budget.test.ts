import { describe, expect, it } from 'vitest';
import { ConcurrencyGrants, type GrantStateBudget } from '../../src/workflows/concurrency/grant-state.js';
import { DEFAULT_CONTROLLER_SETTINGS } from '../../src/workflows/concurrency/options.js';
import type {
  ConcurrencyControllerInput,
  ConcurrencyEffect,
  ConcurrencyPolicy,
  ConcurrencyRequest,
} from '../../src/workflows/concurrency/types.js';

// The byte budget of a controller's carried state (issue 12: a controller whose state outgrew the
// server's 2 MiB payload limit was terminated at its next continue-as-new).

const queue: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };

/** A request as withConcurrency() makes it: ids of realistic length (a UUID run id). */
function request(n: number, key = 'tenant-a', policy = queue): ConcurrencyRequest {
  const workflowId = `customer-report-${String(n).padStart(6, '0')}`;
  const runId = `0f3c9a4e-1b2d-4c5e-8f70-${String(n).padStart(12, '0')}`;
  return {
    requestId: `${workflowId}/${runId}/1`,
    key,
    workflowId,
    runId,
    originalRunId: runId,
    policy,
    acceptsFull: true,
  };
}

const budget = (maxBytes: number, enforce = () => true): GrantStateBudget => ({ maxBytes, enforce });

/** JSON bytes of what the byte count stands for: the state's lists. */
const listBytes = (grants: ConcurrencyGrants) => {
  const { running, queued, lastGrant, closed } = grants.state;
  return Buffer.byteLength(JSON.stringify({ running, queued, lastGrant, closed }));
};

const fullOf = (effects: ConcurrencyEffect[]) => effects.find((e) => e.type === 'full');

describe('ConcurrencyGrants byte budget', () => {
  it('bytes is an upper bound of the lists as JSON, within 40 %, and what a fresh count of the same state gives, through requests, grants, releases, moves and cancels', () => {
    const grants = new ConcurrencyGrants();
    const cancel: ConcurrencyPolicy = { strategy: 'CANCEL_IN_PROGRESS', maxRuns: 2 };
    const seen: number[] = [];
    for (let n = 0; n < 3000; n++) {
      const step = n % 7;
      if (step === 6 && grants.state.running.length > 0) {
        grants.release(grants.state.running[0]!.requestId, n, false, 0);
      } else if (step === 5 && grants.state.queued.length > 0) {
        grants.moveRun(grants.state.queued[0]!.requestId, `moved-${n}-with-a-longer-run-id`);
      } else {
        const key = n % 3 === 0 ? `ключ-${n % 11}` : `tenant-${n % 13}`; // non-ASCII keys too
        grants.request(request(n, key, n % 10 === 0 ? cancel : queue), n);
      }
      if (n % 100 === 0) {
        const actual = listBytes(grants);
        expect(grants.bytes).toBeGreaterThanOrEqual(actual);
        expect(grants.bytes).toBeLessThanOrEqual(actual * 1.4 + 100);
        expect(new ConcurrencyGrants(JSON.parse(JSON.stringify(grants.state))).bytes).toBe(grants.bytes);
        seen.push(grants.state.queued.length);
      }
    }
    expect(Math.max(...seen)).toBeGreaterThan(100); // the lists did grow
    expect(grants.state.closed!.length).toBe(1000);
  });

  it('answers full once a request no longer fits, keeps the state within the budget, and counts every refusal', () => {
    const grants = new ConcurrencyGrants(undefined, budget(65_536));
    let kept = 0;
    let full = 0;
    const waits: number[] = [];
    for (let n = 0; n < 1000; n++) {
      const effect = fullOf(grants.request(request(n), 0));
      if (effect?.type === 'full') {
        full++;
        waits.push(effect.retryAfterMs);
      } else kept++;
      expect(listBytes(grants)).toBeLessThanOrEqual(65_536);
    }
    expect(kept).toBe(grants.state.running.length + grants.state.queued.length);
    expect(grants.state.running.length).toBe(1);
    expect(kept).toBeGreaterThan(200); // 65,536 bytes of ~290-byte entries
    expect(kept + full).toBe(1000);
    expect(grants.state.stats.full).toBe(full);
    expect(grants.state.overflow).toEqual({ issued: full, admitted: 0 });
    // 10 ms a ticket ahead, at least 1 s: the line asks again about 100 times a second in all.
    expect(waits[0]).toBe(1_000);
    expect(waits.at(-1)).toBe(Math.max(1_000, full * 10));
  });

  it('the first refusal names the budget and what fills it; a refused request is not kept', () => {
    const grants = new ConcurrencyGrants(undefined, budget(16_384));
    let effect: ConcurrencyEffect | undefined;
    let n = 0;
    while (!effect) effect = fullOf(grants.request(request(n++), 0));
    expect(effect).toMatchObject({ type: 'full', ticket: 1 });
    expect((effect as { reason: string }).reason).toMatch(
      /^the controller's state is full \(\d+ of 16384 bytes, `controller.maxStateBytes`\): granted 1, waiting \d+$/,
    );
    const refused = request(n - 1);
    expect(grants.state.queued.some((r) => r.requestId === refused.requestId)).toBe(false);
  });

  it('a request already kept is answered as before when the state is full (a repeat, a reset run re-attaching)', () => {
    const grants = new ConcurrencyGrants(undefined, budget(16_384));
    let n = 0;
    while (!fullOf(grants.request(request(n++), 0)));
    expect(grants.request(request(0), 0)).toMatchObject([
      { type: 'grant', run: { requestId: request(0).requestId } },
    ]);
    expect(grants.request({ ...request(1), runId: 'reset-run' }, 0)).toEqual([]);
    expect(grants.state.queued.find((r) => r.requestId === request(1).requestId)?.runId).toBe('reset-run');
  });

  it('refused requests come in by ticket once the state is back under 90 %: until then newcomers are refused behind them', () => {
    const grants = new ConcurrencyGrants(undefined, budget(16_384));
    let n = 0;
    while (!fullOf(grants.request(request(n), 0))) n++;
    const firstRefused = n; // ticket 1
    const second = fullOf(grants.request(request(n + 1), 0)); // ticket 2
    expect(second).toMatchObject({ ticket: 2 });
    // One release frees room for one entry, but the state is still above 90 %: tickets wait, and a
    // newcomer without one is refused too (given ticket 3), though it would fit.
    grants.release(grants.state.running[0]!.requestId, 1);
    expect(fullOf(grants.request(request(n + 2), 1))).toMatchObject({ ticket: 3 });
    expect(fullOf(grants.request({ ...request(firstRefused), ticket: 1 }, 1))).toMatchObject({ ticket: 1 });
    // Enough releases to go under 90 %: every ticket given so far may come in while room lasts, and
    // so may newcomers again (no ticket is left waiting for the next reopening).
    while (grants.bytes > 16_384 * (7 / 8) * 0.9 - 600) grants.release(grants.state.running[0]!.requestId, 2);
    expect(fullOf(grants.request({ ...request(n + 2), ticket: 3 }, 2))).toBeUndefined();
    expect(grants.state.overflow).toEqual({ issued: 3, admitted: 3 });
    expect(fullOf(grants.request({ ...request(firstRefused), ticket: 1 }, 2))).toBeUndefined();
    // Room runs out again: the next refusal gets the next ticket, and ticket 2 (in turn) still
    // needs room.
    let next = n + 10;
    while (!fullOf(grants.request(request(next), 2))) next++;
    expect(grants.state.overflow).toEqual({ issued: 4, admitted: 3 });
    expect(fullOf(grants.request({ ...request(n + 1), ticket: 2 }, 2))).toMatchObject({ ticket: 2 });
    // A ticket from an earlier controller (more than issued) counts as none.
    expect(fullOf(grants.request({ ...request(n + 4), ticket: 99 }, 2))).toMatchObject({ ticket: 5 });
    expect(grants.state.stats.full).toBe(7);
  });

  it('a request that does not say it accepts full (a run of an older slotwise) is kept over the budget: such a run would go on without a grant', () => {
    const grants = new ConcurrencyGrants(undefined, budget(16_384));
    let n = 0;
    while (!fullOf(grants.request(request(n++), 0)));
    const queued = grants.state.queued.length;
    expect(grants.request({ ...request(n), acceptsFull: undefined }, 0)).toEqual([]);
    expect(grants.state.queued.length).toBe(queued + 1);
    expect(grants.state.stats.full).toBe(1);
  });

  it('enforce() false (a history from before the budget) takes every request from then on, and asks once', () => {
    let asked = 0;
    const grants = new ConcurrencyGrants(
      undefined,
      budget(16_384, () => {
        asked++;
        return false;
      }),
    );
    for (let n = 0; n < 300; n++) expect(fullOf(grants.request(request(n), 0))).toBeUndefined();
    expect(grants.state.queued.length).toBe(299);
    expect(asked).toBe(1);
    expect(grants.state.stats.full).toBeUndefined();
  });

  it('keeps the memory of ended requests within an eighth of the budget when ids are long', () => {
    const grants = new ConcurrencyGrants(undefined, budget(65_536));
    const long = (n: number): ConcurrencyRequest => {
      const base = request(n);
      const workflowId = `${'w'.repeat(900)}-${n}`;
      return { ...base, workflowId, requestId: `${workflowId}/${base.runId}/1` };
    };
    for (let n = 0; n < 200; n++) {
      grants.request(long(n), n);
      grants.release(long(n).requestId, n);
    }
    const closed = grants.state.closed!;
    expect(Buffer.byteLength(JSON.stringify(closed))).toBeLessThanOrEqual(65_536 / 8);
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.at(-1)!.requestId).toBe(long(199).requestId);
    expect(grants.state.stats.released).toBe(200);
  });

  it("at the default budget, the worst continue-as-new input (a full state, every granted run still to be told, a history of signals in flight) stays under the server's 2 MiB limit", () => {
    const { maxStateBytes, maxHistoryEvents } = DEFAULT_CONTROLLER_SETTINGS;
    const grants = new ConcurrencyGrants(undefined, budget(maxStateBytes));
    // The memory of ended requests filled first, then one key per run so that every run is granted.
    let n = 0;
    for (; n < 20_000; n++) {
      grants.request(request(n), n);
      grants.release(request(n).requestId, n);
    }
    while (fullOf(grants.request(request(n, `tenant-${String(n).padStart(6, '0')}`), n)) === undefined) n++;
    const { running } = grants.state;
    expect(running.length).toBeGreaterThan(2_000);
    expect(grants.state.queued).toEqual([]);
    // Unsent decisions: one per granted run (the outbox keeps one unsent per run); in flight: at most
    // one signal per two events of the history bound, each possibly a second decision for a run.
    const outbox = [...running, ...running.slice(0, maxHistoryEvents / 2)].map((run) => grants.answerOf(run));
    const input: ConcurrencyControllerInput = {
      group: 'nightly-customer-reports',
      state: grants.state,
      outbox,
      settings: { ...DEFAULT_CONTROLLER_SETTINGS },
      generation: 1_000_000,
      tick: 1_000_000,
    };
    const bytes = Buffer.byteLength(JSON.stringify(input));
    console.log(
      `slotwise: worst carried input at the default budget: ${bytes} bytes (${running.length} granted, ` +
        `${outbox.length} decisions)`,
    );
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });
});
