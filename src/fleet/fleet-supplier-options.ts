import {
  integerRule,
  integerWhat,
  millisecondsRule,
  millisecondsWhat,
  type SupplierOptionRule,
  textRule,
  textWhat,
} from '../option-rules.js';
import { DEFAULT_FLEET_SETTINGS, MIN_LEASE_TTL_MS } from '../workflows/fleet/definitions.js';
import { DEFAULT_FLEET_MANAGER_TASK_QUEUE } from './fleet-defaults.js';

// The one source of the FleetSlotSupplier's scalar options: each option's rule, default,
// documentation, whether the config file has it and whether config reload changes it in a running
// supplier (`live`). The constructor and `setSlots` check against these rules, the config schema
// (and so the JSON Schema) is built from them, `validate`'s effective view fills in their defaults
// and config reload applies the live ones. The options that are objects (`connection`, `transport`,
// `managerSettings`, ...) are checked by the constructor. Internal: not exported from the package.

/** The largest fleet: what a lease manager accepts. */
export const MAX_FLEET_SLOTS = 1_000_000;

/** The scalar options of a FleetSlotSupplier, in the order they are documented. */
export const FLEET_OPTION_RULES = {
  fleet: {
    what: textWhat(200),
    schema: textRule(200),
    doc: 'The fleet: every process whose supplier names it shares one budget (lease manager workflow `slotwise-fleet:<fleet>`).',
  },
  slots: {
    what: integerWhat(1, MAX_FLEET_SLOTS),
    schema: integerRule(1, MAX_FLEET_SLOTS),
    doc: 'Permits outstanding at once across the whole fleet; the latest change wins (a process starting with another value, a config reload, `slotwise fleet set-slots`).',
    live: true,
  },
  namespace: {
    what: textWhat(1000),
    schema: textRule(1000),
    default: 'default',
    inConfig: false,
    doc: "Temporal namespace of the fleet (from a config: the Worker's namespace).",
  },
  leaseTtlMs: {
    what: millisecondsWhat(MIN_LEASE_TTL_MS),
    schema: millisecondsRule(MIN_LEASE_TTL_MS),
    default: DEFAULT_FLEET_SETTINGS.leaseTtlMs,
    doc: "Most milliseconds from a process's last renewal until its leases return to the fleet (used by a manager this process starts; a running manager keeps its own).",
  },
  lingerMs: {
    what: millisecondsWhat(0),
    schema: millisecondsRule(0),
    default: 1000,
    doc: 'Milliseconds a spare lease (no permit on it, no reservation waiting) is kept while no other process waits.',
  },
  managerTaskQueue: {
    what: textWhat(1000),
    schema: textRule(1000),
    default: DEFAULT_FLEET_MANAGER_TASK_QUEUE,
    doc: 'Task queue of the lease manager workflows.',
  },
  minSyncIntervalMs: {
    what: integerWhat(0),
    schema: integerRule(0),
    default: 20,
    inConfig: false,
    doc: 'Fewest milliseconds between two requests that replace one in flight (demand changes are batched over this window).',
  },
} as const satisfies Record<string, SupplierOptionRule<number> | SupplierOptionRule<string>>;

/** The name of one of {@link FLEET_OPTION_RULES}. */
export type FleetOptionKey = keyof typeof FLEET_OPTION_RULES;
