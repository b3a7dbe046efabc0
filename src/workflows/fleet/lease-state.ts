import {
  FLEET_CLOCK_GAP_TICKS,
  FLEET_EXPIRE_TICKS,
  FLEET_ROTATE_TICKS,
  FLEET_TICKS_PER_TTL,
  type FleetHolder,
  type FleetHolderSnapshot,
  type FleetKnown,
  type FleetLeaseState,
  type FleetSyncRequest,
} from './types.js';

/** How many departed holders the state remembers at most (oldest forgotten first). */
const MAX_DEPARTED = 256;
/** Ticks a departed holder is remembered: longer than any request of it can be in flight. */
const DEPARTED_TICKS = 2 * FLEET_TICKS_PER_TTL;

/**
 * A fresh lease state: `slots` leases, none held.
 *
 * @example
 * ```ts
 * import { emptyFleetState, FleetLeases } from 'slotwise/internal/workflows/fleet/lease-state.js';
 * new FleetLeases(emptyFleetState('licensed-api', 5)).leased; // => 0
 * ```
 */
export function emptyFleetState(fleet: string, slots: number): FleetLeaseState {
  return {
    fleet,
    slots,
    tick: 0,
    grants: 0,
    rotation: 0,
    bonus: [],
    nextOrder: 0,
    holders: [],
    departed: [],
    stats: { granted: 0, returned: 0, expired: 0, expiredHolders: 0, syncs: 0, slotChanges: 0 },
  };
}

/** Options of {@link FleetLeases}. */
export interface FleetLeasesOptions {
  /**
   * Expire by the lease clock ({@link FleetLeaseClock}) with ticks of this many milliseconds: a
   * holder is dropped at the first tick {@link FLEET_EXPIRE_TICKS} ticks of clock time after its
   * last renewal, and the remainder of an uneven fair split moves on every
   * {@link FLEET_ROTATE_TICKS} ticks. Without it (runs that started before the lease clock), a
   * holder is dropped after {@link FLEET_TICKS_PER_TTL} ticks, however long they took, and the
   * remainder moves on every tick.
   */
  tickMs?: number;
}

/** The outcome of {@link FleetLeases.sync}. */
export interface FleetSyncOutcome {
  /** The request was older than one already applied for its holder (or the holder left since): nothing changed but the renewal. */
  stale: boolean;
}

/**
 * The lease logic of one fleet, with no I/O and no clock: given holders' requests, manager ticks and
 * size changes, it decides who holds how many of the fleet's `slots` leases. Deterministic, so it
 * runs unchanged inside the lease manager workflow and in property tests; time exists only as the
 * count of ticks the manager fired.
 *
 * - Demand and keep: each request says how many leases the holder wants in all (`want`) and how many
 *   it keeps at most (`hold`); what it holds beyond `hold` comes back at once. Requests are
 *   absolute, so a lost answer or a retried request changes nothing twice; a request older than one
 *   already applied (by `seq`) changes nothing.
 * - Grants: free leases go one at a time to holders below their target, the one served longest ago
 *   first (round-robin across holders). The target is the holder's demand while everyone's demand
 *   fits in `slots`; otherwise (contended) its max-min fair share of `slots` over all demands, the
 *   remainder of an uneven split rotating one holder further each tick.
 * - Ahead: a holder whose demand grows may ask for `extra` leases beyond it. While not contended,
 *   leases still free after every target was met go to those holders, up to demand + extra, while
 *   the extras held in all stay within half of the leases no holder demands. Extras are never
 *   demand: they do not make the fleet contended nor change a fair share, and once it is contended
 *   the holder's cap (its share of the demands) sends them back.
 * - Caps: while contended, a holder above its share is told (its `cap`) and gives leases back as
 *   their permits are released. The manager never takes back leases a holder may be using, except
 *   by expiry.
 * - Expiry: every request renews its holder. A holder not renewed for {@link FLEET_EXPIRE_TICKS}
 *   ticks of lease-clock time (given `tickMs` and the workflow time of each call), else for
 *   {@link FLEET_TICKS_PER_TTL} ticks counted, is dropped with its leases at the next tick.
 *
 * Invariants, under any sequence of calls: leases are granted only while fewer than `slots` are
 * held (so more than `slots` are held only after `slots` was lowered, and then no grant happens
 * until enough came back); no holder gets more than its target, except extras from leases no target
 * claims; no holder waits while a lease is
 * free (work-conserving). The state is plain JSON ({@link FleetLeases.state}) and is mutated in place.
 *
 * @example
 * ```ts
 * import { emptyFleetState, FleetLeases } from 'slotwise/internal/workflows/fleet/lease-state.js';
 * const leases = new FleetLeases(emptyFleetState('api', 5));
 * leases.sync({ holderId: 'a', seq: 1, want: 4, hold: 4, wait: false });
 * leases.sync({ holderId: 'b', seq: 1, want: 4, hold: 4, wait: false });
 * [leases.find('a')!.held, leases.find('b')!.held]; // => [4, 1]
 * [leases.capOf('a'), leases.capOf('b')]; // => [3, 2] (a gives one back as soon as it frees one)
 * ```
 */
export class FleetLeases {
  /** The state, mutated in place; hand it to a continue-as-new as is. */
  readonly state: FleetLeaseState;

  readonly #tickMs: number | undefined;

  /** Starts from `state` (taken over, not copied). */
  constructor(state: FleetLeaseState, options: FleetLeasesOptions = {}) {
    this.state = state;
    this.#tickMs = options.tickMs;
  }

  /** Leases held by all holders. */
  get leased(): number {
    let sum = 0;
    for (const holder of this.state.holders) sum += holder.held;
    return sum;
  }

  /**
   * More is wanted or held than `slots`: someone waits, or holds spare leases someone else wants, or
   * `slots` was lowered below what is held. Holders are capped at their fair share then.
   */
  get contended(): boolean {
    let sum = 0;
    for (const holder of this.state.holders) sum += Math.max(this.#demand(holder), holder.held);
    return sum > this.state.slots;
  }

  /** Leases holders wait for: below their target (demand, or fair share while contended). */
  get waiting(): number {
    const targets = this.targets();
    let sum = 0;
    for (const holder of this.state.holders) sum += Math.max(0, targets.get(holder.id)! - holder.held);
    return sum;
  }

  /** The holder `id`, if the manager knows it. */
  find(id: string): FleetHolder | undefined {
    return this.state.holders.find((holder) => holder.id === id);
  }

  /** The `seq` of the last request applied for holder `id` (also after it left), or -1. */
  seqOf(id: string): number {
    return this.find(id)?.seq ?? this.state.departed.find((d) => d.id === id)?.seq ?? -1;
  }

  /** The most leases holder `id` may keep now: its fair share while contended, else `null` (no cap). */
  capOf(id: string): number | null {
    if (!this.contended) return null;
    return this.shares().get(id) ?? 0;
  }

  /**
   * Applies a holder's request: renews it, records its demand, takes back what it holds beyond
   * `hold`, applies `slots` when given, and grants what can be granted. A holder that holds and
   * wants nothing is forgotten (remembered as departed, so a late request of it changes nothing).
   */
  sync(request: FleetSyncRequest, now?: number): FleetSyncOutcome {
    const { state } = this;
    state.stats.syncs++;
    const departedAt = state.departed.findIndex((d) => d.id === request.holderId);
    if (departedAt >= 0) {
      if (request.seq <= state.departed[departedAt]!.seq) return { stale: true };
      state.departed.splice(departedAt, 1);
    }
    let holder = this.find(request.holderId);
    if (holder === undefined) {
      if (request.want === 0 && request.hold === 0) {
        if (request.slots !== undefined) this.setSlots(request.slots);
        return { stale: false };
      }
      holder = {
        id: request.holderId,
        label: request.label ?? request.holderId,
        held: 0,
        want: 0,
        seq: -1,
        renewedAt: state.tick,
        servedAt: -1,
        order: state.nextOrder++,
      };
      state.holders.push(holder);
    }
    holder.renewedAt = state.tick;
    const reading = this.#clockReading(now);
    if (reading !== undefined) holder.renewedAtMs = reading;
    if (request.seq <= holder.seq) return { stale: true };
    holder.seq = request.seq;
    if (request.label !== undefined) holder.label = request.label;
    holder.want = request.want;
    if (request.extra) holder.extra = request.extra;
    else delete holder.extra;
    if (request.hold < holder.held) {
      state.stats.returned += holder.held - request.hold;
      holder.held = request.hold;
    }
    if (request.slots !== undefined && request.slots !== state.slots) {
      state.slots = request.slots;
      state.stats.slotChanges++;
    }
    this.schedule();
    if (holder.held === 0 && holder.want === 0) this.#depart(holder);
    return { stale: false };
  }

  /** Sets the fleet size. Leases held are kept; a smaller size stops grants until enough come back. */
  setSlots(slots: number): void {
    if (slots === this.state.slots) return;
    this.state.slots = slots;
    this.state.stats.slotChanges++;
    this.schedule();
  }

  /**
   * One manager tick at workflow time `now`: advances the lease clock, drops the holders not renewed
   * in time (their leases return), rotates the remainder of an uneven fair split, and grants.
   * Returns the holders dropped, with the leases they held.
   */
  tick(now?: number): Array<{ id: string; label: string; held: number }> {
    const { state } = this;
    state.tick++;
    const reading = this.#clockReading(now);
    if (reading !== undefined) state.clock = { ms: reading, tickAt: now! };
    const expired: Array<{ id: string; label: string; held: number }> = [];
    for (const holder of [...state.holders]) {
      if (!this.#lapsed(holder)) continue;
      expired.push({ id: holder.id, label: holder.label, held: holder.held });
      state.stats.expired += holder.held;
      state.stats.expiredHolders++;
      this.#depart(holder);
    }
    state.departed = state.departed.filter((d) => state.tick - d.at < DEPARTED_TICKS);
    // Round-robin of an uneven split's remainder: the holder that has had it longest passes it on to
    // the next one in join order (on the lease clock once every FLEET_ROTATE_TICKS ticks).
    const split = this.#split();
    const rotates = this.#tickMs === undefined || state.tick % FLEET_ROTATE_TICKS === 0;
    if (rotates && split !== null && split.remainder > 0 && split.above.length > split.remainder) {
      const bonus = this.#bonusFor(split);
      const passing = this.find(bonus[0]!)!;
      state.bonus = bonus.slice(1);
      state.rotation = passing.order + 1;
    }
    this.schedule();
    return expired;
  }

  /**
   * What each holder aims to hold: its demand (`want`, at most `slots`) while everyone's demand fits,
   * else its max-min fair share of `slots`.
   */
  targets(): Map<string, number> {
    if (this.contended) return this.shares();
    return new Map(this.state.holders.map((holder) => [holder.id, this.#demand(holder)]));
  }

  /**
   * Max-min fair shares of `slots` over the holders' demands: every holder gets its demand or the
   * common level, whichever is less; the leases left by an uneven split go one each to holders
   * above the level: those that had one keep it (so small changes of demand move nothing), the
   * others are picked in join order from the rotation point, which each contended tick advances.
   */
  shares(): Map<string, number> {
    const { holders } = this.state;
    const split = this.#split();
    if (split === null) return new Map(holders.map((holder) => [holder.id, this.#demand(holder)]));
    const shares = new Map(holders.map((holder) => [holder.id, Math.min(this.#demand(holder), split.level)]));
    for (const id of this.#bonusFor(split)) shares.set(id, shares.get(id)! + 1);
    return shares;
  }

  /** Whether holder `id` is told exactly what `known` says (held, cap, fleet size). */
  matches(id: string, known: FleetKnown | undefined): boolean {
    const holder = this.find(id);
    if (known === undefined || holder === undefined) return false;
    return holder.held === known.held && this.capOf(id) === known.cap && this.state.slots === known.slots;
  }

  /** A string that changes whenever what holder `id` is told changes (held, cap, fleet size). */
  viewKey(id: string): string {
    const holder = this.find(id);
    return holder === undefined
      ? `gone|${this.state.slots}`
      : `${holder.held}|${this.capOf(id)}|${this.state.slots}`;
  }

  /** The holders as the state query shows them. */
  holderSnapshots(): FleetHolderSnapshot[] {
    const contended = this.contended;
    const shares = contended ? this.shares() : undefined;
    return this.state.holders.map((holder) => ({
      id: holder.id,
      label: holder.label,
      held: holder.held,
      want: holder.want,
      cap: shares ? shares.get(holder.id)! : null,
      ticksSinceRenewal: this.state.tick - holder.renewedAt,
    }));
  }

  /**
   * Grants free leases one at a time to holders below their target, the one served longest ago
   * first; then, while not contended, what is still free to holders that asked for `extra`, the same
   * way, up to demand + extra and within half of the leases nobody demands.
   */
  private schedule(): void {
    const { state } = this;
    const split = this.#split();
    state.bonus = split === null ? [] : this.#bonusFor(split);
    const targets = this.targets();
    const free = this.#grantUpTo(targets, state.slots - this.leased);
    if (free <= 0 || this.contended || !state.holders.some((h) => h.extra)) return;
    // Extras take at most half of the leases no holder demands, so another holder's demand can grow
    // by the other half without making the fleet contended (which would cap the holder of the extras
    // and cost the grower a round trip while they come back).
    let demanded = 0;
    let extrasHeld = 0;
    for (const holder of state.holders) {
      const demand = this.#demand(holder);
      demanded += demand;
      extrasHeld += Math.max(0, holder.held - demand);
    }
    const room = Math.floor((state.slots - demanded) / 2) - extrasHeld;
    if (room <= 0) return;
    const ahead = new Map(
      state.holders.map((h) => [h.id, Math.min(state.slots, this.#demand(h) + (h.extra ?? 0))]),
    );
    this.#grantUpTo(ahead, Math.min(free, room));
  }

  /** Grants up to `free` leases to holders below `targets`, round-robin; returns the leases left. */
  #grantUpTo(targets: Map<string, number>, available: number): number {
    const { state } = this;
    let free = available;
    while (free > 0) {
      let next: FleetHolder | undefined;
      for (const holder of state.holders) {
        if (holder.held >= targets.get(holder.id)!) continue;
        if (
          next === undefined ||
          holder.servedAt < next.servedAt ||
          (holder.servedAt === next.servedAt && holder.order < next.order)
        ) {
          next = holder;
        }
      }
      if (next === undefined) break;
      next.held++;
      state.grants++;
      next.servedAt = state.grants;
      state.stats.granted++;
      free--;
    }
    return free;
  }

  /**
   * The lease clock at workflow time `now`: what it counted up to the last tick plus the time since,
   * or one tick for a gap longer than {@link FLEET_CLOCK_GAP_TICKS} ticks (the first reading starts
   * it at 0). `undefined` when the manager does not run on the lease clock.
   */
  #clockReading(now: number | undefined): number | undefined {
    const tickMs = this.#tickMs;
    if (tickMs === undefined || now === undefined) return undefined;
    const clock = this.state.clock;
    if (clock === undefined) {
      this.state.clock = { ms: 0, tickAt: now };
      return 0;
    }
    const gap = Math.max(0, now - clock.tickAt);
    return clock.ms + (gap <= FLEET_CLOCK_GAP_TICKS * tickMs ? gap : tickMs);
  }

  /** Whether `holder` was not renewed in time: by the lease clock when it has a reading, else by ticks counted. */
  #lapsed(holder: FleetHolder): boolean {
    const { clock } = this.state;
    if (this.#tickMs !== undefined && clock !== undefined && holder.renewedAtMs !== undefined) {
      return clock.ms - holder.renewedAtMs >= FLEET_EXPIRE_TICKS * this.#tickMs;
    }
    return this.state.tick - holder.renewedAt >= FLEET_TICKS_PER_TTL;
  }

  #demand(holder: FleetHolder): number {
    return Math.min(holder.want, this.state.slots);
  }

  /** The largest level L with sum(min(demand, L)) <= slots (demands sum to more than slots). */
  #level(demands: number[]): number {
    let low = 0;
    let high = Math.max(...demands);
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const sum = demands.reduce((s, d) => s + Math.min(d, mid), 0);
      if (sum <= this.state.slots) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /**
   * The fair split when demand exceeds `slots`: the common level, how many leases remain, and the
   * holders above the level in join order; `null` when every demand fits.
   */
  #split(): { level: number; remainder: number; above: FleetHolder[] } | null {
    const demands = this.state.holders.map((holder) => this.#demand(holder));
    if (demands.reduce((a, b) => a + b, 0) <= this.state.slots) return null;
    const level = this.#level(demands);
    const remainder = this.state.slots - demands.reduce((sum, d) => sum + Math.min(d, level), 0);
    const above = [...this.state.holders]
      .sort((a, b) => a.order - b.order)
      .filter((holder) => this.#demand(holder) > level);
    return { level, remainder, above };
  }

  /** Who gets the remainder: those that have it and still qualify, then the next in join order from the rotation point. */
  #bonusFor(split: { remainder: number; above: FleetHolder[] }): string[] {
    const eligible = new Set(split.above.map((holder) => holder.id));
    const bonus = this.state.bonus.filter((id) => eligible.has(id)).slice(0, split.remainder);
    const n = split.above.length;
    const first = split.above.findIndex((holder) => holder.order >= this.state.rotation);
    const start = Math.max(first, 0);
    for (let k = 0; k < n && bonus.length < split.remainder; k++) {
      const holder = split.above[(start + k) % n]!;
      if (!bonus.includes(holder.id)) bonus.push(holder.id);
    }
    return bonus;
  }

  #depart(holder: FleetHolder): void {
    const { state } = this;
    state.holders.splice(state.holders.indexOf(holder), 1);
    state.departed.push({ id: holder.id, seq: holder.seq, at: state.tick });
    if (state.departed.length > MAX_DEPARTED) state.departed.splice(0, state.departed.length - MAX_DEPARTED);
  }
}
