import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { describeSupplierContract } from './supplier-contract.js';

describeSupplierContract(
  'FixedSlotSupplier',
  (capacity, logger) => new FixedSlotSupplier({ slots: capacity, logger }),
);
