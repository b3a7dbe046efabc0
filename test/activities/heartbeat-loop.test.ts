import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActivityContextError } from '../../src/activities/activity-context.js';
import { startHeartbeatLoop, withHeartbeats } from '../../src/activities/heartbeat-loop.js';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { testActivity } from './activity-env.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startHeartbeatLoop', () => {
  it('startHeartbeatLoop() beats at once, then every third of the heartbeatTimeout', () => {
    const activity = testActivity({ heartbeatTimeoutMs: 3000 });
    const loop = activity.run(() => startHeartbeatLoop());
    expect(loop.intervalMs).toBe(1000);
    expect(activity.heartbeats).toHaveLength(1);
    vi.advanceTimersByTime(2999);
    expect(activity.heartbeats).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(activity.heartbeats).toHaveLength(4);
    expect(loop.beats).toBe(4);
    loop.stop();
  });

  it('startHeartbeatLoop() beats every 1000 ms when the activity has no heartbeatTimeout', () => {
    const activity = testActivity();
    const loop = activity.run(() => startHeartbeatLoop());
    expect(loop.intervalMs).toBe(1000);
    vi.advanceTimersByTime(5000);
    expect(activity.heartbeats).toHaveLength(6);
    loop.stop();
  });

  it('startHeartbeatLoop() uses intervalMs when given', () => {
    const activity = testActivity({ heartbeatTimeoutMs: 10_000 });
    const loop = activity.run(() => startHeartbeatLoop({ intervalMs: 250 }));
    vi.advanceTimersByTime(1000);
    expect(activity.heartbeats).toHaveLength(5);
    loop.stop();
  });

  it('startHeartbeatLoop() sends fixed details, or what a details function returns at each beat', () => {
    const fixed = testActivity();
    const loopA = fixed.run(() => startHeartbeatLoop({ details: { step: 'upload' } }));
    vi.advanceTimersByTime(1000);
    expect(fixed.heartbeats).toEqual([{ step: 'upload' }, { step: 'upload' }]);
    loopA.stop();

    const progress = testActivity();
    let done = 0;
    const loopB = progress.run(() => startHeartbeatLoop({ details: () => ({ done: done++ }) }));
    vi.advanceTimersByTime(2000);
    expect(progress.heartbeats).toEqual([{ done: 0 }, { done: 1 }, { done: 2 }]);
    loopB.stop();
  });

  it('startHeartbeatLoop() repeats the last details and logs a warning when the details function throws', () => {
    const activity = testActivity();
    let calls = 0;
    const loop = activity.run(() =>
      startHeartbeatLoop({
        details: () => {
          if (++calls === 2) throw new Error('progress unavailable');
          return calls;
        },
      }),
    );
    vi.advanceTimersByTime(2000);
    expect(activity.heartbeats).toEqual([1, 1, 3]);
    expect(activity.logger.messages('warn')).toEqual([
      'slotwise: heartbeat details function threw; repeating the last details',
    ]);
    loop.stop();
  });

  it('startHeartbeatLoop() stops by itself when the activity is cancelled', () => {
    const activity = testActivity();
    const loop = activity.run(() => startHeartbeatLoop());
    vi.advanceTimersByTime(1000);
    activity.cancel();
    expect(loop.running).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(activity.heartbeats).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('startHeartbeatLoop() sends nothing when the activity is already cancelled', () => {
    const activity = testActivity();
    activity.cancel();
    const loop = activity.run(() => startHeartbeatLoop());
    expect(loop.running).toBe(false);
    expect(activity.heartbeats).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('startHeartbeatLoop() stop() is idempotent and clears the timer', () => {
    const activity = testActivity();
    const loop = activity.run(() => startHeartbeatLoop());
    loop.stop();
    loop.stop();
    vi.advanceTimersByTime(5000);
    expect(activity.heartbeats).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('startHeartbeatLoop() rejects an interval that would let the heartbeat time out', () => {
    const activity = testActivity({ heartbeatTimeoutMs: 2000 });
    expect(() => activity.run(() => startHeartbeatLoop({ intervalMs: 2000 }))).toThrow(
      new SlotwiseOptionsError(
        "startHeartbeatLoop: expected `intervalMs` to be below the activity's heartbeatTimeout (2000 ms), " +
          'got `2000`; the activity would time out between two heartbeats. Leave it out to use 666 ms.',
      ),
    );
  });

  it('startHeartbeatLoop() rejects invalid options with precise messages', () => {
    const activity = testActivity();
    expect(() => activity.run(() => startHeartbeatLoop({ intervalMs: 0 }))).toThrow(
      'startHeartbeatLoop: expected `intervalMs` to be a finite number of milliseconds >= 1, got `0` (number).',
    );
    expect(() => activity.run(() => startHeartbeatLoop({ interval: 5 } as never))).toThrow(
      'startHeartbeatLoop: unknown option `interval`. Did you mean `intervalMs`?',
    );
    expect(vi.getTimerCount()).toBe(0);
  });

  it('startHeartbeatLoop() throws an ActivityContextError outside an activity', () => {
    expect(() => startHeartbeatLoop()).toThrow(ActivityContextError);
  });
});

describe('withHeartbeats', () => {
  it("withHeartbeats() passes the activity's signal, returns the result and stops the loop", async () => {
    const activity = testActivity();
    let seen: AbortSignal | undefined;
    const result = await activity.run(() =>
      withHeartbeats(async (signal) => {
        seen = signal;
        vi.advanceTimersByTime(3000);
        return 'ok';
      }),
    );
    expect(result).toBe('ok');
    expect(seen).toBe(activity.context.cancellationSignal);
    expect(activity.heartbeats).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('withHeartbeats() stops the loop when the work rejects, and passes the rejection on', async () => {
    const activity = testActivity();
    const failure = new Error('boom');
    await expect(
      activity.run(() =>
        withHeartbeats(() => {
          throw failure;
        }),
      ),
    ).rejects.toBe(failure);
    expect(activity.heartbeats).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('withHeartbeats() rejects with an ActivityContextError outside an activity', async () => {
    await expect(withHeartbeats(() => 1)).rejects.toThrow(ActivityContextError);
  });
});
