export { type LivePageOptions, livePageHtml } from './live-page.js';
export {
  DEFAULT_METRIC_PREFIX,
  METRIC_DEFINITIONS,
  METRIC_NAMES,
  type MetricDefinition,
  type MetricKey,
  type MetricType,
  metricName,
  SUPPLIER_LABELS,
  type SupplierLabel,
} from './metric-names.js';
export { MetricsHistory } from './metrics-history.js';
export { MetricsPortInUseError } from './metrics-port-in-use-error.js';
export {
  type GpuSample,
  type MetricsSample,
  type SupplierSample,
  sampleFromMetrics,
} from './metrics-sample.js';
export {
  type HistoryResponse,
  type MetricsServer,
  type MetricsServerLimits,
  type MetricsServerOptions,
  startMetricsServer,
} from './metrics-server.js';
export {
  DEFAULT_HOLD_BUCKETS,
  DEFAULT_WAIT_BUCKETS,
  SlotwiseMetrics,
  type SlotwiseMetricsOptions,
  type TrackOptions,
} from './supplier-metrics.js';
export type {
  ChargedCostSnapshot,
  GpuReadingSnapshot,
  MetricsSnapshot,
  ResourceReadingsSnapshot,
  TrackableSupplier,
} from './trackable-supplier.js';
export { type TemporalWorkerType, workerTypeOf } from './worker-type.js';
