import { integerRule, integerWhat, type SupplierOptionRule } from '../option-rules.js';

// The one source of the FixedSlotSupplier's options: each option's rule, default, documentation and
// whether config reload changes it in a running supplier (`live`). The constructor and `setSlots`
// check against these rules, the config schema (and so the JSON Schema) is built from them, and
// config reload applies the live ones. Internal: not exported from the package.

/** The options of a FixedSlotSupplier (besides `name`, `logger`, `floors`, `ceilings`, shared by every supplier). */
export const FIXED_OPTION_RULES = {
  slots: {
    what: integerWhat(1),
    schema: integerRule(1),
    doc: 'Permits outstanding at once at most, across every Worker and slot type it serves (at least 2 for workflow tasks).',
    live: true,
  },
} as const satisfies Record<string, SupplierOptionRule<number>>;
