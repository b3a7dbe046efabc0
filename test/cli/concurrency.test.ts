import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { describeConcurrency } from '../../src/cli/commands/concurrency.js';
import { main } from '../../src/cli/main.js';
import { getConcurrencyState } from '../../src/client/concurrency-admin.js';
import type {
  ConcurrencyControllerSnapshot,
  ConcurrencyRunningRun,
} from '../../src/workflows/concurrency/types.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} }, out, err };
}

const ref = (key: string, n: number) => ({
  requestId: `run-${key}-${n}/r/1`,
  key,
  workflowId: `run-${key}-${n}`,
  runId: 'r',
});
const granted = (key: string, n: number, grantedAt: number): ConcurrencyRunningRun => ({
  ...ref(key, n),
  grantedAt,
  cancelRequested: false,
});

function snapshot(parts: Partial<ConcurrencyControllerSnapshot> = {}): ConcurrencyControllerSnapshot {
  return {
    group: 'reports',
    holderCheck: 'describe',
    generation: 3,
    policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2 },
    settings: {
      probeIntervalMs: 10_000,
      idleTimeoutMs: 60_000,
      maxHistoryEvents: 2_000,
      maxStateBytes: 1_048_576,
      activities: true,
    },
    running: [],
    queued: [],
    runningPerKey: {},
    stats: { granted: 120, released: 117, cancelled: 0, rejected: 2, reclaimed: 1 },
    ...parts,
  };
}

describe('slotwise concurrency', () => {
  it('main() prints concurrency --help and exits 0; the command list names it', async () => {
    const t = io();
    expect(await main(['concurrency', '--help'], t.io)).toBe(0);
    expect(t.out.join('\n')).toContain('Usage: slotwise concurrency status <group> [options]');
    const all = io();
    expect(await main(['--help'], all.io)).toBe(0);
    expect(all.out.join('\n')).toContain('  concurrency show a withConcurrency() group');
  });

  it.each([
    [[], 'slotwise concurrency: expected `status <group>`, got nothing.'],
    [['list'], 'slotwise concurrency: expected `status <group>`, got "list".'],
    [['status'], "slotwise concurrency status: expected the group's name after `status`."],
    [
      ['status', 'reports', 'extra'],
      'slotwise concurrency status: expected only the group\'s name, got ["reports","extra"].',
    ],
    [
      ['status', 'reports', '--shards', '0'],
      'slotwise concurrency: --shards must be an integer from 1 to 64, got "0".',
    ],
    [
      ['status', 'reports', '--shards', '65'],
      'slotwise concurrency: --shards must be an integer from 1 to 64, got "65".',
    ],
    [
      ['status', 'reports', '--keys', 'all'],
      'slotwise concurrency: --keys must be an integer >= 1, got "all".',
    ],
    [
      ['status', 'reports', '--shard', '2'],
      'slotwise concurrency: unknown option --shard. Did you mean --shards? Run `slotwise concurrency --help` for usage.',
    ],
  ])('main() rejects concurrency %j with exit code 2', async (argv, message) => {
    const t = io();
    expect(await main(['concurrency', ...argv], t.io)).toBe(2);
    expect(t.err.join('\n')).toContain(message);
  });

  it('main() exits 1 naming the address when no Temporal server answers there', async () => {
    const t = io();
    expect(await main(['concurrency', 'status', 'reports', '--address', '127.0.0.1:1'], t.io)).toBe(1);
    expect(t.err.join('\n')).toContain('slotwise concurrency: cannot reach Temporal at 127.0.0.1:1');
  });

  it('getConcurrencyState() names a bad group or shard before it calls the server', async () => {
    const client = {} as Client;
    await expect(getConcurrencyState(client, '')).rejects.toThrow(
      'getConcurrencyState: expected group to be a non-empty string, got ""',
    );
    await expect(getConcurrencyState(client, 'reports', { index: 0, count: 65 })).rejects.toThrow(
      'getConcurrencyState: expected shard.count to be an integer in [1, 64], got 65',
    );
    await expect(getConcurrencyState(client, 'reports', { index: 4, count: 4 })).rejects.toThrow(
      'getConcurrencyState: expected shard.index to be an integer in [0, 3], got 4',
    );
  });

  it('describeConcurrency() lists the keys with the most runs first, with how long the oldest grant is held', () => {
    const now = 1_000_000;
    const state = snapshot({
      policy: { strategy: 'GROUP_ROUND_ROBIN', maxRuns: 2, groupMaxRuns: 10 },
      running: [
        granted('tenant-b', 1, now - 1_500),
        granted('tenant-a', 1, now - 12_300),
        granted('tenant-a', 2, now - 100),
      ],
      queued: [ref('tenant-a', 3), ref('tenant-c', 1), ref('tenant-a', 4), ref('tenant-b', 2)],
    });
    expect(describeConcurrency(state, { now })).toEqual([
      "group 'reports': 3 running, 4 waiting; GROUP_ROUND_ROBIN, at most 2 per key, 10 in the group",
      'controller run 4 (continued as new 3 times); long-held grants described; granted 120, released 117, ' +
        'cancelled 0, rejected 2, reclaimed 1, full 0',
      'key       running  waiting  held longest',
      'tenant-a  2        2        12.3 s',
      'tenant-b  1        1        1.5 s',
      'tenant-c  0        1        -',
    ]);
    expect(describeConcurrency(state, { now, keys: 1 }).slice(3)).toEqual([
      'tenant-a  2        2        12.3 s',
      '(2 more keys; --keys to list more)',
    ]);
  });

  it('describeConcurrency() names the shard, a probe-only controller and an idle one', () => {
    const state = snapshot({
      shard: { index: 1, count: 4 },
      holderCheck: 'probe',
      generation: 0,
      policy: { strategy: 'CANCEL_NEWEST', maxRuns: 1 },
      stats: { granted: 5, released: 5, cancelled: 0, rejected: 0, reclaimed: 0, full: 7 },
    });
    expect(describeConcurrency(state)).toEqual([
      "group 'reports' shard 2 of 4: 0 running, 0 waiting; CANCEL_NEWEST, at most 1 per key",
      'controller run 1 (continued as new 0 times); long-held grants probed by signal; granted 5, released 5, ' +
        'cancelled 0, rejected 0, reclaimed 0, full 7',
      'no run holds or waits for a grant',
    ]);
  });
});
