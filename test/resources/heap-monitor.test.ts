import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HeapMonitor, nodeFlags, oldGenerationLimit } from '../../src/resources/heap-monitor.js';
import { itRejectsOptions } from '../helpers/option-errors.js';

const MiB = 1024 * 1024;

describe('oldGenerationLimit()', () => {
  it('is --max-old-space-size when given (dashes or underscores, = or a separate value, the last one wins)', () => {
    expect(oldGenerationLimit(208 * MiB, ['--max-old-space-size=160'], 16)).toBe(160 * MiB);
    expect(
      oldGenerationLimit(208 * MiB, ['--max_old_space_size=100', '--max-old-space-size', '160'], 16),
    ).toBe(160 * MiB);
    // A worker thread's own limit comes first.
    expect(
      oldGenerationLimit(112 * MiB, ['--max-old-space-size=160'], 16, { maxOldGenerationSizeMb: 64 }),
    ).toBe(64 * MiB);
  });

  it('else is heap_size_limit less three semi-spaces (--max-semi-space-size, else the default given)', () => {
    expect(oldGenerationLimit(4144 * MiB, [], 16)).toBe(4096 * MiB);
    expect(oldGenerationLimit(4108 * MiB, ['--max-semi-space-size=4'], 16)).toBe(4096 * MiB);
    expect(oldGenerationLimit(100 * MiB, [], 0)).toBe(100 * MiB);
    // Nonsense flags are ignored; a young generation of half the heap or more is not believed.
    expect(oldGenerationLimit(4144 * MiB, ['--max-old-space-size=abc', '--max-semi-space-size=-3'], 16)).toBe(
      4096 * MiB,
    );
    expect(oldGenerationLimit(80 * MiB, [], 16)).toBe(80 * MiB);
    // A --max-old-space-size at or above heap_size_limit cannot be the old generation's: fall back.
    expect(oldGenerationLimit(4144 * MiB, ['--max-old-space-size=8192'], 16)).toBe(4096 * MiB);
  });
});

describe('HeapMonitor', () => {
  itRejectsOptions(
    (options) => new HeapMonitor(options),
    [
      [
        { flags: '--max-old-space-size=160' },
        'HeapMonitor: expected `flags` to be an array of command-line flags (strings), got `"--max-old-space-size=160"` (string).',
      ],
      [{ limit: 5 }, 'HeapMonitor: unknown option `limit`.'],
    ],
  );

  it('read() measures used_heap_size against the old generation, not heap_size_limit', () => {
    const monitor = new HeapMonitor({
      statistics: () => ({ used_heap_size: 80 * MiB, heap_size_limit: 208 * MiB, total_heap_size: 90 * MiB }),
      flags: ['--max-old-space-size=160'],
      now: () => 5,
    });
    expect(monitor.read()).toEqual({
      usedBytes: 80 * MiB,
      limitBytes: 160 * MiB,
      heapSizeLimitBytes: 208 * MiB,
      ratio: 0.5,
      totalBytes: 90 * MiB,
      majorGcs: null,
      at: 5,
      stale: false,
    });
  });

  it('in real processes: the limit worked out from their flags is the old generation V8 gave them', () => {
    // Plain node children (no TypeScript loader: a few tens of ms each) report what the monitor
    // reads; the limit is worked out here the way a monitor in them would.
    const probe = (args: string[], nodeOptions = '') => {
      const out = execFileSync(
        process.execPath,
        [
          ...args,
          '-e',
          'console.log(JSON.stringify({ limit: require("v8").getHeapStatistics().heap_size_limit, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS }))',
        ],
        { env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' },
      );
      const {
        limit,
        execArgv,
        nodeOptions: seen,
      } = JSON.parse(out) as {
        limit: number;
        execArgv: string[];
        nodeOptions?: string;
      };
      return { limit, old: oldGenerationLimit(limit, nodeFlags(execArgv, seen), 16) };
    };
    expect(probe(['--max-old-space-size=160'])).toEqual({ limit: 208 * MiB, old: 160 * MiB });
    expect(probe([], '--max-old-space-size=160')).toEqual({ limit: 208 * MiB, old: 160 * MiB });
    expect(probe(['--max-old-space-size=160', '--max-semi-space-size=4'])).toEqual({
      limit: 172 * MiB,
      old: 160 * MiB,
    });
    // No flag: V8 sizes the heap from the machine. The old generation worked out is the one V8 has:
    // a process given it as --max-old-space-size gets the same heap_size_limit.
    const bare = probe([]);
    expect(probe([`--max-old-space-size=${bare.old / MiB}`])).toEqual(bare);
  });

  it('a HeapMonitor of this process reads its flags (command line and NODE_OPTIONS)', () => {
    expect(
      nodeFlags(['--max-old-space-size=160', '--import', 'tsx'], ' --max-semi-space-size=4  --trace-gc '),
    ).toEqual(['--max-old-space-size=160', '--import', 'tsx', '--max-semi-space-size=4', '--trace-gc']);
    const monitor = new HeapMonitor();
    const reading = monitor.read();
    monitor.close();
    expect(reading.limitBytes).toBe(
      oldGenerationLimit(
        reading.heapSizeLimitBytes,
        nodeFlags(process.execArgv, process.env.NODE_OPTIONS),
        16,
      ),
    );
    expect(reading.limitBytes).toBeLessThan(reading.heapSizeLimitBytes);
  });
});
