/**
 * Waiting items grouped by key, served round-robin across the groups that wait and FIFO within a
 * group. This is what keeps one supplier shared by several Workers/task queues fair: a flooded
 * queue gets every other turn at most, never all of them.
 *
 * @example
 * ```ts
 * import { WaiterQueue } from 'slotwise/internal/suppliers/waiter-queue.js';
 * const queue = new WaiterQueue<string>();
 * queue.push('a', 'a1');
 * queue.push('a', 'a2');
 * queue.push('b', 'b1');
 * [queue.shift(), queue.shift(), queue.shift()]; // => ['a1', 'b1', 'a2']
 * ```
 */
export class WaiterQueue<T> {
  readonly #groups = new Map<string, T[]>();
  /** Keys of the groups that have waiters, in the order their next turn comes. */
  readonly #turns: string[] = [];
  #size = 0;

  /** Number of waiting items across all groups. */
  get size(): number {
    return this.#size;
  }

  /** Appends `item` to the end of group `key`. A group that starts waiting takes the last turn. */
  push(key: string, item: T): void {
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = [];
      this.#groups.set(key, group);
      this.#turns.push(key);
    }
    group.push(item);
    this.#size++;
  }

  /** Whether group `key` has waiting items. */
  has(key: string): boolean {
    return this.#groups.has(key);
  }

  /** The item whose turn is next, without removing it. */
  peek(): T | undefined {
    const key = this.#turns[0];
    return key === undefined ? undefined : this.#groups.get(key)?.[0];
  }

  /** The head item of each waiting group, in turn order. */
  heads(): T[] {
    return this.#turns.map((key) => this.#groups.get(key)![0]!);
  }

  /**
   * Puts the turns in key order, starting with the group `offset` places on (cyclically): the
   * round-robin then goes round the groups in key order from there (a group that starts waiting
   * later still takes the last turn). Key order does not depend on the order in which the groups
   * started waiting.
   */
  startAt(offset: number): void {
    const turns = this.#turns;
    if (turns.length < 2) return;
    const sorted = [...turns].sort();
    const at = ((offset % sorted.length) + sorted.length) % sorted.length;
    turns.splice(0, turns.length, ...sorted.slice(at), ...sorted.slice(0, at));
  }

  /** Removes and returns the item whose turn is next; its group moves to the back of the turns. */
  shift(): T | undefined {
    const key = this.#turns.shift();
    if (key === undefined) return undefined;
    const group = this.#groups.get(key)!;
    const item = group.shift();
    this.#size--;
    if (group.length > 0) this.#turns.push(key);
    else this.#groups.delete(key);
    return item;
  }

  /**
   * Removes the head `item` of group `key` as if it were served: its group moves to the back of the
   * turns (or leaves them when emptied). Returns whether it was that group's head.
   */
  take(key: string, item: T): boolean {
    const group = this.#groups.get(key);
    if (group === undefined || group[0] !== item) return false;
    group.shift();
    this.#size--;
    this.#turns.splice(this.#turns.indexOf(key), 1);
    if (group.length > 0) this.#turns.push(key);
    else this.#groups.delete(key);
    return true;
  }

  /** Removes `item` from group `key`; returns whether it was there. Turn order of others is kept. */
  remove(key: string, item: T): boolean {
    const group = this.#groups.get(key);
    const index = group?.indexOf(item) ?? -1;
    if (group === undefined || index < 0) return false;
    group.splice(index, 1);
    this.#size--;
    if (group.length === 0) {
      this.#groups.delete(key);
      this.#turns.splice(this.#turns.indexOf(key), 1);
    }
    return true;
  }

  /** Every waiting item, in no particular order. */
  *values(): IterableIterator<T> {
    for (const group of this.#groups.values()) yield* group;
  }

  /** Number of waiting items per group key. */
  countsByKey(): Map<string, number> {
    return new Map([...this.#groups].map(([key, group]) => [key, group.length]));
  }
}
