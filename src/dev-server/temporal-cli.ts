import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { brandClass } from '../class-brand.js';

/**
 * The Temporal CLI release slotwise builds with `go install` when none is installed: v1.5.1
 * (Temporal Server 1.29.1) is the newest release whose go.mod has no `replace` directive, and
 * `go install module@version` refuses modules that have one.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Thrown when no Temporal CLI can be found or built; the message says how to install one. */
export class TemporalCliNotFoundError extends Error {
  override name = 'TemporalCliNotFoundError';
}
brandClass(TemporalCliNotFoundError, 'TemporalCliNotFoundError');

/** Options of {@link ensureTemporalCli}. */
export interface EnsureTemporalCliOptions {
  /**
   * Environment to read `TEMPORAL_CLI_PATH`, `PATH` and `SLOTWISE_CACHE_DIR` from.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Where progress lines go.
   * @default writes to stderr
   */
  log?: (line: string) => void;
  /**
   * Build the CLI with `go install` when no binary is found.
   * @default true
   */
  build?: boolean;
}

/** Where slotwise caches what it builds: `SLOTWISE_CACHE_DIR`, else `$XDG_CACHE_HOME/slotwise`, else `~/.cache/slotwise`. */
export function slotwiseCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLOTWISE_CACHE_DIR) return env.SLOTWISE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'slotwise');
}

const isExecutableFile = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** Finds `name` on `PATH`, like `which`. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const installHint = [
  'Install it one of these ways and run again:',
  '  - set TEMPORAL_CLI_PATH to the path of a `temporal` binary;',
  '  - put `temporal` on PATH (the Temporal CLI release for your platform);',
  `  - install Go >= 1.23 and let slotwise build it: go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}.`,
].join('\n');

/**
 * Returns the path of a Temporal CLI, building it once if needed. Looks, in order, at
 * `TEMPORAL_CLI_PATH`, `temporal` on `PATH`, the slotwise cache, and finally builds
 * `temporal@v1.5.1` with `go install` into the cache (minutes the first time; progress is logged).
 *
 * @example
 * ```ts
 * import { ensureTemporalCli } from 'slotwise';
 * const cli = await ensureTemporalCli({ log: console.log }); // => '/home/me/.cache/slotwise/temporal-cli-v1.5.1/temporal'
 * ```
 */
export async function ensureTemporalCli(options: EnsureTemporalCliOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (isExecutableFile(explicit)) return explicit;
    throw new TemporalCliNotFoundError(
      `TEMPORAL_CLI_PATH is set to ${JSON.stringify(explicit)}, which is not an executable file.\n${installHint}`,
    );
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return onPath;
  const cacheDir = join(slotwiseCacheDir(env), `temporal-cli-${TEMPORAL_CLI_VERSION}`);
  const cached = join(cacheDir, 'temporal');
  if (isExecutableFile(cached)) return cached;
  if (options.build === false) throw new TemporalCliNotFoundError(`No Temporal CLI found.\n${installHint}`);
  const go =
    findOnPath('go', env) ?? (isExecutableFile('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new TemporalCliNotFoundError(
      `No Temporal CLI found (not in TEMPORAL_CLI_PATH, not on PATH, not in ${cacheDir}) and no Go toolchain to build it.\n${installHint}`,
    );
  }
  await buildWithGo(go, cacheDir, env, log);
  return cached;
}

async function buildWithGo(
  go: string,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
) {
  mkdirSync(cacheDir, { recursive: true });
  const lockDir = join(cacheDir, '.building');
  const target = join(cacheDir, 'temporal');
  // One build at a time per cache: a second process waits for the first instead of building twice.
  for (let waited = 0; ; waited += 2) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      if (isExecutableFile(target)) return;
      if (waited > 0 && waited % 30 === 0)
        log(`slotwise: waiting for another build of the Temporal CLI (${waited} s)`);
      if (waited > 900) rmSync(lockDir, { recursive: true, force: true }); // a crashed build left it behind
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  const staging = join(cacheDir, `.gobin-${process.pid}`);
  try {
    if (isExecutableFile(target)) return;
    log(
      `slotwise: building the Temporal CLI ${TEMPORAL_CLI_VERSION} with \`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}\` into ${cacheDir} (first time only; takes a few minutes)`,
    );
    const started = Date.now();
    let packages = 0;
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', '-v', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...env, GOBIN: staging },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const tail: string[] = [];
      const ticker = setInterval(() => {
        log(
          `slotwise: still building the Temporal CLI: ${packages} packages compiled, ${Math.round((Date.now() - started) / 1000)} s`,
        );
      }, 15_000);
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (!line.trim()) continue;
          if (/^[\w.-]+(\/[\w.@-]+)+$/.test(line.trim())) packages++;
          tail.push(line);
          if (tail.length > 20) tail.shift();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (error) => {
        clearInterval(ticker);
        reject(error);
      });
      child.on('close', (exitCode) => {
        clearInterval(ticker);
        if (exitCode !== 0) log(tail.join('\n'));
        resolve(exitCode);
      });
    });
    if (code !== 0 || !isExecutableFile(join(staging, 'temporal'))) {
      throw new TemporalCliNotFoundError(
        `\`go install\` of the Temporal CLI failed (exit code ${code}); its last output is above.\n${installHint}`,
      );
    }
    renameSync(join(staging, 'temporal'), target);
    log(`slotwise: built ${target} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(lockDir, { recursive: true, force: true });
  }
}
