/** Resource readers and the shared sampler. Exports are listed by name; helpers stay private. */
export {
  CGROUP_V1_UNLIMITED_BYTES,
  type CgroupLayout,
  type CgroupVersion,
  detectCgroup,
} from './cgroup.js';
export { CpuMonitor, type CpuMonitorOptions, type CpuReading, type CpuSource } from './cpu-monitor.js';
export {
  type GpuDevice,
  GpuMonitor,
  type GpuMonitorOptions,
  type GpuReading,
} from './gpu-monitor.js';
export { HeapMonitor, type HeapMonitorOptions, type HeapReading } from './heap-monitor.js';
export {
  type DescribeHostOptions,
  describeHost,
  type GpuInventory,
  type HostInventory,
} from './host-inventory.js';
export {
  MemoryMonitor,
  type MemoryMonitorOptions,
  type MemoryReading,
  type MemoryScope,
  type MemorySource,
} from './memory-monitor.js';
export {
  type ResourceSample,
  type ResourceSampleListener,
  ResourceSampler,
  type ResourceSamplerOptions,
  type SampledResource,
} from './sampler.js';
