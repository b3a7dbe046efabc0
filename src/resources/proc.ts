import { cpus } from 'node:os';

// Parsers for `/proc` files and their `os` fallbacks. Internal: not exported from the package.

/** CPU time counters summed over every core, in any one unit (jiffies for /proc/stat, ms for `os`). */
export interface CpuTimes {
  /** Time spent not idle (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** All time (busy plus idle and iowait). */
  total: number;
  /** How many cores the counters cover. */
  cores: number;
}

/**
 * Parses `/proc/stat`: the aggregate `cpu` line (user nice system idle iowait irq softirq steal; guest
 * time is already part of user) and the number of `cpuN` lines (online cores).
 *
 * One pass over the text with `indexOf`, no `split` and no regular expression: a sampler parses it
 * every tick, and the split-and-match version cost a 100 ms tick ~50 us of a cold event loop.
 */
export function parseProcStat(text: string): CpuTimes {
  let aggregate: number[] | null = null;
  let cores = 0;
  // From one line starting with `cpu` to the next (past the long `intr` line in one native search).
  for (
    let start = text.startsWith('cpu') ? 0 : lineAfter(text, 0);
    start !== -1;
    start = lineAfter(text, start)
  ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const nameEnd = tokenEnd(text, start, end);
    if (nameEnd === start + 3) aggregate = numbersOf(text, nameEnd, end, 8);
    else if (allDigits(text, start + 3, nameEnd)) cores += 1;
  }
  if (!aggregate || aggregate.length < 4 || aggregate.some((n) => !Number.isFinite(n))) {
    throw new Error('/proc/stat has no readable aggregate `cpu` line');
  }
  let total = 0;
  for (const n of aggregate) total += n;
  const idle = (aggregate[3] ?? 0) + (aggregate[4] ?? 0);
  return { busy: total - idle, total, cores: Math.max(cores, 1) };
}

/** CPU times from `os.cpus()` (milliseconds), for platforms without /proc. */
export function osCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  const list = cpus();
  for (const { times } of list) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total, cores: Math.max(list.length, 1) };
}

/** Host memory from `/proc/meminfo`, in bytes. */
export interface HostMemory {
  /** `MemTotal`. */
  totalBytes: number;
  /** `MemTotal - MemAvailable` (or `- (MemFree + Buffers + Cached)` on kernels without MemAvailable). */
  usedBytes: number;
}

/**
 * Parses `/proc/meminfo` (values in kB): the lines `Name:   123 kB` it needs, read in one pass
 * without a regular expression or a map of every line (see {@link parseProcStat}).
 */
export function parseMeminfo(text: string): HostMemory {
  let total: number | undefined;
  let available: number | undefined;
  let free: number | undefined;
  let buffers: number | undefined;
  let cached: number | undefined;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    // A later line of the same name wins, as it did when every line went into a map.
    if (text.startsWith('MemTotal:', start)) total = kbLine(text, start + 9, end) ?? total;
    else if (text.startsWith('MemAvailable:', start)) available = kbLine(text, start + 13, end) ?? available;
    else if (text.startsWith('MemFree:', start)) free = kbLine(text, start + 8, end) ?? free;
    else if (text.startsWith('Buffers:', start)) buffers = kbLine(text, start + 8, end) ?? buffers;
    else if (text.startsWith('Cached:', start)) cached = kbLine(text, start + 7, end) ?? cached;
    start = end + 1;
  }
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal line');
  available ??= (free ?? 0) + (buffers ?? 0) + (cached ?? 0);
  return { totalBytes: total, usedBytes: Math.max(0, total - available) };
}

/** Parses the `VmRSS` line of `/proc/<pid>/status`, in bytes. */
export function parseVmRssBytes(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!match) throw new Error('/proc/self/status has no VmRSS line');
  return Number(match[1]) * 1024;
}

/** The start of the next line after `from` that starts with `cpu`, or -1. */
function lineAfter(text: string, from: number): number {
  const at = text.indexOf('\ncpu', from);
  return at === -1 ? -1 : at + 1;
}

/** Whether `c` (a char code) is blank within a line: space, tab, CR, vertical tab or form feed. */
export function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13 && c !== 10);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Where the token starting at `from` ends (the first blank, or `end`). */
export function tokenEnd(text: string, from: number, end: number): number {
  let i = from;
  while (i < end && !isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** Whether `text[from, to)` is one or more digits. */
export function allDigits(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/** Up to `max` blank-separated fields of `text[from, end)` as numbers (`Number` of each). */
function numbersOf(text: string, from: number, end: number, max: number): number[] {
  const numbers: number[] = [];
  let i = from;
  while (numbers.length < max) {
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i >= end) break;
    const to = tokenEnd(text, i, end);
    numbers.push(allDigits(text, i, to) ? digitsValue(text, i, to) : Number(text.slice(i, to)));
    i = to;
  }
  return numbers;
}

/** The value of the digits `text[from, to)` (as `Number` reads them: past 15 digits, by `Number`). */
export function digitsValue(text: string, from: number, to: number): number {
  if (to - from > 15) return Number(text.slice(from, to));
  let value = 0;
  for (let i = from; i < to; i++) value = value * 10 + (text.charCodeAt(i) - 48);
  return value;
}

/**
 * The bytes of a meminfo line's value, `text[from, end)` being what follows `Name:`: blanks (at
 * least one), digits, optionally blanks and `kB`, then only blanks; `undefined` when it is not so.
 */
function kbLine(text: string, from: number, end: number): number | undefined {
  let i = from;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  if (i === from) return undefined;
  const digits = i;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  if (i === digits) return undefined;
  const value = digitsValue(text, digits, i);
  let rest = i;
  while (rest < end && isBlank(text.charCodeAt(rest))) rest++;
  if (rest > i && text.startsWith('kB', rest)) rest += 2;
  while (rest < end && isBlank(text.charCodeAt(rest))) rest++;
  return rest === end ? value * 1024 : undefined;
}
