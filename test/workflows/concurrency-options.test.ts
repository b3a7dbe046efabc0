import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  ConcurrencyCancelledError,
  ConcurrencyOptionsError,
  ConcurrencyRejectedError,
} from '../../src/workflows/concurrency/errors.js';
import {
  resolveConcurrencyOptions,
  type WithConcurrencyOptions,
} from '../../src/workflows/concurrency/options.js';
import { concurrencyControllerId, concurrencyShardOf } from '../../src/workflows/concurrency/signals.js';

const base: WithConcurrencyOptions = { group: 'g', key: 'k', maxRuns: 2 };

const messageOf = (options: unknown): string => {
  try {
    resolveConcurrencyOptions(options as WithConcurrencyOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConcurrencyOptionsError);
    return (error as Error).message;
  }
  throw new Error('expected resolveConcurrencyOptions() to throw');
};

describe('resolveConcurrencyOptions', () => {
  it('resolveConcurrencyOptions() defaults the strategy to GROUP_ROUND_ROBIN and splits policy and settings', () => {
    expect(resolveConcurrencyOptions(base)).toEqual({
      group: 'g',
      key: 'k',
      policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2 },
      settings: {},
      controllerTaskQueue: undefined,
      shards: 1,
      activities: true,
    });
    expect(
      resolveConcurrencyOptions({
        ...base,
        key: '',
        strategy: 'CANCEL_NEWEST',
        groupMaxRuns: 5,
        controller: { taskQueue: 'ctl', probeIntervalMs: 500, idleTimeoutMs: 0, maxHistoryEvents: 300 },
      }),
    ).toEqual({
      group: 'g',
      key: '',
      policy: { strategy: 'CANCEL_NEWEST', maxRuns: 2, groupMaxRuns: 5 },
      settings: { probeIntervalMs: 500, idleTimeoutMs: 0, maxHistoryEvents: 300 },
      controllerTaskQueue: 'ctl',
      shards: 1,
      activities: true,
    });
    expect(resolveConcurrencyOptions({ ...base, controller: { activities: false } })).toMatchObject({
      settings: { activities: false },
      activities: false,
    });
    expect(messageOf({ ...base, controller: { activities: 'no' } })).toBe(
      'withConcurrency: expected `controller.activities` to be a boolean, got `"no"` (string).',
    );
    expect(resolveConcurrencyOptions({ ...base, controller: { shards: 8 } }).shards).toBe(8);
  });

  it('resolveConcurrencyOptions() refuses shards with a group-wide limit, and out of [1, 64]', () => {
    expect(messageOf({ ...base, groupMaxRuns: 10, controller: { shards: 4 } })).toBe(
      'withConcurrency: `controller.shards` (4) cannot be combined with `groupMaxRuns` (10): a group-wide limit needs one controller. Drop `groupMaxRuns` or use `shards: 1`.',
    );
    expect(messageOf({ ...base, controller: { shards: 0 } })).toBe(
      'withConcurrency: expected `controller.shards` to be an integer >= 1, got `0` (number).',
    );
    expect(messageOf({ ...base, controller: { shards: 65 } })).toBe(
      'withConcurrency: expected `controller.shards` to be an integer in [1, 64], got `65` (number).',
    );
  });

  it('resolveConcurrencyOptions() names the bad option, the expectation and the value', () => {
    expect(messageOf({ ...base, maxRuns: 0 })).toBe(
      'withConcurrency: expected `maxRuns` to be an integer >= 1, got `0` (number).',
    );
    expect(messageOf({ ...base, maxRuns: '2' })).toBe(
      'withConcurrency: expected `maxRuns` to be an integer >= 1, got `"2"` (string).',
    );
    expect(messageOf({ ...base, group: '' })).toBe(
      'withConcurrency: expected `group` to be a non-empty string of at most 200 characters, got `""` (string).',
    );
    expect(messageOf({ ...base, key: 7 })).toBe(
      'withConcurrency: expected `key` to be a string of at most 400 characters, got `7` (number).',
    );
    expect(messageOf({ ...base, strategy: 'cancel-newest' })).toBe(
      "withConcurrency: expected `strategy` to be one of 'GROUP_ROUND_ROBIN', 'CANCEL_IN_PROGRESS', 'CANCEL_NEWEST', got `\"cancel-newest\"` (string). Did you mean 'CANCEL_NEWEST'?",
    );
    expect(messageOf({ ...base, groupMaxRuns: 1.5 })).toBe(
      'withConcurrency: expected `groupMaxRuns` to be an integer >= 1, got `1.5` (number).',
    );
    expect(messageOf({ ...base, controller: { probeIntervalMs: 10 } })).toBe(
      'withConcurrency: expected `controller.probeIntervalMs` to be an integer >= 100, got `10` (number).',
    );
    expect(messageOf({ ...base, controller: { maxStateBytes: 1024 } })).toBe(
      'withConcurrency: expected `controller.maxStateBytes` to be an integer >= 4096, got `1024` (number).',
    );
    expect(resolveConcurrencyOptions({ ...base, controller: { maxStateBytes: 4096 } }).settings).toEqual({
      maxStateBytes: 4096,
    });
    expect(messageOf(null)).toBe('withConcurrency: expected an options object, got `null`.');
  });

  it('resolveConcurrencyOptions() throws a non-retryable ApplicationFailure of type ConcurrencyOptionsError', () => {
    try {
      resolveConcurrencyOptions({ ...base, maxRuns: -1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(error).toMatchObject({
        name: 'ConcurrencyOptionsError',
        type: 'ConcurrencyOptionsError',
        nonRetryable: true,
      });
    }
  });
});

describe('concurrencyShardOf()', () => {
  it('concurrencyShardOf() maps a key to the same shard every time, and spreads keys over all shards', () => {
    expect(concurrencyShardOf('tenant-a', 4)).toEqual(concurrencyShardOf('tenant-a', 4));
    expect(concurrencyShardOf('anything', 1)).toEqual({ index: 0, count: 1 });
    const used = new Set(Array.from({ length: 64 }, (_, i) => concurrencyShardOf(`key-${i}`, 4).index));
    expect([...used].sort()).toEqual([0, 1, 2, 3]);
    expect(concurrencyControllerId('g', { index: 2, count: 4 })).toBe('slotwise-concurrency:g#2of4');
    expect(concurrencyControllerId('g', { index: 0, count: 1 })).toBe('slotwise-concurrency:g');
  });
});

describe('ConcurrencyCancelledError', () => {
  it('ConcurrencyCancelledError is a CancelledFailure that names CANCEL_IN_PROGRESS and the replacing run', () => {
    const error = new ConcurrencyCancelledError('deploys', 'api', 'deploy-42');
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(error).toMatchObject({
      name: 'ConcurrencyCancelledError',
      group: 'deploys',
      key: 'api',
      replacedBy: 'deploy-42',
      details: [{ group: 'deploys', key: 'api', replacedBy: 'deploy-42', reason: 'CANCEL_IN_PROGRESS' }],
    });
    expect(error.message).toBe(
      'withConcurrency: cancelled by CANCEL_IN_PROGRESS: a newer run (deploy-42) of key "api" in group "deploys" replaces this one',
    );
  });
});

describe('ConcurrencyRejectedError', () => {
  it('ConcurrencyRejectedError is a non-retryable ApplicationFailure naming the group, key and reason', () => {
    const error = new ConcurrencyRejectedError('reports', 'user-1', 'key "user-1" already has 1 of 1 runs');
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toBeInstanceOf(ConcurrencyRejectedError);
    expect(error).toMatchObject({
      name: 'ConcurrencyRejectedError',
      type: 'ConcurrencyRejectedError',
      nonRetryable: true,
      group: 'reports',
      key: 'user-1',
      details: [{ group: 'reports', key: 'user-1' }],
    });
    expect(error.message).toBe(
      'withConcurrency: run refused by group "reports": key "user-1" already has 1 of 1 runs',
    );
  });
});
