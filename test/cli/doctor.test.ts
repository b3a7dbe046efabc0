import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/cli-io.js';
import { DOCTOR_HELP, doctorCommand } from '../../src/cli/commands/doctor.js';
import { freePort } from '../../src/dev-server/dev-server.js';
import {
  cleanupTempDirs,
  fakeRoot,
  gpuEnv,
  meminfo,
  procStat,
  tempDir,
  V1_CPU,
  V1_MEMORY,
  V2,
} from '../resources/fixtures/fake-root.js';

const MiB = 1024 * 1024;
const servers: Server[] = [];
afterEach(async () => {
  cleanupTempDirs();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function io(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env }, out, err };
}

/** A fake `temporal` that prints a version. */
function fakeTemporalCli(): string {
  const path = join(tempDir('slotwise-cli-'), 'temporal');
  writeFileSync(path, '#!/bin/sh\necho "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"\n');
  chmodSync(path, 0o755);
  return path;
}

/** A cgroup v2 container: 1.5 cores of 4, 2 GiB of 8 GB. */
function v2Root(): string {
  return fakeRoot({
    [`${V2}/cgroup.controllers`]: 'cpu memory\n',
    [`${V2}/cpu.max`]: '150000 100000\n',
    [`${V2}/memory.current`]: '0\n',
    [`${V2}/memory.max`]: `${2048 * MiB}\n`,
    'proc/stat': procStat(1, 1, 4),
    'proc/meminfo': meminfo(8_000_000, 6_000_000),
  }).root;
}

/** A cgroup v1 host without limits: 2 cores, 8 GB. */
function v1Root(): string {
  return fakeRoot({
    [`${V1_CPU}/cpu.cfs_quota_us`]: '-1\n',
    [`${V1_CPU}/cpu.cfs_period_us`]: '100000\n',
    [`${V1_MEMORY}/memory.usage_in_bytes`]: '1000\n',
    [`${V1_MEMORY}/memory.limit_in_bytes`]: '9223372036854771712\n',
    'proc/stat': procStat(1, 1, 2),
    'proc/meminfo': meminfo(8_000_000, 6_000_000),
  }).root;
}

describe('slotwise doctor', () => {
  it('doctorCommand() shows cgroup limits, cores, memory, GPUs and the Temporal CLI in a table, and exits 0', async () => {
    const cli = fakeTemporalCli();
    const t = io(gpuEnv({ TEMPORAL_CLI_PATH: cli, CUDA_VISIBLE_DEVICES: '1,0' }));
    expect(await doctorCommand(['--root', v2Root()], t.io)).toBe(0);
    expect(t.err).toEqual([]);
    expect(t.out).toEqual([
      'slotwise doctor: what slotwise sees on this host',
      '',
      'CHECK            STATUS  DETAIL',
      'cgroup           ok      v2, CPU quota 1.5 cores, memory limit 2 GiB',
      'CPU              ok      1.5 usable cores (4 online, CPU quota 1.5 cores)',
      'memory           ok      2 GiB (cgroup limit; host total 7.63 GiB)',
      'GPUs             ok      2 visible (nvidia-smi, CUDA_VISIBLE_DEVICES="1,0")',
      'GPU 1            ok      GPU-00000001-fake-0000-0000-000000000001: 0% busy, 0 B of 79.65 GiB used',
      'GPU 0            ok      GPU-00000000-fake-0000-0000-000000000000: 37% busy, 12.06 GiB of 79.65 GiB used',
      `Temporal CLI     ok      ${cli} (temporal version 1.5.1 (Server 1.29.1, UI 2.42.1))`,
      'Temporal server  skip    no --address or TEMPORAL_ADDRESS given (slotwise worker would start an embedded dev server)',
      `Node.js          ok      ${process.version}`,
    ]);
  });

  it('doctorCommand() says when there is no GPU and no Temporal CLI (warnings, exit 0)', async () => {
    const empty = tempDir('slotwise-empty-');
    const t = io({ PATH: empty, SLOTWISE_CACHE_DIR: empty });
    expect(await doctorCommand(['--root', v1Root()], t.io)).toBe(0);
    expect(t.out.slice(2)).toEqual([
      'CHECK            STATUS  DETAIL',
      'cgroup           ok      v1, no CPU quota, no memory limit',
      'CPU              ok      2 usable cores (2 online, no CPU quota)',
      'memory           ok      7.63 GiB (host total, no cgroup limit)',
      'GPUs             info    none: nvidia-smi not found',
      'Temporal CLI     warn    not found: slotwise worker needs it for an embedded dev server (set TEMPORAL_CLI_PATH, put `temporal` on PATH, or install Go so slotwise can build v1.5.1)',
      'Temporal server  skip    no --address or TEMPORAL_ADDRESS given (slotwise worker would start an embedded dev server)',
      `Node.js          ok      ${process.version}`,
    ]);
  });

  it('doctorCommand() fails (exit 1) when the server at --address refuses connections', async () => {
    const port = await freePort();
    const t = io({ TEMPORAL_CLI_PATH: fakeTemporalCli() });
    expect(await doctorCommand(['--root', v1Root(), '--address', `127.0.0.1:${port}`], t.io)).toBe(1);
    expect(t.out).toContain(
      `Temporal server  fail    127.0.0.1:${port} is unreachable: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
  });

  it('doctorCommand() fails when TEMPORAL_ADDRESS answers TCP but not as a Temporal frontend', async () => {
    const server = createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const t = io({ TEMPORAL_CLI_PATH: fakeTemporalCli(), TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(await doctorCommand(['--root', v1Root(), '--timeout-ms', '1000'], t.io)).toBe(1);
    expect(t.out).toContain(
      `Temporal server  fail    127.0.0.1:${port} accepts connections but is not a Temporal frontend: Failed to connect before the deadline`,
    );
  });

  it('doctorCommand() --json prints the findings and the table rows as JSON', async () => {
    const cli = fakeTemporalCli();
    const port = await freePort();
    const t = io({
      PATH: tempDir('slotwise-empty-'),
      TEMPORAL_CLI_PATH: cli,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(await doctorCommand(['--root', v2Root(), '--json'], t.io)).toBe(1);
    const result = JSON.parse(t.out.join('\n'));
    expect(result.ok).toBe(false);
    expect(result.host).toEqual({
      cgroupVersion: 'v2',
      cpuQuotaCores: 1.5,
      hostCores: 4,
      usableCores: 1.5,
      memoryLimitBytes: 2048 * MiB,
      hostMemoryBytes: 8_192_000_000,
      gpus: { status: 'absent', devices: [], error: 'nvidia-smi not found' },
    });
    expect(result.temporalCli).toEqual({
      path: cli,
      version: 'temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)',
      error: null,
    });
    expect(result.server).toEqual({
      address: `127.0.0.1:${port}`,
      reachable: false,
      serverVersion: null,
      latencyMs: null,
      error: `is unreachable: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`,
    });
    expect(
      result.checks.map((check: { check: string; status: string }) => [check.check, check.status]),
    ).toEqual([
      ['cgroup', 'ok'],
      ['CPU', 'ok'],
      ['memory', 'ok'],
      ['GPUs', 'info'],
      ['Temporal CLI', 'ok'],
      ['Temporal server', 'fail'],
      ['Node.js', 'ok'],
    ]);
  });

  it('doctorCommand() --help prints usage and exits 0', async () => {
    const t = io({});
    expect(await doctorCommand(['--help'], t.io)).toBe(0);
    expect(t.out).toEqual([DOCTOR_HELP]);
    expect(DOCTOR_HELP.split('\n')[0]).toBe('Usage: slotwise doctor [options]');
  });

  it.each([
    [['--address', 'localhost'], {}, 'slotwise doctor: --address must be "host:port", got "localhost".'],
    [[], { TEMPORAL_ADDRESS: 'nope' }, 'slotwise doctor: TEMPORAL_ADDRESS must be "host:port", got "nope".'],
    [['--timeout-ms', '0'], {}, 'slotwise doctor: --timeout-ms must be an integer >= 1, got "0".'],
    [['extra'], {}, 'slotwise doctor: unexpected argument "extra". Run `slotwise doctor --help` for usage.'],
  ])('doctorCommand() throws a UsageError (exit 2) for %j', async (argv, env, message) => {
    await expect(doctorCommand(argv, io(env).io)).rejects.toThrow(UsageError);
    await expect(doctorCommand(argv, io(env).io)).rejects.toThrow(message);
  });
});
