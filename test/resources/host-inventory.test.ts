import { afterEach, describe, expect, it } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { describeHost } from '../../src/resources/host-inventory.js';
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
} from './fixtures/fake-root.js';

afterEach(cleanupTempDirs);

const MiB = 1024 * 1024;

describe('describeHost', () => {
  it('describeHost() summarizes a cgroup v2 container with GPUs', async () => {
    const { root } = fakeRoot({
      [`${V2}/cgroup.controllers`]: 'cpu memory\n',
      [`${V2}/cpu.max`]: '150000 100000\n',
      [`${V2}/memory.current`]: '0\n',
      [`${V2}/memory.max`]: `${2048 * MiB}\n`,
      'proc/stat': procStat(1, 1, 4),
      'proc/meminfo': meminfo(8_000_000, 6_000_000),
    });
    const inventory = await describeHost({ root, env: gpuEnv({ CUDA_VISIBLE_DEVICES: '1' }) });
    expect(inventory).toEqual({
      cgroupVersion: 'v2',
      cpuQuotaCores: 1.5,
      hostCores: 4,
      usableCores: 1.5,
      memoryLimitBytes: 2048 * MiB,
      hostMemoryBytes: 8_192_000_000,
      gpus: {
        status: 'ok',
        devices: [
          {
            index: 1,
            uuid: 'GPU-00000001-fake-0000-0000-000000000001',
            utilization: 0,
            memoryUsedBytes: 0,
            memoryTotalBytes: 81559 * MiB,
          },
        ],
        error: null,
      },
    });
  });

  it('describeHost() reports a v1 host without limits and without nvidia-smi', async () => {
    const { root } = fakeRoot({
      [`${V1_CPU}/cpu.cfs_quota_us`]: '-1\n',
      [`${V1_CPU}/cpu.cfs_period_us`]: '100000\n',
      [`${V1_MEMORY}/memory.usage_in_bytes`]: '1000\n',
      [`${V1_MEMORY}/memory.limit_in_bytes`]: '9223372036854771712\n',
      'proc/stat': procStat(1, 1, 2),
      'proc/meminfo': meminfo(4_000_000, 1_000_000),
    });
    expect(await describeHost({ root, env: { PATH: tempDir() } })).toEqual({
      cgroupVersion: 'v1',
      cpuQuotaCores: null,
      hostCores: 2,
      usableCores: 2,
      memoryLimitBytes: null,
      hostMemoryBytes: 4_096_000_000,
      gpus: { status: 'absent', devices: [], error: 'nvidia-smi not found' },
    });
  });

  it('describeHost() reports a failing nvidia-smi and skips GPUs when asked', async () => {
    const { root } = fakeRoot({ 'proc/stat': procStat(1, 1, 3), 'proc/meminfo': meminfo(1000, 500) });
    const failing = await describeHost({ root, env: gpuEnv({ FAKE_NVSMI_FAIL: '4' }) });
    expect(failing.cgroupVersion).toBe('none');
    expect(failing.gpus).toEqual({
      status: 'error',
      devices: [],
      error:
        "nvidia-smi exited with code 4: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    });
    expect((await describeHost({ root, gpu: false })).gpus).toEqual({
      status: 'skipped',
      devices: [],
      error: null,
    });
  });

  it.each([
    [{ gpu: 'yes' }, 'describeHost: expected `gpu` to be a boolean, got `"yes"` (string).'],
    [{ root: 7 }, 'describeHost: expected `root` to be a non-empty directory path, got `7` (number).'],
    [{ timeout: 5 }, 'describeHost: unknown option `timeout`. Did you mean `timeoutMs`?'],
  ])('describeHost() rejects %j with a precise message', async (options, message) => {
    await expect(describeHost(options as never)).rejects.toThrow(SlotwiseOptionsError);
    await expect(describeHost(options as never)).rejects.toThrow(message);
  });
});
