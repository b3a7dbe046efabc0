import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const INITIAL_BUFFER_BYTES = 4096;

/**
 * A small text file (a cgroup or /proc file) read synchronously through a file handle opened once.
 * Each {@link read} reads from position 0 to the end with `fs.readSync`, so kernel files that change
 * in place are read afresh without re-opening. A file that was removed fails with `ENOENT` instead
 * of giving the old contents forever, and a file that was replaced (a new inode: a cgroup recreated,
 * a file renamed over) is re-opened: the kernel fails reads of a removed cgroup file through an
 * open handle (`ENODEV`), and any other file removed or renamed over shows a link count of 0 on the
 * open handle (one `fstat` per read); either way the path is opened again, which fails with
 * `ENOENT` when nothing is there (a file renamed over whose old inode keeps another hard link is
 * not noticed). On a read error the handle is closed and re-opened once before the error is thrown.
 *
 * The handle is checked, not the path: a `stat` of the path at every read looked the whole path up
 * again, and was the larger part of what reading a cgroup file cost a sampler tick (issue 16).
 *
 * Internal: not exported from the package.
 *
 * @example
 * ```ts
 * import { SyncFile } from 'slotwise/internal/resources/sync-file.js';
 * const meminfo = new SyncFile('/proc/meminfo');
 * meminfo.read().startsWith('MemTotal:'); // => true, read afresh on every call
 * meminfo.close();
 * ```
 */
export class SyncFile {
  /** Absolute path of the file. */
  readonly path: string;
  #fd: number | null = null;
  #buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);

  constructor(path: string) {
    this.path = path;
  }

  /** The whole file as UTF-8 text. Throws (with the `fs` error code) when it cannot be read. */
  read(): string {
    try {
      return this.#readAll();
    } catch {
      this.close();
      return this.#readAll();
    }
  }

  /** Like {@link read}, but `null` when the file does not exist (`ENOENT`). */
  readIfExists(): string | null {
    try {
      return this.read();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Closes the handle; the next read opens it again. Idempotent. */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      closeSync(fd);
    } catch {
      // Already closed or invalid: nothing left to release.
    }
  }

  #readAll(): string {
    // Removed or renamed over since it was opened (no link left): read what is at the path now.
    if (this.#fd !== null && fstatSync(this.#fd).nlink === 0) this.close();
    this.#fd ??= openSync(this.path, 'r');
    const fd = this.#fd;
    let length = 0;
    for (;;) {
      if (length === this.#buffer.length) {
        const bigger = Buffer.allocUnsafe(this.#buffer.length * 2);
        this.#buffer.copy(bigger, 0, 0, length);
        this.#buffer = bigger;
      }
      const read = readSync(fd, this.#buffer, length, this.#buffer.length - length, length);
      if (read === 0) break;
      length += read;
    }
    return this.#buffer.toString('utf8', 0, length);
  }
}

/**
 * A set of {@link SyncFile}s keyed by path, so each file is opened at most once.
 *
 * @example
 * ```ts
 * import { SyncFiles } from 'slotwise/internal/resources/sync-file.js';
 * const files = new SyncFiles();
 * files.get('/proc/stat') === files.get('/proc/stat'); // => true
 * ```
 */
export class SyncFiles {
  #files = new Map<string, SyncFile>();

  /** The handle for `path`, created on first use. */
  get(path: string): SyncFile {
    let file = this.#files.get(path);
    if (!file) {
      file = new SyncFile(path);
      this.#files.set(path, file);
    }
    return file;
  }

  /** Closes every handle (they re-open on the next read). Idempotent. */
  closeAll(): void {
    for (const file of this.#files.values()) file.close();
  }
}
