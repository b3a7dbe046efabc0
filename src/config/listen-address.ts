/**
 * Splits a `"host:port"` address (IPv6 hosts in brackets: `"[::1]:9464"`) into its host and port;
 * `null` when it is not one. What `metrics.listen` and `temporal.address` hold.
 *
 * @example
 * ```ts
 * import { parseListenAddress } from 'slotwise/internal/config/listen-address.js';
 * parseListenAddress('127.0.0.1:9464'); // => { host: '127.0.0.1', port: 9464 }
 * parseListenAddress('[::1]:9464'); // => { host: '::1', port: 9464 }
 * parseListenAddress('localhost'); // => null
 * ```
 */
export function parseListenAddress(address: string): { host: string; port: number } | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(address);
  if (!match || Number(match[2]) > 65535) return null;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}
