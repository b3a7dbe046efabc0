import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { formatByteSize } from './byte-size.js';
import { ConfigError } from './config-error.js';
import { CONFIG_LIMITS } from './config-limits.js';

/**
 * Reads a config file as UTF-8 text, refusing anything that is not a regular file of at most
 * {@link CONFIG_LIMITS}.maxBytes. Symbolic links are followed (a Kubernetes ConfigMap mounts its
 * files as links). The file is opened non-blocking, so a FIFO put in its place is refused at once
 * instead of waiting forever for a writer; a device or directory is refused the same way.
 *
 * @throws {ConfigError} naming the file: unreadable, not a regular file, too large, not UTF-8.
 *
 * @example
 * ```ts
 * import { readConfigFile } from 'slotwise/internal/config/read-config-file.js';
 * await readConfigFile('slotwise.yaml'); // => 'activity:\n  supplier: { type: fixed, slots: 4 }\n'
 * await readConfigFile('/tmp/fifo.yaml'); // throws ConfigError: /tmp/fifo.yaml: expected a regular file, got a FIFO (named pipe)
 * ```
 */
export async function readConfigFile(path: string): Promise<string> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise block until something opens it to write.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    let stats: Stats;
    try {
      stats = await handle.stat();
    } catch (error) {
      throw unreadable(path, error);
    }
    if (!stats.isFile()) {
      throw new ConfigError(path, [{ path: '', message: `expected a regular file, got ${kindOf(stats)}` }]);
    }
    if (stats.size > CONFIG_LIMITS.maxBytes) throw tooLarge(path, stats.size);
    // The file may grow between stat and read: read one byte past the limit to notice.
    const buffer = Buffer.alloc(CONFIG_LIMITS.maxBytes + 1);
    let length = 0;
    try {
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
    } catch (error) {
      throw unreadable(path, error);
    }
    if (length > CONFIG_LIMITS.maxBytes) throw tooLarge(path, length, true);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw new ConfigError(path, [
        { path: '', message: 'expected UTF-8 text, but the file holds bytes that are not UTF-8' },
      ]);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function unreadable(path: string, error: unknown): ConfigError {
  return new ConfigError(path, [
    { path: '', message: `cannot read the file: ${error instanceof Error ? error.message : String(error)}` },
  ]);
}

function tooLarge(path: string, bytes: number, atLeast = false): ConfigError {
  return new ConfigError(path, [
    {
      path: '',
      message: `expected a config of at most ${formatByteSize(CONFIG_LIMITS.maxBytes)}, got ${atLeast ? 'more than that' : `${formatByteSize(bytes)} (${bytes} bytes)`}`,
    },
  ]);
}

/** What a file that is not a regular file is, in words. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'something other than a file';
}
