import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  filterVisibleDevices,
  type GpuDevice,
  GpuMonitor,
  parseNvidiaSmiCsv,
} from '../../src/resources/gpu-monitor.js';
import { itRejectsOptions } from '../helpers/option-errors.js';
import { cleanupTempDirs, gpuEnv, nvidiaSmiDir, recordingLogger, tempDir } from './fixtures/fake-root.js';

afterEach(cleanupTempDirs);

const MiB = 1024 * 1024;
const UUID0 = 'GPU-00000000-fake-0000-0000-000000000000';
const UUID1 = 'GPU-00000001-fake-0000-0000-000000000001';
const GPU0: GpuDevice = {
  index: 0,
  uuid: UUID0,
  utilization: 0.37,
  memoryUsedBytes: 12345 * MiB,
  memoryTotalBytes: 81559 * MiB,
};
const GPU1: GpuDevice = {
  index: 1,
  uuid: UUID1,
  utilization: 0,
  memoryUsedBytes: 0,
  memoryTotalBytes: 81559 * MiB,
};

/** Whether process `pid` exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether any process of group `pgid` still runs (zombies excluded: an orphaned `sleep` is reaped by
 * init, which can take seconds in some containers). Reads /proc, so Linux only.
 */
function groupRunning(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(group) === pgid && state !== 'Z') return true;
  }
  return false;
}

describe('GpuMonitor', () => {
  itRejectsOptions(
    (options) => new GpuMonitor(options),
    [
      [
        { timeoutMs: 0 },
        'GpuMonitor: expected `timeoutMs` to be an integer in [1, 2147483647], got `0` (number).',
      ],
      [{ command: '' }, 'GpuMonitor: expected `command` to be a program name or path, got `""` (string).'],
      [{ env: 'PATH=/bin' }, 'GpuMonitor: expected `env` to be an object of environment variables, got'],
      [{ logger: console.log }, 'GpuMonitor: expected `logger` to be a Logger (an object with trace, debug'],
    ],
  );

  it('sample() reads two devices with the documented query', async () => {
    const log = join(tempDir(), 'calls.log');
    const monitor = new GpuMonitor({ env: gpuEnv({ FAKE_NVSMI_LOG: log }), now: () => 42 });
    const reading = await monitor.sample();
    expect(reading).toEqual({ devices: [GPU0, GPU1], at: 42, stale: false, disabled: false, error: null });
    expect(monitor.latest()).toBe(reading);
    expect(readFileSync(log, 'utf8')).toBe(
      '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits\n',
    );
  });

  it('sample() reads [N/A] and [Not Supported] as null, never 0', async () => {
    const env = gpuEnv({
      FAKE_GPU0_UTIL: '[N/A]',
      FAKE_GPU0_MEMUSED: '[Not Supported]',
      FAKE_GPU1_MEMTOTAL: '[N/A]',
    });
    const reading = await new GpuMonitor({ env }).sample();
    expect(reading?.devices).toEqual([
      { ...GPU0, utilization: null, memoryUsedBytes: null },
      { ...GPU1, memoryTotalBytes: null },
    ]);
  });

  it('sample() logs a failing nvidia-smi once per distinct error and keeps the last good reading stale', async () => {
    const logger = recordingLogger();
    const env = gpuEnv();
    const monitor = new GpuMonitor({ env, logger });
    const good = await monitor.sample();

    env.FAKE_NVSMI_FAIL = '9';
    await monitor.sample();
    const failed = await monitor.sample();
    expect(failed).toEqual({
      devices: good!.devices,
      at: good!.at,
      stale: true,
      disabled: false,
      error:
        "nvidia-smi exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    });
    expect(monitor.errors).toBe(2);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message:
          "GPU reading failed: nvidia-smi exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
      },
    ]);

    env.FAKE_NVSMI_FAIL = '3';
    await monitor.sample();
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]!.message).toContain('exited with code 3');

    delete env.FAKE_NVSMI_FAIL;
    expect(await monitor.sample()).toMatchObject({ devices: [GPU0, GPU1], stale: false, error: null });
    expect(monitor.errors).toBe(3);
  });

  it('sample() reports a failure before any good reading as stale with no devices', async () => {
    const monitor = new GpuMonitor({ env: gpuEnv({ FAKE_NVSMI_FAIL: '2' }), logger: recordingLogger() });
    expect(await monitor.sample()).toMatchObject({ devices: [], stale: true, disabled: false });
  });

  it('sample() kills a hung nvidia-smi at its timeout', async () => {
    const logger = recordingLogger();
    const pidFile = join(tempDir(), 'pid');
    const env = gpuEnv({ FAKE_NVSMI_SLEEP: '30' }, nvidiaSmiDir({ pidFile }));
    const monitor = new GpuMonitor({ env, timeoutMs: 300, logger });
    const reading = await monitor.sample();
    expect(reading).toMatchObject({
      devices: [],
      stale: true,
      error: 'nvidia-smi timed out after 300 ms and was killed',
    });
    expect(logger.lines.map((l) => l.message)).toEqual([
      'GPU reading failed: nvidia-smi timed out after 300 ms and was killed',
    ]);
    expect(monitor.busy).toBe(false);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The whole process group (the fake's shell and its `sleep`) was killed.
    await vi.waitFor(() => expect(groupRunning(pid)).toBe(false), { timeout: 2000, interval: 20 });
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 2000, interval: 20 });
  });

  it('close() kills a call in flight without counting or logging an error', async () => {
    const logger = recordingLogger();
    const pidFile = join(tempDir(), 'pid');
    const env = gpuEnv({ FAKE_NVSMI_SLEEP: '30' }, nvidiaSmiDir({ pidFile }));
    const monitor = new GpuMonitor({ env, logger });
    const call = monitor.sample();
    await vi.waitFor(() => expect(existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '').toBe(true));
    monitor.close();
    monitor.close();
    expect(await call).toBeNull();
    expect(monitor.errors).toBe(0);
    expect(logger.lines).toEqual([]);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await vi.waitFor(() => expect(groupRunning(pid)).toBe(false), { timeout: 2000, interval: 20 });

    delete env.FAKE_NVSMI_SLEEP;
    expect((await monitor.sample())?.devices).toEqual([GPU0, GPU1]);
  });

  it('sample() disables GPU readings with one log line when nvidia-smi is not on PATH', async () => {
    const logger = recordingLogger();
    const emptyDir = tempDir();
    const env: NodeJS.ProcessEnv = { PATH: emptyDir };
    const monitor = new GpuMonitor({ env, logger, now: () => 5 });
    expect(await monitor.sample()).toEqual({
      devices: [],
      at: 5,
      stale: false,
      disabled: true,
      error: 'nvidia-smi not found',
    });
    expect(monitor.disabled).toBe(true);
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'no GPU: nvidia-smi not found on PATH, GPU readings disabled' },
    ]);

    // Installing it later changes nothing: no further spawns.
    const log = join(tempDir(), 'calls.log');
    env.PATH = nvidiaSmiDir();
    env.FAKE_NVSMI_LOG = log;
    await monitor.sample();
    expect(existsSync(log)).toBe(false);
    expect(logger.lines).toHaveLength(1);
    expect(monitor.errors).toBe(0);
  });

  it('sample() never runs two calls in flight', async () => {
    const log = join(tempDir(), 'calls.log');
    const monitor = new GpuMonitor({ env: gpuEnv({ FAKE_NVSMI_LOG: log, FAKE_NVSMI_SLEEP: '0.2' }) });
    const first = monitor.sample();
    expect(monitor.busy).toBe(true);
    expect(monitor.sample()).toBe(first);
    expect(monitor.sample()).toBe(first);
    expect((await first)?.devices).toHaveLength(2);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['1', [GPU1]],
    ['1,0', [GPU1, GPU0]],
    ['0,0', [GPU0]],
    ['0,7,1', [GPU0]],
    ['-1', []],
    ['', []],
  ])('sample() honours CUDA_VISIBLE_DEVICES=%j by index', async (visible, expected) => {
    const reading = await new GpuMonitor({ env: gpuEnv({ CUDA_VISIBLE_DEVICES: visible }) }).sample();
    expect(reading).toMatchObject({ devices: expected, stale: false });
  });

  it.each([
    [UUID1, [GPU1]],
    [`${UUID1},${UUID0}`, [GPU1, GPU0]],
    ['GPU-00000001', [GPU1]],
    ['gpu-00000000-FAKE', [GPU0]],
    ['GPU-0000000', []], // ambiguous prefix
    ['GPU-ffff', []],
  ])('sample() honours CUDA_VISIBLE_DEVICES=%j by uuid or uuid prefix', async (visible, expected) => {
    const reading = await new GpuMonitor({ env: gpuEnv({ CUDA_VISIBLE_DEVICES: visible }) }).sample();
    expect(reading?.devices).toEqual(expected);
  });

  it('sample() turns bad output into one logged error and stale devices, never into devices', async () => {
    const logger = recordingLogger();
    const env = gpuEnv();
    const monitor = new GpuMonitor({ env, logger, now: () => 5 });
    expect((await monitor.sample())?.devices).toEqual([GPU0, GPU1]);
    env.FAKE_GPU1_MEMUSED = '-5';
    for (let i = 0; i < 3; i++) {
      expect(await monitor.sample()).toMatchObject({ devices: [GPU0, GPU1], stale: true, at: 5 });
    }
    expect(monitor.errors).toBe(3);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message:
          'GPU reading failed: nvidia-smi output could not be parsed: line 2 "1, GPU-00000001-fake-0000-0000-000000000001, 0, -5, 81559": memory.used -5 MiB is negative',
      },
    ]);
  });

  it('sample() refuses output over 1 MiB (28042 "devices") instead of cutting it into devices', async () => {
    const dir = tempDir('slotwise-bin-');
    const script = join(dir, 'nvidia-smi');
    writeFileSync(
      script,
      '#!/bin/sh\ni=0\nwhile [ $i -lt 28042 ]; do echo "$i, GPU-$i-0000000000000000000000, 5, 100, 81559"; i=$((i + 1)); done\n',
    );
    chmodSync(script, 0o755);
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: { PATH: `${dir}:${process.env.PATH}` }, logger });
    expect(await monitor.sample()).toMatchObject({ devices: [], stale: true });
    expect(logger.lines.map((l) => l.message)).toEqual([
      'GPU reading failed: nvidia-smi wrote more than 1048576 bytes, so its output was cut and is not trusted',
    ]);
  });

  it('sample() reports zero devices when nvidia-smi lists none', async () => {
    const reading = await new GpuMonitor({ env: gpuEnv({ FAKE_GPUS: '0' }) }).sample();
    expect(reading).toMatchObject({ devices: [], stale: false, error: null });
  });
});

describe('nvidia-smi parsing', () => {
  it('parseNvidiaSmiCsv() converts percent to a ratio and MiB to bytes', () => {
    expect(parseNvidiaSmiCsv('3, GPU-abc, 50, 1024, [N/A]\n\n')).toEqual([
      { index: 3, uuid: 'GPU-abc', utilization: 0.5, memoryUsedBytes: 1024 * MiB, memoryTotalBytes: null },
    ]);
  });

  it('parseNvidiaSmiCsv() throws on a malformed line', () => {
    expect(() => parseNvidiaSmiCsv('No devices were found\n')).toThrow(
      'unexpected line "No devices were found"',
    );
    expect(() => parseNvidiaSmiCsv('0, GPU-abc, lots, 1, 2\n')).toThrow('not a number: "lots"');
  });

  it.each([
    ['0, GPU-a, -3, 1, 2\n', 'line 1 "0, GPU-a, -3, 1, 2": utilization.gpu -3 % is outside [0, 100]'],
    ['0, GPU-a, 250, 1, 2\n', 'line 1 "0, GPU-a, 250, 1, 2": utilization.gpu 250 % is outside [0, 100]'],
    ['0, GPU-a, 5, -5, 81559\n', 'line 1 "0, GPU-a, 5, -5, 81559": memory.used -5 MiB is negative'],
    ['0, GPU-a, 5, 90000, 81559\n', 'memory.used 90000 MiB is above memory.total 81559 MiB'],
    ['0, GPU-a, 5, 1, 0\n', 'memory.total 0 MiB is not in (0, 16777216]'],
    ['0, GPU-a, 5, 1, 99999999999\n', 'memory.total 99999999999 MiB is not in (0, 16777216]'],
    ['-1, GPU-a, 5, 1, 2\n', 'index -1 is outside [0, 1023]'],
    ['4096, GPU-a, 5, 1, 2\n', 'index 4096 is outside [0, 1023]'],
    ['0, nonsense, 5, 1, 2\n', 'uuid "nonsense" does not start with GPU- or MIG-'],
    ['0, GPU-a, 5, 1, 2\n0, GPU-b, 5, 1, 2\n', 'line 2 "0, GPU-b, 5, 1, 2": index 0 is listed twice'],
    ['0, GPU-a, 5, 1, 2\n1, GPU-a, 5, 1, 2\n', 'line 2 "1, GPU-a, 5, 1, 2": uuid GPU-a is listed twice'],
    ['0, GPU-a, 5, 1, 2\n1, GPU-b, 5, 1', 'the output ends in the middle of a line (truncated)'],
  ])('parseNvidiaSmiCsv() refuses what no device reports: %j', (text, message) => {
    expect(() => parseNvidiaSmiCsv(text)).toThrow(message);
  });

  it('filterVisibleDevices() keeps every device when CUDA_VISIBLE_DEVICES is unset', () => {
    expect(filterVisibleDevices([GPU0, GPU1], undefined)).toEqual([GPU0, GPU1]);
  });
});

describe('GpuMonitor.watch()', () => {
  const QUERY =
    '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits';

  /** A fake nvidia-smi whose values and mode the test changes through a state file while it runs. */
  function loopFixture(extra: Record<string, string> = {}) {
    const dir = tempDir();
    const state = join(dir, 'state');
    const log = join(dir, 'calls.log');
    const pids = join(dir, 'pids');
    writeFileSync(state, '');
    const env = gpuEnv({ FAKE_NVSMI_STATE: state, FAKE_NVSMI_LOG: log, FAKE_NVSMI_PIDS: pids, ...extra });
    return {
      env,
      setState: (text: string) => writeFileSync(state, text),
      calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
      pids: () => (existsSync(pids) ? readFileSync(pids, 'utf8').trim().split('\n').map(Number) : []),
    };
  }

  const used0 = (monitor: GpuMonitor) => monitor.latest()?.devices[0]?.memoryUsedBytes;

  it('runs one plain call, then one `-lms` loop whose every round is a reading; close() kills the loop', async () => {
    const fake = loopFixture();
    fake.setState('FAKE_GPU0_MEMUSED=100\n');
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: fake.env, logger });
    const readings: unknown[] = [];
    monitor.watch(50, (reading) => readings.push(reading));
    monitor.watch(50, () => readings.push('second watch'));
    expect(monitor.watching).toBe(true);
    await vi.waitFor(() => expect(readings.length).toBeGreaterThanOrEqual(5), {
      timeout: 10_000,
      interval: 20,
    });
    expect(readings).not.toContain('second watch');
    expect(used0(monitor)).toBe(100 * MiB);
    fake.setState('FAKE_GPU0_MEMUSED=200\n');
    await vi.waitFor(() => expect(used0(monitor)).toBe(200 * MiB), { timeout: 10_000, interval: 20 });
    expect(monitor.latest()).toMatchObject({
      stale: false,
      error: null,
      devices: [{ index: 0 }, { index: 1 }],
    });
    // Two processes in all, however many readings: the plain call and the loop.
    expect(fake.calls()).toEqual([QUERY, `${QUERY} -lms 50`]);
    const [call, loop] = fake.pids();
    expect(isAlive(loop!)).toBe(true);
    monitor.close();
    monitor.close();
    expect(monitor.watching).toBe(false);
    await vi.waitFor(() => expect(groupRunning(loop!)).toBe(false), { timeout: 5000, interval: 20 });
    await vi.waitFor(() => expect(isAlive(loop!)).toBe(false), { timeout: 5000, interval: 20 });
    expect(isAlive(call!)).toBe(false);
    expect(fake.pids()).toHaveLength(2);
    expect(monitor.errors).toBe(0);
    expect(logger.lines).toEqual([]);
  });

  it('turns a round no device gives into one logged error and stale devices, and restarts the loop', async () => {
    const fake = loopFixture();
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: fake.env, logger });
    monitor.watch(30, () => {});
    await vi.waitFor(() => expect(fake.calls()).toHaveLength(2), { timeout: 10_000, interval: 20 });
    await vi.waitFor(() => expect(used0(monitor)).toBe(12345 * MiB), { timeout: 10_000, interval: 20 });
    fake.setState('FAKE_NVSMI_MODE=garbage\n');
    // Several failures in a row (the loop's round, then the plain calls that probe it again)...
    await vi.waitFor(() => expect(monitor.errors).toBeGreaterThanOrEqual(4), {
      timeout: 10_000,
      interval: 20,
    });
    expect(monitor.latest()).toMatchObject({ stale: true, devices: [GPU0, GPU1] });
    // ...and one line per distinct error.
    expect(logger.lines.map((l) => l.message)).toEqual([
      'GPU reading failed: nvidia-smi -lms output could not be parsed: line 1 "-1, GPU-bad, 250, -5, 0": index -1 is outside [0, 1023]; restarting it',
      'GPU reading failed: nvidia-smi output could not be parsed: line 1 "-1, GPU-bad, 250, -5, 0": index -1 is outside [0, 1023]',
    ]);
    fake.setState('FAKE_GPU0_MEMUSED=300\n');
    await vi.waitFor(() => expect(used0(monitor)).toBe(300 * MiB), { timeout: 10_000, interval: 20 });
    expect(monitor.latest()).toMatchObject({ stale: false, error: null });
    await vi.waitFor(() => expect(fake.calls().at(-1)).toBe(`${QUERY} -lms 30`), {
      timeout: 10_000,
      interval: 20,
    });
    const pids = fake.pids();
    monitor.close();
    for (const pid of pids)
      await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 5000, interval: 20 });
  });

  it('kills a loop that stops printing after intervalMs + timeoutMs, then reads again once it recovers', async () => {
    const fake = loopFixture();
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: fake.env, logger, timeoutMs: 200 });
    monitor.watch(50, () => {});
    await vi.waitFor(() => expect(fake.pids()).toHaveLength(2), { timeout: 10_000, interval: 20 });
    await vi.waitFor(() => expect(monitor.latest()?.devices).toHaveLength(2), {
      timeout: 10_000,
      interval: 20,
    });
    const loop = fake.pids()[1]!;
    const at = monitor.latest()!.at;
    fake.setState('FAKE_NVSMI_MODE=hang\n');
    await vi.waitFor(() => expect(groupRunning(loop)).toBe(false), { timeout: 10_000, interval: 20 });
    expect(monitor.latest()).toMatchObject({
      stale: true,
      error: 'nvidia-smi -lms printed no reading for 250 ms and was killed; restarting it',
      devices: [GPU0, GPU1],
    });
    expect(monitor.latest()!.at).toBeLessThanOrEqual(at + 100);
    fake.setState('');
    await vi.waitFor(() => expect(monitor.latest()).toMatchObject({ stale: false, error: null }), {
      timeout: 10_000,
      interval: 20,
    });
    monitor.close();
    expect(logger.lines.map((l) => l.message)).toContain(
      'GPU reading failed: nvidia-smi -lms printed no reading for 250 ms and was killed; restarting it',
    );
  });

  it.each([
    [
      'die',
      'nvidia-smi -lms exited with code 3: Unable to determine the device handle for GPU0000:18:00.0: Unknown Error; restarting it',
    ],
    [
      'cut',
      'nvidia-smi -lms exited with code 1, its output ending in the middle of a line (truncated); restarting it',
    ],
  ])('restarts a loop that exits (%s) with backoff, logging it once', async (mode, error) => {
    const fake = loopFixture();
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: fake.env, logger });
    let readings = 0;
    monitor.watch(30, () => readings++);
    // The plain call's reading, then the loop's own rounds.
    await vi.waitFor(() => expect(readings).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 20 });
    expect(fake.calls()).toHaveLength(2);
    fake.setState(`FAKE_NVSMI_MODE=${mode}\n`);
    await vi.waitFor(() => expect(monitor.errors).toBeGreaterThanOrEqual(3), {
      timeout: 10_000,
      interval: 20,
    });
    expect(monitor.latest()).toMatchObject({ stale: true, devices: [GPU0, GPU1] });
    const messages = logger.lines.map((l) => l.message);
    expect(messages.filter((m) => m === `GPU reading failed: ${error}`)).toHaveLength(1);
    expect(messages.length).toBeLessThanOrEqual(2); // the loop's exit and the plain call's failure
    fake.setState('');
    await vi.waitFor(() => expect(monitor.latest()).toMatchObject({ stale: false, error: null }), {
      timeout: 10_000,
      interval: 20,
    });
    monitor.close();
  });

  it('falls back to one call per interval when nvidia-smi refuses -lms twice in a row, saying so once', async () => {
    const fake = loopFixture({ FAKE_NVSMI_NOLOOP: '1' });
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: fake.env, logger });
    monitor.watch(30, () => {});
    await vi.waitFor(() => expect(fake.calls().length).toBeGreaterThanOrEqual(5), {
      timeout: 10_000,
      interval: 20,
    });
    fake.setState('FAKE_GPU0_MEMUSED=400\n');
    await vi.waitFor(() => expect(used0(monitor)).toBe(400 * MiB), { timeout: 10_000, interval: 20 });
    monitor.close();
    // The loop was tried twice (once could be a failing GPU); every other call is a plain one.
    expect(fake.calls().filter((c) => c.includes('-lms'))).toEqual([`${QUERY} -lms 30`, `${QUERY} -lms 30`]);
    expect(monitor.errors).toBe(1);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message:
          "GPU reading failed: nvidia-smi -lms exited with code 2: Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.; restarting it",
      },
      {
        level: 'warn',
        message:
          "GPU: `nvidia-smi -lms` exited with code 2 before its first reading (Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.), so GPUs are read by one nvidia-smi call every 30 ms instead",
      },
    ]);
  });

  it('disables GPU readings with one log line and starts nothing when nvidia-smi is not on PATH', async () => {
    const logger = recordingLogger();
    const monitor = new GpuMonitor({ env: { PATH: tempDir() }, logger });
    const readings: unknown[] = [];
    monitor.watch(30, (reading) => readings.push(reading));
    await vi.waitFor(() => expect(readings).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(readings[0]).toMatchObject({ disabled: true, devices: [] });
    expect(monitor.disabled).toBe(true);
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'no GPU: nvidia-smi not found on PATH, GPU readings disabled' },
    ]);
    monitor.close();
  });

  it('rejects an interval that is not a timer value', () => {
    const monitor = new GpuMonitor({ env: gpuEnv() });
    expect(() => monitor.watch(0.5, () => {})).toThrow(
      'GpuMonitor: expected `watch intervalMs` to be an integer in [1, 2147483647], got `0.5` (number).',
    );
    expect(monitor.watching).toBe(false);
  });
});
