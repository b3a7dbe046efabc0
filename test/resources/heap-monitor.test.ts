import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HeapMonitor, oldGenerationLimit } from '../../src/resources/heap-monitor.js';
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

  it('in a real process started with --max-old-space-size=160: limit 160 MiB of a 208 MiB heap_size_limit, with and without NODE_OPTIONS', () => {
    const script = `import('${new URL('../../src/resources/heap-monitor.ts', import.meta.url).href}').then(({ HeapMonitor }) => { const m = new HeapMonitor(); const r = m.read(); m.close(); console.log(r.limitBytes / 2 ** 20, r.heapSizeLimitBytes / 2 ** 20); })`;
    const run = (args: string[], nodeOptions = '') =>
      execFileSync(process.execPath, [...args, '--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, NODE_OPTIONS: nodeOptions },
        encoding: 'utf8',
      }).trim();
    expect(run(['--max-old-space-size=160'])).toBe('160 208');
    expect(run([], '--max-old-space-size=160')).toBe('160 208');
    expect(run(['--max-old-space-size=160', '--max-semi-space-size=4'])).toBe('160 172');
    // No flag: V8 sizes the heap from the machine. The old generation worked out is the one V8 has:
    // a process given it as --max-old-space-size gets the same heap_size_limit.
    const [old, whole] = run([]).split(' ').map(Number);
    expect(run([`--max-old-space-size=${old}`])).toBe(`${old} ${whole}`);
  });
});
