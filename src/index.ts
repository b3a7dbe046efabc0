// `slotwise`: what a Worker process builds with. Suppliers and their options, the resource sampler
// and its monitors, the Worker helpers, config loading and hot reload, metrics, and a Temporal dev
// server for your own tests. Workflow code imports `slotwise/workflows`, activity code
// `slotwise/activities`, client code `slotwise/client`; the examples are in `slotwise/examples/*`.
// Every name here is listed in test/public-surface.test.ts: adding one is a decision, not an accident.
export { type BuildTunerOptions, type BuiltTuner, buildTuner } from './config/build-tuner.js';
export { ConfigError, type ConfigIssue } from './config/config-error.js';
export {
  type AppliedChange,
  type ConfigWatcher,
  type ReloadResult,
  type RestartRequiredChange,
  type WatchConfigOptions,
  watchConfig,
} from './config/config-watcher.js';
export { type LoadConfigOptions, type LoadedConfig, loadConfig } from './config/load-config.js';
export { type ParseConfigOptions, type ParsedConfig, parseConfig } from './config/parse-config.js';
export type { SlotwiseConfig, SlotwiseConfigInput } from './config/schema.js';
export { type DevServer, type DevServerOptions, startDevServer } from './dev-server/dev-server.js';
export {
  type EnsureTemporalCliOptions,
  ensureTemporalCli,
  TEMPORAL_CLI_VERSION,
  TemporalCliNotFoundError,
} from './dev-server/temporal-cli.js';
export { SlotwiseOptionsError } from './errors.js';
export { DEFAULT_FLEET_MANAGER_TASK_QUEUE } from './fleet/fleet-defaults.js';
export {
  FleetSlotSupplier,
  type FleetSlotSupplierOptions,
  type FleetSupplierSnapshot,
} from './fleet/fleet-slot-supplier.js';
export type { FleetTransport } from './fleet/fleet-transport.js';
export { MetricsPortInUseError } from './metrics/metrics-port-in-use-error.js';
export {
  type MetricsServer,
  type MetricsServerOptions,
  startMetricsServer,
} from './metrics/metrics-server.js';
export {
  SlotwiseMetrics,
  type SlotwiseMetricsOptions,
  type TrackOptions,
} from './metrics/supplier-metrics.js';
export type { MetricsSnapshot, TrackableSupplier } from './metrics/trackable-supplier.js';
export { CpuMonitor, type CpuMonitorOptions, type CpuReading } from './resources/cpu-monitor.js';
export { GpuMonitor, type GpuMonitorOptions, type GpuReading } from './resources/gpu-monitor.js';
export { HeapMonitor, type HeapMonitorOptions, type HeapReading } from './resources/heap-monitor.js';
export {
  MemoryMonitor,
  type MemoryMonitorOptions,
  type MemoryReading,
  type MemoryScope,
} from './resources/memory-monitor.js';
export {
  type ResourceSample,
  type ResourceSampleListener,
  ResourceSampler,
  type ResourceSamplerOptions,
} from './resources/sampler.js';
export {
  CompositeSlotSupplier,
  type CompositeSlotSupplierOptions,
  type CompositeSupplierSnapshot,
} from './suppliers/composite-slot-supplier.js';
export { CpuSlotSupplier, type CpuSlotSupplierOptions } from './suppliers/cpu-slot-supplier.js';
export { FixedSlotSupplier, type FixedSlotSupplierOptions } from './suppliers/fixed-slot-supplier.js';
export {
  type GpuAssignment,
  GpuSlotSupplier,
  type GpuSlotSupplierOptions,
} from './suppliers/gpu-slot-supplier.js';
export { HeapSlotSupplier, type HeapSlotSupplierOptions } from './suppliers/heap-slot-supplier.js';
export { LedgerSlotSupplier, type SupplierBaseOptions } from './suppliers/ledger-slot-supplier.js';
export { MemorySlotSupplier, type MemorySlotSupplierOptions } from './suppliers/memory-slot-supplier.js';
export {
  type ResourceBasedPreset,
  type ResourceBasedPresetOptions,
  type ResourceBasedSlotTypeOptions,
  resourceBasedTuner,
} from './suppliers/resource-based-tuner.js';
export {
  ResourceSlotSupplier,
  type ResourceSupplierOptions,
  type ResourceSupplierSnapshot,
} from './suppliers/resource-slot-supplier.js';
export type { SlotTypeCeilings, SlotTypeFloors } from './suppliers/slot-type-limits.js';
export type { TaskCost, TaskCosts } from './suppliers/task-cost.js';
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
export {
  type SlotwiseWorkerOptionsSettings,
  slotwiseWorkerOptions,
} from './worker/slotwise-worker-options.js';
export { type SlotwiseWorker, type WithSlotwiseOptions, withSlotwise } from './worker/with-slotwise.js';
