import { describe, expect, it } from 'vitest';
import { effectiveConfig } from '../../src/config/effective-config.js';
import { slotwiseJsonSchema } from '../../src/config/json-schema.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { fixedSupplierSpecSchema, fleetSupplierSpecSchema } from '../../src/config/schema.js';
import { FleetSlotSupplier } from '../../src/fleet/fleet-slot-supplier.js';
import { FLEET_OPTION_RULES, type FleetOptionKey } from '../../src/fleet/fleet-supplier-options.js';
import { configKeys, type SupplierOptionRule } from '../../src/option-rules.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { FIXED_OPTION_RULES } from '../../src/suppliers/fixed-supplier-options.js';
import { FakeFleetManager } from '../fleet/fake-fleet-manager.js';

type JsonProperty = { default?: unknown; description?: string };

/** The JSON Schema's supplier object of `type`: its properties and required keys. */
function jsonSupplier(type: string): { properties: Record<string, JsonProperty>; required: string[] } {
  const defs = slotwiseJsonSchema().$defs as Record<string, { oneOf?: unknown[]; anyOf?: unknown[] }>;
  const variants = (defs.slotwiseSupplier!.oneOf ?? defs.slotwiseSupplier!.anyOf ?? []) as Array<{
    properties: Record<string, JsonProperty & { const?: string }>;
    required?: string[];
  }>;
  const variant = variants.find((v) => v.properties.type?.const === type);
  if (!variant) throw new Error(`no ${type} supplier in the JSON Schema`);
  return { properties: variant.properties, required: variant.required ?? [] };
}

/** The keys a supplier's config object has besides its rules' options. */
const COMMON_KEYS = ['type', 'name', 'floors', 'ceilings'];

describe('fixed and fleet supplier options: one source of rules and defaults', () => {
  it('the fleet supplier applies the defaults validate shows and the JSON Schema documents', async () => {
    const supplier = new FleetSlotSupplier({
      fleet: 'f',
      slots: 3,
      transport: new FakeFleetManager(3).transport(),
    });
    const applied = (supplier as unknown as { settings: Record<FleetOptionKey, unknown> }).settings;
    await supplier.close();
    const effective = effectiveConfig(
      parseConfig({ activity: { supplier: { type: 'fleet', fleet: 'f', slots: 3 } } }),
    ).activity as unknown as Record<string, unknown>;
    const json = jsonSupplier('fleet');
    const keys = Object.keys(FLEET_OPTION_RULES) as FleetOptionKey[];
    for (const key of keys) {
      const rule: SupplierOptionRule = FLEET_OPTION_RULES[key];
      if (rule.default === undefined) {
        expect({ key, required: json.required.includes(key) }).toEqual({ key, required: true });
        continue;
      }
      expect({ key, constructor: applied[key] }).toEqual({ key, constructor: rule.default });
      if (rule.inConfig === false) {
        expect({ key, json: json.properties[key] }).toEqual({ key, json: undefined });
        continue;
      }
      expect({ key, validate: effective[key] }).toEqual({ key, validate: rule.default });
      expect({ key, json: json.properties[key]?.default }).toEqual({ key, json: rule.default });
      expect(json.properties[key]?.description).toContain(`Default ${JSON.stringify(rule.default)}.`);
    }
    // Every option given is applied as given, not replaced by a default of the constructor's own.
    expect(applied).toEqual({
      fleet: 'f',
      slots: 3,
      namespace: 'default',
      leaseTtlMs: 30_000,
      lingerMs: 1000,
      managerTaskQueue: 'slotwise-fleet',
      minSyncIntervalMs: 20,
    });
  });

  it('the fixed supplier has no default: slots is required by the constructor, the config and the JSON Schema', () => {
    expect(() => new FixedSlotSupplier({} as never)).toThrow(
      'FixedSlotSupplier: expected `slots` to be an integer >= 1, got `undefined`.',
    );
    expect(() => parseConfig({ activity: { supplier: { type: 'fixed' } } })).toThrow(
      'activity.supplier.slots: expected an integer >= 1, but it is missing',
    );
    expect(jsonSupplier('fixed').required).toContain('slots');
  });

  it.each([
    ['fixed', FIXED_OPTION_RULES, fixedSupplierSpecSchema],
    ['fleet', FLEET_OPTION_RULES, fleetSupplierSpecSchema],
  ] as const)(
    'the config schema of a %s supplier has exactly the options its rules give it',
    (type, rules, schema) => {
      const optionKeys = Object.keys(schema.shape).filter((key) => !COMMON_KEYS.includes(key));
      expect({ type, keys: optionKeys.sort() }).toEqual({ type, keys: configKeys(rules).sort() });
      const json = jsonSupplier(type);
      for (const key of configKeys(rules)) {
        const rule: SupplierOptionRule = rules[key as keyof typeof rules];
        expect({ type, key, liveDoc: json.properties[key]?.description?.includes('Changes live') }).toEqual({
          type,
          key,
          liveDoc: rule.live === true,
        });
      }
    },
  );
});
