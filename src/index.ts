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
export { FixedSlotSupplier, type FixedSlotSupplierOptions } from './suppliers/fixed-slot-supplier.js';
export { LedgerSlotSupplier, type SupplierBaseOptions } from './suppliers/ledger-slot-supplier.js';
export {
  type AdmitFn,
  PermitLedger,
  type PermitLedgerOptions,
  type PermitRecord,
} from './suppliers/permit-ledger.js';
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
