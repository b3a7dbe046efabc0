import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKeyedNumber } from '../../src/resources/cgroup.js';
import { parseMeminfo, parseProcStat } from '../../src/resources/proc.js';

// The parsers scan the text with indexOf (no split, no regular expression: issue 16). These are the
// split-and-match versions they replaced, kept as the oracle they must agree with.
function oracleProcStat(text: string) {
  let aggregate: number[] | null = null;
  let cores = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name, ...fields] = line.trim().split(/\s+/);
    if (name === 'cpu') aggregate = fields.slice(0, 8).map(Number);
    else if (name !== undefined && /^cpu\d+$/.test(name)) cores += 1;
  }
  if (!aggregate || aggregate.length < 4 || aggregate.some((n) => !Number.isFinite(n))) {
    throw new Error('/proc/stat has no readable aggregate `cpu` line');
  }
  const total = aggregate.reduce((sum, n) => sum + n, 0);
  const idle = (aggregate[3] ?? 0) + (aggregate[4] ?? 0);
  return { busy: total - idle, total, cores: Math.max(cores, 1) };
}

function oracleMeminfo(text: string) {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]) * 1024);
  }
  const total = values.get('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal line');
  const available =
    values.get('MemAvailable') ??
    (values.get('MemFree') ?? 0) + (values.get('Buffers') ?? 0) + (values.get('Cached') ?? 0);
  return { totalBytes: total, usedBytes: Math.max(0, total - available) };
}

// Blanks, not \s: with the m flag the old \s+ also matched a newline (`key\n5`), which no kernel file has.
function oracleKeyed(text: string, key: string): number | null {
  const match = new RegExp(`^${key}[ \\t\\r\\v\\f]+(\\d+)[ \\t\\r\\v\\f]*$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

/** The same result or the same error. */
function same<T>(parse: () => T, oracle: () => T): void {
  let expected: { value?: T; error?: string };
  try {
    expected = { value: oracle() };
  } catch (error) {
    expected = { error: (error as Error).message };
  }
  if (expected.error !== undefined) expect(parse).toThrow(expected.error);
  else expect(parse()).toEqual(expected.value);
}

const STATS = [
  'cpu  10 20 30 400 50 6 7 8 9 10\ncpu0 5 10 15 200 25 3 3 4 0 0\ncpu1 5 10 15 200 25 3 4 4 0 0\nintr 1 2 3\nctxt 99\n',
  'cpu 1 2 3 4\ncpu0 1 2 3 4', // four fields, no trailing newline
  'cpu\t1\t2\t3\t4\t5\r\ncpu0\t1 2 3 4\r\ncpu1 1 2 3 4\r\n', // tabs and CRLF
  'intr 5\ncpufreq 1 2 3 4\ncpu 1 2 3 4 5 6 7 8 9\ncpu3 1\ncpux 2\ncpu12 0\n', // not cores: cpufreq, cpux
  'cpu 1 2 3\n', // too few fields
  'cpu 1 2 x 4\n', // not a number
  'cpu 1 2 3 4\ncpu 10 20 30 40\ncpu0 1\n', // the last aggregate line wins
  'cpu 12345678901234567 2 3 4\n', // past 15 digits
  'cpu 1.5 2e3 3 4\n',
  'ctxt 1\n',
  '',
];

const MEMINFOS = [
  'MemTotal:       16000000 kB\nMemFree:        12000000 kB\nMemAvailable:   12000000 kB\n',
  'MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 25 kB\n', // no MemAvailable
  'MemTotal:\t2000\r\nMemAvailable:\t500 kB \r\n', // tabs, CRLF, no unit
  'MemTotal: 1000 kB\nMemTotal: 3000 kB\nMemAvailable: 10 kB\n', // the last one wins
  'MemTotal: 1000 kB\nMemTotal: junk\nMemAvailable: 10kB\nMemFree: 7 kB\n', // malformed lines ignored
  'MemTotal:1000 kB\nMemAvailable: 1 kB\n', // no blank after the colon: not a value
  'MemTotal: 1000 MB\n',
  'MemTotalX: 1000 kB\nXMemTotal: 5 kB\n',
  'MemTotal: 123456789012345678 kB\nMemAvailable: 5 kB',
  'MemFree: 5 kB\n',
  '',
];

const KEYED = [
  'inactive_file 10\ntotal_inactive_file 20\nactive_file 30\n',
  'total_inactive_file 20\ninactive_file 10\n',
  'inactive_file_x 5\ninactive_file  7  \n',
  'inactive_file\t8\r\nusage_usec 1\n',
  'inactive_file 1x\ninactive_file 3\n',
  'inactive_file 123456789012345678\n',
  'usage_usec 42',
  'inactive_file\nusage_usec',
  '',
];

describe('/proc and cgroup parsers', () => {
  it('parseProcStat() reads what the split-and-match parser read, errors included', () => {
    for (const text of STATS)
      same(
        () => parseProcStat(text),
        () => oracleProcStat(text),
      );
    expect(parseProcStat(STATS[3]!).cores).toBe(2);
    expect(parseProcStat(STATS[0]!)).toEqual({ busy: 81, total: 531, cores: 2 });
  });

  it('parseMeminfo() reads what the split-and-match parser read, errors included', () => {
    for (const text of MEMINFOS)
      same(
        () => parseMeminfo(text),
        () => oracleMeminfo(text),
      );
    expect(parseMeminfo(MEMINFOS[1]!)).toEqual({ totalBytes: 1000 * 1024, usedBytes: 825 * 1024 });
  });

  it('parseKeyedNumber() finds the first line that is the key and a number, as the regular expression did', () => {
    for (const text of KEYED) {
      for (const key of ['inactive_file', 'total_inactive_file', 'usage_usec', 'active_file']) {
        expect(parseKeyedNumber(text, key), `${key} in ${JSON.stringify(text)}`).toBe(oracleKeyed(text, key));
      }
    }
    expect(parseKeyedNumber(KEYED[2]!, 'inactive_file')).toBe(7);
  });

  it('the parsers agree with the old ones on the files of this machine', () => {
    for (const path of ['/proc/stat', '/proc/meminfo']) {
      if (!existsSync(path)) continue;
      const text = readFileSync(path, 'utf8');
      if (path === '/proc/stat')
        same(
          () => parseProcStat(text),
          () => oracleProcStat(text),
        );
      else
        same(
          () => parseMeminfo(text),
          () => oracleMeminfo(text),
        );
    }
  });
});
