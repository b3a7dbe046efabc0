import { describe, expect, it } from 'vitest';
import { installedPackage } from './installed-package.js';

describe('the installed slotwise bin', () => {
  it('`slotwise worker --config` runs a burst through the configured suppliers and exits 0', async () => {
    const pkg = installedPackage();
    const config = pkg.writeFile(
      'cli-worker.yaml',
      ['activity:', '  supplier: { type: fixed, slots: 2, name: acts }', ''].join('\n'),
    );
    const result = await pkg.slotwiseBin([
      'worker',
      '--config',
      config,
      '--task-queue',
      `package-cli-${process.pid}`,
      '--burst',
      '4',
      '--work-ms',
      '50',
      '--once',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('slotwise: activity slots: fixed (name acts, 2 slots)');
    expect(result.stdout).toMatch(/slotwise-burst-\d+ completed 4 activities/);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(
      'slotwise: worker stopped; activity slots issued 0, waiting 0',
    );
  });
});
