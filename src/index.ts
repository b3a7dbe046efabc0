export {
  DEV_SERVER_DYNAMIC_CONFIG,
  type DevServer,
  type DevServerOptions,
  freePort,
  startDevServer,
} from './dev-server/dev-server.js';
export {
  type EnsureTemporalCliOptions,
  ensureTemporalCli,
  slotwiseCacheDir,
  TEMPORAL_CLI_VERSION,
  TemporalCliNotFoundError,
} from './dev-server/temporal-cli.js';
export { SlotwiseOptionsError } from './errors.js';
export {
  type ChargedCostSnapshot,
  DEFAULT_HOLD_BUCKETS,
  DEFAULT_METRIC_PREFIX,
  DEFAULT_WAIT_BUCKETS,
  type GpuReadingSnapshot,
  type GpuSample,
  type HistoryResponse,
  type LivePageOptions,
  livePageHtml,
  METRIC_DEFINITIONS,
  METRIC_NAMES,
  type MetricDefinition,
  type MetricKey,
  MetricsHistory,
  MetricsPortInUseError,
  type MetricsSample,
  type MetricsServer,
  type MetricsServerOptions,
  type MetricsSnapshot,
  type MetricType,
  metricName,
  type ResourceReadingsSnapshot,
  SlotwiseMetrics,
  type SlotwiseMetricsOptions,
  SUPPLIER_LABELS,
  type SupplierLabel,
  type SupplierSample,
  sampleFromMetrics,
  startMetricsServer,
  type TemporalWorkerType,
  type TrackableSupplier,
  type TrackOptions,
  workerTypeOf,
} from './metrics/index.js';
export {
  CGROUP_V1_UNLIMITED_BYTES,
  type CgroupLayout,
  type CgroupVersion,
  CpuMonitor,
  type CpuMonitorOptions,
  type CpuReading,
  type CpuSource,
  type DescribeHostOptions,
  describeHost,
  detectCgroup,
  type GpuDevice,
  type GpuInventory,
  GpuMonitor,
  type GpuMonitorOptions,
  type GpuReading,
  type HostInventory,
  MemoryMonitor,
  type MemoryMonitorOptions,
  type MemoryReading,
  type MemoryScope,
  type MemorySource,
  type ResourceSample,
  type ResourceSampleListener,
  ResourceSampler,
  type ResourceSamplerOptions,
} from './resources/index.js';
export {
  type CompositePermitFields,
  CompositeSlotSupplier,
  type CompositeSlotSupplierOptions,
  type CompositeSupplierSnapshot,
} from './suppliers/composite-slot-supplier.js';
export { CpuSlotSupplier, type CpuSlotSupplierOptions } from './suppliers/cpu-slot-supplier.js';
export { FixedSlotSupplier, type FixedSlotSupplierOptions } from './suppliers/fixed-slot-supplier.js';
export {
  type GpuAssignment,
  type GpuPermitFields,
  GpuSlotSupplier,
  type GpuSlotSupplierOptions,
} from './suppliers/gpu-slot-supplier.js';
export { LedgerSlotSupplier, type SupplierBaseOptions } from './suppliers/ledger-slot-supplier.js';
export { MemorySlotSupplier, type MemorySlotSupplierOptions } from './suppliers/memory-slot-supplier.js';
export {
  type AdmitFn,
  PermitLedger,
  type PermitLedgerOptions,
  type PermitRecord,
} from './suppliers/permit-ledger.js';
export {
  type ChargedCost,
  ResourceSlotSupplier,
  type ResourceSupplierOptions,
  type ResourceSupplierSnapshot,
} from './suppliers/resource-slot-supplier.js';
export { COST_DIMENSIONS, type CostDimension, type TaskCost, type TaskCosts } from './suppliers/task-cost.js';
export type {
  PermitState,
  ReleaseReason,
  ReservationContext,
  ReservationResult,
  SlotType,
  SlotwisePermit,
  SupplierEvent,
  SupplierListener,
  SupplierSnapshot,
} from './suppliers/types.js';
