// `slotwise/activities`: what activity code imports (Node-side). The example activities are in
// `slotwise/examples/activities`.
export { ActivityContextError } from './activity-context.js';
export { cancellationSignal, isCancellation, isCancelled, throwIfCancelled } from './cancellation.js';
export { concurrencyActivities } from './concurrency-activities.js';
export { type CurrentSlot, currentSlot, releaseSlot, SlotPairingError } from './current-slot.js';
export { type EvictableWaitOptions, evictableWait, lastCheckpoint } from './evictable-wait.js';
export { EVICTION_FAILURE_TYPE, type EvictionReason, isEvictionFailure } from './eviction-failure.js';
export {
  type EvictionEvent,
  type EvictionListener,
  type EvictionStats,
  evictAllWaiting,
  evictionStats,
  onEviction,
} from './eviction-registry.js';
export {
  CommandFailedError,
  type ExecFileCancellableOptions,
  type ExecFileResult,
  execFileCancellable,
} from './exec-file-cancellable.js';
export {
  type ShutdownGracefullyOptions,
  type ShutdownReport,
  shutdownGracefully,
} from './graceful-shutdown.js';
export {
  type HeartbeatLoop,
  type HeartbeatLoopOptions,
  startHeartbeatLoop,
  withHeartbeats,
} from './heartbeat-loop.js';
export { slotwiseActivityInterceptor } from './slot-interceptor.js';
export {
  type RunInWorkerThreadOptions,
  runInWorkerThread,
  type WorkerThreadModuleTask,
} from './worker-thread.js';
