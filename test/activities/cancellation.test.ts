import { CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ActivityContextError } from '../../src/activities/activity-context.js';
import {
  cancellationSignal,
  isCancellation,
  isCancelled,
  throwIfCancelled,
} from '../../src/activities/cancellation.js';
import { testActivity } from './activity-env.js';

const abortError = (cause?: unknown) =>
  Object.assign(new Error('The operation was aborted'), { name: 'AbortError', cause });

describe('isCancelled', () => {
  it('isCancelled() is false until the activity is cancelled, then true', () => {
    const activity = testActivity();
    expect(activity.run(isCancelled)).toBe(false);
    activity.cancel();
    expect(activity.run(isCancelled)).toBe(true);
  });

  it('isCancelled() throws an ActivityContextError naming itself outside an activity', () => {
    expect(isCancelled).toThrow(ActivityContextError);
    expect(isCancelled).toThrow(
      'isCancelled() must be called inside a Temporal activity, but no activity context is active.',
    );
  });
});

describe('throwIfCancelled', () => {
  it('throwIfCancelled() does nothing before cancellation and throws the CancelledFailure after', () => {
    const activity = testActivity();
    expect(() => activity.run(throwIfCancelled)).not.toThrow();
    const reason = activity.cancel('WORKER_SHUTDOWN');
    let thrown: unknown;
    try {
      activity.run(throwIfCancelled);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(reason);
    expect((thrown as CancelledFailure).message).toBe('WORKER_SHUTDOWN');
  });

  it('throwIfCancelled() throws an ActivityContextError outside an activity', () => {
    expect(throwIfCancelled).toThrow('throwIfCancelled() must be called inside a Temporal activity');
  });
});

describe('cancellationSignal', () => {
  it("cancellationSignal() returns the activity's signal, which aborts with a CancelledFailure", () => {
    const activity = testActivity();
    const signal = activity.run(cancellationSignal);
    expect(signal).toBe(activity.context.cancellationSignal);
    const reason = activity.cancel();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('cancellationSignal() throws an ActivityContextError outside an activity', () => {
    expect(cancellationSignal).toThrow(ActivityContextError);
  });
});

describe('isCancellation', () => {
  it('isCancellation() recognises a CancelledFailure, with or without a signal', () => {
    expect(isCancellation(new CancelledFailure('CANCELLED'))).toBe(true);
    expect(isCancellation(new CancelledFailure('CANCELLED'), new AbortController().signal)).toBe(true);
  });

  it("isCancellation() recognises the signal's reason, whatever it is", () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    expect(isCancellation(reason, controller.signal)).toBe(false);
    controller.abort(reason);
    expect(isCancellation(reason, controller.signal)).toBe(true);
    expect(isCancellation(new Error('stop now'), controller.signal)).toBe(false);
  });

  it('isCancellation() counts an AbortError only once a known signal aborted, and always without one', () => {
    const controller = new AbortController();
    expect(isCancellation(abortError(), controller.signal)).toBe(false);
    controller.abort();
    expect(isCancellation(abortError(), controller.signal)).toBe(true);
    expect(isCancellation(abortError())).toBe(true);
  });

  it('isCancellation() follows the cause chain, and stops on cycles', () => {
    const reason = new CancelledFailure('CANCELLED');
    const wrapped = new Error('upload failed', { cause: new Error('stream closed', { cause: reason }) });
    expect(isCancellation(wrapped)).toBe(true);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isCancellation(a)).toBe(false);
  });

  it('isCancellation() is false for failures, timeouts and non-errors', () => {
    expect(isCancellation(new Error('disk full'))).toBe(false);
    expect(isCancellation(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))).toBe(false);
    expect(isCancellation(undefined)).toBe(false);
    expect(isCancellation('AbortError')).toBe(false);
  });

  it("isCancellation() defaults to the running activity's signal", async () => {
    const activity = testActivity();
    expect(activity.run(() => isCancellation(abortError()))).toBe(false);
    const reason = activity.cancel();
    expect(activity.run(() => isCancellation(abortError()))).toBe(true);
    expect(activity.run(() => isCancellation(reason))).toBe(true);
  });

  it('isCancellation() recognises what a real aborted timer rejects with', async () => {
    const { setTimeout: sleep } = await import('node:timers/promises');
    const activity = testActivity();
    const pending = activity.run(() => sleep(10_000, undefined, { signal: cancellationSignal() }));
    activity.cancel();
    const error = await pending.catch((e: unknown) => e);
    expect(activity.run(() => isCancellation(error))).toBe(true);
  });
});
