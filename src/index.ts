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
