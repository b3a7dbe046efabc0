import type {
  ConcurrencyEffect,
  ConcurrencyGrantState,
  ConcurrencyPolicy,
  ConcurrencyRequest,
  ConcurrencyRunningRun,
  ConcurrencyRunRef,
} from './types.js';

/** How many ended requests {@link ConcurrencyGrantState.closed} keeps. */
const CLOSED_KEPT = 1000;
/** Share of the byte budget the memory of ended requests may take (long ids make it shorter). */
const CLOSED_SHARE = 1 / 8;
/** Once full, refused requests come in again only when the state is back under this share of the budget. */
const REOPEN_SHARE = 0.9;
/** A refused run is told to wait this long per ticket ahead of it, within the bounds below. */
const RETRY_MS_PER_TICKET = 10;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 300_000;

/** UTF-8 bytes of `text` as JSON writes it (an escaped control character counts 6). */
function textBytes(text: string | undefined): number {
  if (text === undefined) return 0;
  let bytes = 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c) bytes += 6;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else bytes += 3; // a surrogate pair counts 6, JSON writes it as 4 bytes: an over-estimate
  }
  return bytes;
}

/** Field names, separators and numbers of a run entry, rounded up. */
const REF_OVERHEAD = 80;
const RUNNING_OVERHEAD = 90;
const CLOSED_OVERHEAD = 30;
const LAST_GRANT_OVERHEAD = 30;

/** JSON bytes of a waiting entry (an upper bound). */
const queuedBytes = (run: ConcurrencyRunRef): number =>
  REF_OVERHEAD +
  textBytes(run.requestId) +
  textBytes(run.key) +
  textBytes(run.workflowId) +
  textBytes(run.runId) +
  textBytes(run.originalRunId);
/** JSON bytes of a granted entry (an upper bound). */
const runningBytes = (run: ConcurrencyRunningRun): number =>
  queuedBytes(run) + RUNNING_OVERHEAD + textBytes(run.replacedBy);
const closedBytes = (entry: { requestId: string; runId: string }): number =>
  CLOSED_OVERHEAD + textBytes(entry.requestId) + textBytes(entry.runId);
const lastGrantBytes = (key: string): number => LAST_GRANT_OVERHEAD + textBytes(key);

/** Adds `by` to the count of `key`, dropping counts that reach 0. */
function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}
/** One key for a (request id, run id) pair of {@link ConcurrencyGrantState.closed}. */
const pairOf = (requestId: string, runId: string): string => `${requestId}\u0000${runId}`;

/**
 * How a {@link ConcurrencyGrants} keeps its state small enough to carry: at most `maxBytes` of JSON
 * (runs granted and waiting, the round-robin memory, and at most an eighth of it for the memory of
 * ended requests). `enforce` is asked when a request would not fit; `false` lets it in anyway (a
 * controller replaying a history recorded before the budget existed).
 */
export interface GrantStateBudget {
  maxBytes: number;
  enforce: () => boolean;
}

const placeholderPolicy: ConcurrencyPolicy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 };

/**
 * A fresh grant state: nothing granted, nothing waiting.
 *
 * @example
 * ```ts
 * import { ConcurrencyGrants, emptyGrantState } from 'slotwise/internal/workflows/concurrency/grant-state.js';
 * const grants = new ConcurrencyGrants(emptyGrantState({ strategy: 'CANCEL_NEWEST', maxRuns: 2 }));
 * grants.idle; // => true
 * ```
 */
export function emptyGrantState(policy: ConcurrencyPolicy = placeholderPolicy): ConcurrencyGrantState {
  return {
    policy: { ...policy },
    running: [],
    queued: [],
    lastGrant: [],
    stats: { granted: 0, released: 0, cancelled: 0, rejected: 0, reclaimed: 0 },
  };
}

const refOf = ({ requestId, key, workflowId, runId, originalRunId }: ConcurrencyRunRef): ConcurrencyRunRef =>
  originalRunId === undefined
    ? { requestId, key, workflowId, runId }
    : { requestId, key, workflowId, runId, originalRunId };

/**
 * The grant logic of one concurrency group, with no I/O and no clock of its own: given requests
 * and releases it decides which runs hold a grant, which wait, and which must be cancelled or
 * refused, and returns those decisions as {@link ConcurrencyEffect}s for the controller workflow to
 * carry out. Deterministic, so it runs unchanged inside the workflow sandbox and in property tests.
 * No decision reads a clock: `now` is only recorded (`grantedAt`, for the state query), and the age of
 * a grant is counted in controller ticks (recorded timer firings), which replay identically.
 *
 * - Waiting runs are granted while their key has fewer than `maxRuns` and the group fewer than
 *   `groupMaxRuns` grants; among keys that have room, the key granted longest ago (never-granted
 *   keys first, by their oldest request) goes next, one grant per turn: round-robin across keys.
 *   Within a key, oldest request first.
 * - `CANCEL_NEWEST`: a request for a key whose granted plus waiting runs reach `maxRuns` is
 *   refused. `CANCEL_IN_PROGRESS`: the oldest of the key's runs not already being cancelled (granted
 *   ones first, then waiting ones) are cancelled until the new one fits; a cancelled granted run
 *   keeps its grant until it is released, so the key never exceeds its limit.
 *
 * Invariants, under any sequence of calls: at most `maxRuns` runs of a key and at most
 * `groupMaxRuns` runs in all hold a grant; no waiting run could be granted (work-conserving); a
 * run is granted at most once. The state is plain JSON ({@link ConcurrencyGrants.state}) and is
 * mutated in place.
 *
 * @example
 * ```ts
 * import { ConcurrencyGrants } from 'slotwise/internal/workflows/concurrency/grant-state.js';
 * const grants = new ConcurrencyGrants();
 * const policy = { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 1 } as const;
 * const run = (n: number) => ({ requestId: `r${n}`, key: 'a', workflowId: `w${n}`, runId: 'x' });
 * grants.request({ ...run(1), policy }, 0); // => [{ type: 'grant', run: run(1) }]
 * grants.request({ ...run(2), policy }, 0); // => [] (r2 waits)
 * grants.release('r1', 5); // => [{ type: 'grant', run: run(2) }]
 * ```
 */
export class ConcurrencyGrants {
  /** The state, mutated in place; hand it to a continue-as-new as is. */
  readonly state: ConcurrencyGrantState;
  /** The byte budget new requests must fit in; none: every request is taken. */
  budget: GrantStateBudget | undefined;
  /** JSON bytes (an upper bound) of the granted and waiting runs and the round-robin memory. */
  private entryBytes = 0;
  /** JSON bytes (an upper bound) of {@link ConcurrencyGrantState.closed}. */
  private closedBytes = 0;
  // Indexes of the state's lists, kept as they change and rebuilt from a carried state (never
  // carried): lookups by request id and key without walking the lists, so a decision costs the same
  // whether a group has ten runs and keys or thousands.
  private readonly runningById = new Map<string, ConcurrencyRunningRun>();
  private readonly queuedById = new Map<string, ConcurrencyRunRef>();
  private readonly runningPerKeyCount = new Map<string, number>();
  /** Waiting runs per key, oldest first (the same objects as in the state's list). */
  private readonly queuedPerKey = new Map<string, ConcurrencyRunRef[]>();
  /** Position of each waiting run in request order: the round-robin tie-break between keys. */
  private readonly queueOrder = new WeakMap<ConcurrencyRunRef, number>();
  private nextQueueOrder = 0;
  private readonly lastGrantByKey = new Map<string, { key: string; grant: number }>();
  private readonly closedPairs = new Map<string, number>();

  /** Starts from `state` (taken over, not copied), or from an empty state. */
  constructor(state?: ConcurrencyGrantState, budget?: GrantStateBudget) {
    this.state = state ?? emptyGrantState();
    this.budget = budget;
    for (const run of this.state.running) this.trackRunning(run);
    for (const run of this.state.queued) this.trackQueued(run);
    for (const entry of this.state.lastGrant) this.trackLastGrant(entry);
    for (const entry of this.state.closed ?? []) this.countClosed(entry, 1);
  }

  /**
   * JSON bytes the state's lists take (an upper bound, kept as they change): what a continue-as-new
   * carries, apart from a few hundred bytes of policy and counters.
   */
  get bytes(): number {
    return this.entryBytes + this.closedBytes;
  }

  /** No run holds a grant and none waits. */
  get idle(): boolean {
    return this.state.running.length === 0 && this.state.queued.length === 0;
  }

  /** How many runs of `key` hold a grant (including ones asked to cancel). */
  runningFor(key: string): number {
    return this.runningPerKeyCount.get(key) ?? 0;
  }

  /** How many runs of `key` wait for a grant. */
  queuedFor(key: string): number {
    return this.queuedPerKey.get(key)?.length ?? 0;
  }

  /** Runs holding a grant, per key. */
  runningPerKey(): Record<string, number> {
    return Object.fromEntries(this.runningPerKeyCount);
  }

  /** The run holding a grant under `requestId`, if any. */
  findRunning(requestId: string): ConcurrencyRunningRun | undefined {
    return this.runningById.get(requestId);
  }

  /**
   * Applies a new request; `now` (epoch ms, recorded as `grantedAt` only) and `tick` (the controller's
   * tick count, the grant's age is measured in ticks) are the times of any grant it causes. The
   * request's policy becomes the group's.
   *
   * A request already granted or waiting (same `requestId`) is a re-attach: the run may have moved
   * (a reset gives a workflow a new run id for the same requests), so its run id is updated, and a
   * granted run is told again (a `grant` effect, or `cancel` when it is being replaced), because the
   * new run may never have seen the first answer. Nothing else changes. A request that already
   * ended for the same run (see {@link ConcurrencyGrantState.closed}) is ignored.
   */
  request(request: ConcurrencyRequest, now: number, tick = 0): ConcurrencyEffect[] {
    const { state } = this;
    const running = this.runningById.get(request.requestId);
    const queued = running ? undefined : this.queuedById.get(request.requestId);
    if (running || queued) {
      const run = (running ?? queued)!;
      this.resize(run, running !== undefined, () => {
        run.workflowId = request.workflowId;
        run.runId = request.runId;
        if (request.originalRunId !== undefined) run.originalRunId = request.originalRunId;
      });
      return running ? [this.answerOf(running)] : [];
    }
    if (this.isClosed(request)) return []; // a late repeat: this run has had its turn
    const run = refOf(request);
    const full = request.acceptsFull === true ? this.refuseForRoom(run, request.ticket) : undefined;
    if (full) return [full];
    state.policy = { ...request.policy };
    const { strategy, maxRuns } = state.policy;
    const effects: ConcurrencyEffect[] = [];
    if (strategy === 'CANCEL_NEWEST') {
      const taken = this.runningFor(run.key) + this.queuedFor(run.key);
      if (taken >= maxRuns) {
        state.stats.rejected++;
        const reason = `key ${JSON.stringify(run.key)} already has ${taken} of ${maxRuns} runs (CANCEL_NEWEST)`;
        return [{ type: 'reject', run, reason }];
      }
    } else if (strategy === 'CANCEL_IN_PROGRESS') {
      // The key's runs not already on their way out, oldest first: granted ones were granted before
      // any waiting one asked.
      const live: Array<{ run: ConcurrencyRunRef; granted?: ConcurrencyRunningRun }> = [
        ...state.running
          .filter((r) => r.key === run.key && !r.cancelRequested)
          .map((r) => ({ run: r, granted: r })),
        ...(this.queuedPerKey.get(run.key) ?? []).map((r) => ({ run: r })),
      ];
      while (live.length >= maxRuns) {
        const victim = live.shift()!;
        state.stats.cancelled++;
        const granted = victim.granted;
        if (granted) {
          this.resize(granted, true, () => {
            granted.cancelRequested = true;
            granted.replacedBy = run.workflowId;
          });
        } else this.dequeue(victim.run.requestId);
        effects.push({ type: 'cancel', run: refOf(victim.run), queued: !victim.granted, by: run.workflowId });
      }
    }
    state.queued.push(run);
    this.trackQueued(run);
    effects.push(...this.schedule(now, tick));
    return effects;
  }

  /**
   * A `full` effect when `run` is not let in: its entry (granted, the larger kind) and a round-robin
   * entry for a new key would pass the budget, or runs refused before it still wait for room and
   * its `ticket` is not among those let in. Tickets keep the order of refusals: once the state is back
   * under {@link REOPEN_SHARE} of the budget, every ticket given so far may come in, and requests
   * without one queue behind them (given the next tickets).
   */
  private refuseForRoom(run: ConcurrencyRunRef, ticket: number | undefined): ConcurrencyEffect | undefined {
    const { budget, state } = this;
    if (budget === undefined) return undefined;
    const overflow = state.overflow;
    this.reopen();
    const held = ticket !== undefined && overflow !== undefined && ticket <= overflow.issued;
    const inTurn = held
      ? ticket <= overflow.admitted
      : overflow === undefined || overflow.issued === overflow.admitted;
    const newKey = !this.lastGrantByKey.has(run.key);
    const cost = queuedBytes(run) + RUNNING_OVERHEAD + (newKey ? lastGrantBytes(run.key) : 0);
    if (inTurn && this.entryBytes + cost <= this.entryLimit()) return undefined;
    if (!budget.enforce()) {
      this.budget = undefined; // replaying a run from before the budget: it took every request
      return undefined;
    }
    state.overflow ??= { issued: 0, admitted: 0 };
    const place = held ? ticket : ++state.overflow.issued;
    state.stats.full = (state.stats.full ?? 0) + 1;
    const reason =
      `the controller's state is full (${this.bytes} of ${budget.maxBytes} bytes, \`controller.maxStateBytes\`): ` +
      `granted ${state.running.length}, waiting ${state.queued.length}`;
    // Runs far back in line ask again later: the line as a whole asks about 100 times a second at most.
    const ahead = place - state.overflow.admitted;
    const retryAfterMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, ahead * RETRY_MS_PER_TICKET));
    return { type: 'full', run, ticket: place, retryAfterMs, reason };
  }

  /** The bytes granted and waiting runs may take: the budget less the share kept for ended requests. */
  private entryLimit(): number {
    return this.budget === undefined ? Number.POSITIVE_INFINITY : this.budget.maxBytes * (1 - CLOSED_SHARE);
  }

  /** Lets in every ticket given so far once the state is back under {@link REOPEN_SHARE} of its room. */
  private reopen(): void {
    const overflow = this.state.overflow;
    if (overflow === undefined || overflow.admitted === overflow.issued) return;
    if (this.entryBytes <= this.entryLimit() * REOPEN_SHARE) overflow.admitted = overflow.issued;
  }

  /** Applies `change` to a granted (`running`) or waiting entry, keeping the byte count. */
  private resize(run: ConcurrencyRunRef, running: boolean, change: () => void): void {
    const size = () => (running ? runningBytes(run as ConcurrencyRunningRun) : queuedBytes(run));
    this.entryBytes -= size();
    change();
    this.entryBytes += size();
  }

  /**
   * What a granted run must be told (again): `grant`, or `cancel` once it is being replaced. For a
   * run that moved to a new run id or whose answer could not be delivered.
   */
  answerOf(run: ConcurrencyRunningRun): ConcurrencyEffect {
    return run.cancelRequested
      ? { type: 'cancel', run: refOf(run), queued: false, by: run.replacedBy ?? '' }
      : { type: 'grant', run: refOf(run) };
  }

  /**
   * Records that the run holding or waiting for `requestId` continues as `runId` (its workflow was
   * reset); returns what the new run must be told. Unknown ids are a no-op.
   */
  moveRun(requestId: string, runId: string): ConcurrencyEffect[] {
    const running = this.runningById.get(requestId);
    const queued = running ? undefined : this.queuedById.get(requestId);
    if (running) this.resize(running, true, () => (running.runId = runId));
    if (queued) this.resize(queued, false, () => (queued.runId = runId));
    return running ? [this.answerOf(running)] : [];
  }

  /**
   * Frees the grant (or drops the waiting request) under `requestId` at workflow time `now`, and
   * grants what can now run. `reclaimed` marks a run the controller found closed. Unknown ids are a
   * no-op, so releases are idempotent.
   */
  release(requestId: string, now: number, reclaimed = false, tick = 0): ConcurrencyEffect[] {
    const { state } = this;
    const held = this.runningById.get(requestId);
    if (held) {
      const [run] = state.running.splice(state.running.indexOf(held), 1);
      this.untrackRunning(held);
      this.close(run!);
      state.stats.released++;
      if (reclaimed) state.stats.reclaimed++;
      this.forgetIfInactive(run!.key);
      return this.schedule(now, tick);
    }
    this.dequeue(requestId);
    return [];
  }

  /**
   * Runs that have held their grant through at least one whole tick at tick `tick` (granted at tick
   * `tick - 2` or earlier): the ones worth checking for a closed workflow. Counted in ticks, never in
   * milliseconds, so the answer is the same on replay.
   */
  checkTargets(tick: number): ConcurrencyRunRef[] {
    return this.state.running.filter((run) => (run.grantedTick ?? 0) <= tick - 2).map(refOf);
  }

  /** Grants waiting runs, one per turn, to the key with room that was granted longest ago. */
  private schedule(now: number, tick: number): ConcurrencyEffect[] {
    const { state } = this;
    const { maxRuns, groupMaxRuns } = state.policy;
    const running = this.runningPerKeyCount;
    const lastGrant = this.lastGrantByKey;
    const effects: ConcurrencyEffect[] = [];
    while (state.queued.length > 0 && (groupMaxRuns === undefined || state.running.length < groupMaxRuns)) {
      // Only a key's oldest request competes: the key served longest ago wins, and among keys never
      // served (or tied), the one whose oldest request came first.
      let best: { run: ConcurrencyRunRef; served: number; order: number } | undefined;
      for (const [key, waiting] of this.queuedPerKey) {
        if ((running.get(key) ?? 0) >= maxRuns) continue;
        const first = waiting[0]!;
        const served = lastGrant.get(key)?.grant ?? -1;
        const order = this.queueOrder.get(first)!;
        if (best === undefined || served < best.served || (served === best.served && order < best.order))
          best = { run: first, served, order };
      }
      if (best === undefined) break;
      const [run] = state.queued.splice(state.queued.indexOf(best.run), 1);
      const { key } = run!;
      this.untrackQueued(run!);
      const granted = { ...run!, grantedAt: now, grantedTick: tick, cancelRequested: false };
      state.running.push(granted);
      this.trackRunning(granted);
      state.stats.granted++;
      const last = lastGrant.get(key);
      if (last) last.grant = state.stats.granted;
      else {
        const entry = { key, grant: state.stats.granted };
        state.lastGrant.push(entry);
        this.trackLastGrant(entry);
      }
      effects.push({ type: 'grant', run: run! });
    }
    return effects;
  }

  // What goes into or out of one of the state's lists goes into or out of its indexes and the byte
  // count here, and only here.

  /** A run just appended to the waiting list. */
  private trackQueued(run: ConcurrencyRunRef): void {
    this.queuedById.set(run.requestId, run);
    const waiting = this.queuedPerKey.get(run.key);
    if (waiting) waiting.push(run);
    else this.queuedPerKey.set(run.key, [run]);
    this.queueOrder.set(run, this.nextQueueOrder++);
    this.entryBytes += queuedBytes(run);
  }

  /** A run just taken out of the waiting list. */
  private untrackQueued(run: ConcurrencyRunRef): void {
    this.queuedById.delete(run.requestId);
    const waiting = this.queuedPerKey.get(run.key)!;
    waiting.splice(waiting.indexOf(run), 1);
    if (waiting.length === 0) this.queuedPerKey.delete(run.key);
    this.entryBytes -= queuedBytes(run);
  }

  /** A run just appended to the granted list. */
  private trackRunning(run: ConcurrencyRunningRun): void {
    this.runningById.set(run.requestId, run);
    bump(this.runningPerKeyCount, run.key, 1);
    this.entryBytes += runningBytes(run);
  }

  /** A run just taken out of the granted list. */
  private untrackRunning(run: ConcurrencyRunningRun): void {
    this.runningById.delete(run.requestId);
    bump(this.runningPerKeyCount, run.key, -1);
    this.entryBytes -= runningBytes(run);
  }

  /** An entry just appended to the round-robin memory. */
  private trackLastGrant(entry: { key: string; grant: number }): void {
    this.lastGrantByKey.set(entry.key, entry);
    this.entryBytes += lastGrantBytes(entry.key);
  }

  /** An entry just appended to (`1`) or about to be dropped from (`-1`) the memory of ended requests. */
  private countClosed(entry: { requestId: string; runId: string }, sign: 1 | -1): void {
    bump(this.closedPairs, pairOf(entry.requestId, entry.runId), sign);
    this.closedBytes += sign * closedBytes(entry);
  }

  private dequeue(requestId: string): void {
    const { state } = this;
    const waiting = this.queuedById.get(requestId);
    if (waiting === undefined) return;
    const [run] = state.queued.splice(state.queued.indexOf(waiting), 1);
    this.untrackQueued(waiting);
    this.close(run!);
    this.forgetIfInactive(run!.key);
  }

  /**
   * Remembers that `run`'s request ended, keeping the last {@link CLOSED_KEPT}, and with a budget no
   * more than {@link CLOSED_SHARE} of it.
   */
  private close(run: ConcurrencyRunRef): void {
    this.state.closed ??= [];
    const { closed } = this.state;
    const entry = { requestId: run.requestId, runId: run.runId };
    closed.push(entry);
    this.countClosed(entry, 1);
    const limit = this.budget === undefined ? Number.POSITIVE_INFINITY : this.budget.maxBytes * CLOSED_SHARE;
    let drop = 0;
    while (closed.length - drop > CLOSED_KEPT || (this.closedBytes > limit && drop < closed.length - 1)) {
      this.countClosed(closed[drop]!, -1);
      drop++;
    }
    if (drop > 0) closed.splice(0, drop);
    this.reopen();
  }

  private isClosed(request: ConcurrencyRunRef): boolean {
    return this.closedPairs.has(pairOf(request.requestId, request.runId));
  }

  /** Drops the round-robin memory of a key with nothing granted or waiting, keeping the state bounded. */
  private forgetIfInactive(key: string): void {
    if (this.runningPerKeyCount.has(key) || this.queuedPerKey.has(key)) return;
    const entry = this.lastGrantByKey.get(key);
    if (entry === undefined) return;
    this.state.lastGrant.splice(this.state.lastGrant.indexOf(entry), 1);
    this.lastGrantByKey.delete(key);
    this.entryBytes -= lastGrantBytes(key);
  }
}
