import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncFile } from '../../src/resources/sync-file.js';
import { cleanupTempDirs, fakeRoot } from './fixtures/fake-root.js';

afterEach(cleanupTempDirs);

describe('SyncFile', () => {
  it('read() reads a file changed in place afresh through the same handle', () => {
    const fake = fakeRoot({ 'memory.current': '100\n' });
    const file = new SyncFile(join(fake.root, 'memory.current'));
    expect(file.read()).toBe('100\n');
    fake.write('memory.current', '250\n'); // truncated and rewritten: the same inode
    expect(file.read()).toBe('250\n');
    file.close();
  });

  it('read() re-opens a file that was replaced, instead of reading the old one forever', () => {
    const fake = fakeRoot({ 'memory.current': '100\n' });
    const path = join(fake.root, 'memory.current');
    const file = new SyncFile(path);
    expect(file.read()).toBe('100\n');
    writeFileSync(`${path}.new`, '999\n');
    renameSync(`${path}.new`, path); // a new inode at the same path (a recreated cgroup)
    expect(file.read()).toBe('999\n');
    file.close();
  });

  it('read() fails with ENOENT once the file is removed, and readIfExists() returns null', () => {
    const fake = fakeRoot({ 'memory.current': '100\n' });
    const file = new SyncFile(join(fake.root, 'memory.current'));
    expect(file.read()).toBe('100\n');
    fake.remove('memory.current');
    expect(() => file.read()).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(file.readIfExists()).toBeNull();
    fake.write('memory.current', '7\n');
    expect(file.read()).toBe('7\n');
    file.close();
  });
});

describe.runIf(process.platform === 'linux' && existsSync('/proc/self/stat'))(
  'SyncFile on kernel files',
  () => {
    it('reads a /proc file without an fstat per read (its removal fails the read), a file elsewhere with one', () => {
      const proc = new SyncFile('/proc/self/stat');
      expect(proc.read()).toMatch(/^\d+ /);
      expect(proc.checksLinks).toBe(false);
      proc.close();
      const fake = fakeRoot({ 'memory.current': '100\n' });
      const file = new SyncFile(join(fake.root, 'memory.current'));
      expect(file.read()).toBe('100\n');
      expect(file.checksLinks).toBe(true);
      file.close();
    });
  },
);
