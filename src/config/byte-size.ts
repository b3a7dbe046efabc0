/** Multipliers of the size units a config accepts: SI (kB, MB, ...) and binary (KiB, MiB, ...). */
const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** The pattern of a size string: a number and a unit, e.g. `512MiB`, `1.5 GiB`, `100MB`. */
export const BYTE_SIZE_PATTERN = /^(\d+(?:\.\d+)?) ?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;

/**
 * Parses a size given as a number of bytes or a string such as `"512MiB"` or `"2GB"` into whole
 * bytes (rounded down). Returns `null` when the value is neither, or when the bytes exceed
 * `Number.MAX_SAFE_INTEGER` (they would no longer be exact).
 *
 * @example
 * ```ts
 * import { parseByteSize } from 'slotwise/internal/config/byte-size.js';
 * parseByteSize('512MiB'); // => 536870912
 * parseByteSize('1.5 GB'); // => 1500000000
 * parseByteSize(4096); // => 4096
 * parseByteSize('lots'); // => null
 * ```
 */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = BYTE_SIZE_PATTERN.exec(value.trim());
  if (!match) return null;
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2]!]!);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/**
 * Renders bytes for people: the largest binary unit that keeps the number at least 1, with at most
 * two decimals.
 *
 * @example
 * ```ts
 * import { formatByteSize } from 'slotwise/internal/config/byte-size.js';
 * formatByteSize(536870912); // => '512 MiB'
 * formatByteSize(25276510208); // => '23.54 GiB'
 * formatByteSize(100); // => '100 B'
 * ```
 */
export function formatByteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))} ${units[unit]}`;
}
