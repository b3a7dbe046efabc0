import { closeSync, fstatSync, openSync, readSync, statfsSync } from 'node:fs';

const INITIAL_BUFFER_BYTES = 4096;

/**
 * A small text file (a cgroup or /proc file) read synchronously through a file handle opened once.
 * Each {@link read} reads from position 0 to the end with `fs.readSync`, so kernel files that change
 * in place are read afresh without re-opening. A file that was removed fails with `ENOENT` instead
 * of giving the old contents forever, and a file that was replaced (a new inode: a cgroup recreated,
 * a file renamed over) is re-opened. The kernel fails reads through an open handle of a removed
 * cgroup or sysfs file (`ENODEV`), so on the kernel's own file systems (procfs, sysfs, cgroup v1 and
 * v2, told once at open by `statfs`) reads alone notice it; any other file (a fake tree in tests)
 * removed or renamed over shows a link count of 0 on its handle, checked by one `fstat` before each
 * read. Either way the path is opened again, which fails with `ENOENT` when nothing is there (a file
 * renamed over whose old inode keeps another hard link is not noticed). On a read error the handle
 * is closed and re-opened once before the error is thrown.
 *
 * Neither the path nor, for kernel files, the handle is looked up at each read: a `stat` of the path
 * per read was 60 of 105 ms under SyncFile in a profile of the paced loop of bench scenario 1b, and
 * the `fstat` a quarter of what reading the CPU sample's two files took every 100 ms (issue 16).
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
  /** Whether the open handle needs an `fstat` per read to notice removal (not a kernel file). */
  #checkLinks = true;
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

  /**
   * Whether each read first checks the open handle's link count (`false` for procfs, sysfs and
   * cgroup files, whose removal fails the read itself). For tests.
   */
  get checksLinks(): boolean {
    return this.#checkLinks;
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
    if (this.#fd !== null && this.#checkLinks && fstatSync(this.#fd).nlink === 0) this.close();
    if (this.#fd === null) {
      this.#fd = openSync(this.path, 'r');
      this.#checkLinks = !onKernelFileSystem(this.path);
    }
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

/** `statfs` types whose files fail reads through an open handle once removed: procfs, sysfs, cgroup v1, cgroup v2. */
const KERNEL_FILE_SYSTEMS = new Set([0x9fa0, 0x62656572, 0x27e0eb, 0x63677270]);

/** Whether `path` is on one of {@link KERNEL_FILE_SYSTEMS}; `false` when that cannot be told. */
function onKernelFileSystem(path: string): boolean {
  try {
    return KERNEL_FILE_SYSTEMS.has(Number(statfsSync(path).type));
  } catch {
    return false;
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
