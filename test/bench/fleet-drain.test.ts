import { describe, expect, it } from 'vitest';
import type { SlotEvent } from '../../bench/lib/fleet/child-protocol.js';
import type { ActivityInterval } from '../../bench/lib/fleet/concurrency-counter.js';
import {
  heldLeases,
  idleOnDryQueues,
  idlePollsAt,
  queueDrains,
  startSkew,
} from '../../bench/lib/fleet/drain.js';

const run = (queue: string, start: number, pid: number): ActivityInterval => ({
  id: `${queue}-work/${start}/1`,
  pid,
  start,
  end: start + 100,
});
const queueOf = (i: ActivityInterval) => i.id.split('/')[0]!.replace(/-work$/, '');

describe('fleet bench drain figures', () => {
  // q0 is started by both processes from the beginning; q1 only later, by process 2.
  const intervals = [
    run('q0', 0, 1),
    run('q0', 0, 2),
    run('q0', 100, 1),
    run('q1', 150, 2),
    run('q0', 200, 2),
    run('q1', 250, 1),
    run('q1', 300, 2),
  ];

  it('queueDrains gives each queue its first and last start and its starts per process', () => {
    expect(queueDrains(intervals, queueOf, ['q0', 'q1', 'q2'], [1, 2])).toEqual([
      { queue: 'q0', first: 0, last: 200, startsByProcess: [2, 2] },
      { queue: 'q1', first: 150, last: 300, startsByProcess: [1, 2] },
    ]);
  });

  it('startSkew is the most starts one queue was ahead of another at any moment', () => {
    // After the start at 100: q0 3, q1 0.
    expect(startSkew(intervals, queueOf, ['q0', 'q1'])).toBe(3);
    // A queue with no start at all stays behind by every start of the others.
    expect(startSkew(intervals, queueOf, ['q0', 'q1', 'q2'])).toBe(4);
  });

  it('idleOnDryQueues counts pollers without a task on a queue after its last start only', () => {
    const events: SlotEvent[] = [
      // q0's last start is at 200: a poll issued at 250 waits until 400, one issued at 100 got a task.
      [100, 'issued', 1, 'q0'],
      [100, 'used', 1, 'q0'],
      [250, 'issued', 1, 'q0'],
      [300, 'used', -1, 'q0'],
      [300, 'issued', -1, 'q0'],
      [400, 'issued', -1, 'q0'],
      // q1 (last start 300): a poll waiting from 200 to 350 waited 50 ms of it after 300.
      [200, 'issued', 1, 'q1'],
      [350, 'issued', -1, 'q1'],
    ];
    const drains = queueDrains(intervals, queueOf, ['q0', 'q1'], [1, 2]);
    const idle = idleOnDryQueues(events, (t) => t, drains, 500);
    expect(idle.get('q0')).toBeCloseTo(150, 10);
    expect(idle.get('q1')).toBeCloseTo(50, 10);
  });

  it('idlePollsAt counts pollers without a task per queue at a moment', () => {
    const events: SlotEvent[] = [
      [10, 'issued', 1, 'q0'],
      [10, 'issued', 1, 'q0'],
      [20, 'used', 1, 'q0'],
      [15, 'issued', 1, 'q2'],
      [40, 'issued', -1, 'q2'],
    ];
    expect(idlePollsAt(events, (t) => t, ['q0', 'q1', 'q2'], 30)).toEqual([1, 0, 1]);
    expect(idlePollsAt(events, (t) => t + 100, ['q0', 'q1', 'q2'], 30)).toEqual([0, 0, 0]);
  });

  it('heldLeases weighs each sample until the next, starting from the one in force at the window start', () => {
    const samples = [
      [0, 1],
      [50, 2],
      [150, 1],
      [400, 0],
    ] as const;
    expect(heldLeases(samples, 100, 300)).toEqual({
      mean: (50 * 2 + 150 * 1) / 200,
      min: 1,
      max: 2,
      samples: 1,
    });
    expect(heldLeases([], 0, 100)).toBeNull();
  });
});
