import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import { HeapSlotSupplier } from '../../src/suppliers/heap-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { FakeSampler, GiB } from './fixtures/fake-sampler.js';
import { describeSupplierContract } from './supplier-contract.js';

// Readings never limit these: capacity comes from minSlots = maxSlots (CPU, memory) or from
// slotsPerDevice x visible devices (GPU, whose minSlots is 0 and whose readings show idle devices).

describeSupplierContract('CpuSlotSupplier', (capacity, logger) => {
  const sampler = new FakeSampler({ cpu: true });
  return new CpuSlotSupplier({ sampler: sampler.asSampler, minSlots: capacity, maxSlots: capacity, logger });
});

describeSupplierContract('MemorySlotSupplier', (capacity, logger) => {
  const sampler = new FakeSampler({ memory: true });
  sampler.memoryUsed(GiB, 16 * GiB);
  return new MemorySlotSupplier({
    sampler: sampler.asSampler,
    minSlots: capacity,
    maxSlots: capacity,
    logger,
  });
});

describeSupplierContract('HeapSlotSupplier', (capacity, logger) => {
  const sampler = new FakeSampler({ heap: true });
  sampler.heapUsed(GiB, 16 * GiB);
  return new HeapSlotSupplier({ sampler: sampler.asSampler, minSlots: capacity, maxSlots: capacity, logger });
});

describeSupplierContract('GpuSlotSupplier', (capacity, logger) => {
  const sampler = new FakeSampler({ gpu: true });
  const devices = capacity % 2 === 0 ? 2 : 1;
  sampler.gpus(Array.from({ length: devices }, (_, index) => ({ index })));
  return new GpuSlotSupplier({
    sampler: sampler.asSampler,
    slotsPerDevice: capacity / devices,
    rampThrottleMs: 0,
    costs: { default: { gpuMemoryBytes: GiB } },
    logger,
  });
});
