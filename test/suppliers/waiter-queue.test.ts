import { describe, expect, it } from 'vitest';
import { WaiterQueue } from '../../src/suppliers/waiter-queue.js';

describe('WaiterQueue', () => {
  it('shift() serves groups round-robin and FIFO within a group', () => {
    const queue = new WaiterQueue<string>();
    for (const item of ['a1', 'a2', 'a3', 'b1', 'c1', 'c2']) queue.push(item[0]!, item);
    const out: string[] = [];
    while (queue.size > 0) out.push(queue.shift()!);
    expect(out).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
    expect(queue.shift()).toBeUndefined();
  });

  it('push() puts a group that starts waiting at the back of the turns', () => {
    const queue = new WaiterQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    expect(queue.shift()).toBe('a1');
    queue.push('b', 'b1');
    expect([queue.shift(), queue.shift()]).toEqual(['a2', 'b1']);
  });

  it('remove() drops one item and an emptied group, keeping the others in turn', () => {
    const queue = new WaiterQueue<string>();
    for (const item of ['a1', 'b1', 'c1', 'c2']) queue.push(item[0]!, item);
    expect(queue.remove('b', 'b1')).toBe(true);
    expect(queue.remove('b', 'b1')).toBe(false);
    expect(queue.remove('z', 'z1')).toBe(false);
    expect(queue.size).toBe(3);
    expect(queue.countsByKey()).toEqual(
      new Map([
        ['a', 1],
        ['c', 2],
      ]),
    );
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(['a1', 'c1', 'c2']);
  });

  it('startAt() puts the groups in key order from the one that many places on, whatever order they came in', () => {
    const queue = new WaiterQueue<string>();
    for (const item of ['c1', 'a1', 'a2', 'b1']) queue.push(item[0]!, item);
    queue.startAt(1);
    expect(queue.heads()).toEqual(['b1', 'c1', 'a1']);
    queue.startAt(5); // 5 places over 3 groups: c
    expect(queue.heads()).toEqual(['c1', 'a1', 'b1']);
    queue.push('0', '01'); // starts waiting later: last turn
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([
      'c1',
      'a1',
      'b1',
      '01',
      'a2',
    ]);
  });

  it('peek() returns the next item without removing it', () => {
    const queue = new WaiterQueue<number>();
    expect(queue.peek()).toBeUndefined();
    queue.push('x', 1);
    expect(queue.peek()).toBe(1);
    expect(queue.size).toBe(1);
    expect([...queue.values()]).toEqual([1]);
  });
});
