import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { installedPackage } from './installed-package.js';

/** Paths in the packed tarball, without npm's `package/` prefix. */
function tarballFiles(): string[] {
  return execFileSync('tar', ['-tzf', installedPackage().tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((path) => path.replace(/^package\//, ''));
}

describe('the packed tarball', () => {
  it('holds the files the README points users at', () => {
    const files = tarballFiles();
    const readme = readFileSync('README.md', 'utf8');
    const mentioned = [
      ...new Set([...readme.matchAll(/\b((?:examples|dashboards|schema)\/[\w.-]+\.\w+)/g)].map((m) => m[1]!)),
    ];
    expect(mentioned).toEqual(
      expect.arrayContaining([
        'examples/slotwise.yaml',
        'dashboards/grafana-slotwise.json',
        'schema/slotwise.schema.json',
      ]),
    );
    expect(mentioned.filter((path) => !files.includes(path))).toEqual([]);
  });

  it('holds an MIT LICENSE, the README, every entry point in both formats with types, and the bin', () => {
    const files = tarballFiles();
    expect(files).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/cli/bin.js']),
    );
    for (const entry of [
      'index',
      'activities/index',
      'workflows/index',
      'client/index',
      'examples/activities',
      'examples/workflows',
    ]) {
      expect(files).toEqual(
        expect.arrayContaining([
          `dist/${entry}.js`,
          `dist/${entry}.cjs`,
          `dist/${entry}.d.ts`,
          `dist/${entry}.d.cts`,
        ]),
      );
    }
    const license = execFileSync('tar', ['-xzOf', installedPackage().tarball, 'package/LICENSE'], {
      encoding: 'utf8',
    });
    expect(license.split('\n')[0]).toBe('MIT License');
    expect(files.filter((path) => /^(src|test|bench|scripts)\//.test(path))).toEqual([]);
  });
});
