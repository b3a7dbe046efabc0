import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_FILE, slotwiseJsonSchema } from '../../src/config/json-schema.js';
import { loadConfig } from '../../src/config/load-config.js';

type Schema = Record<string, unknown>;

/** Every object schema inside `schema` that lists properties. */
function objectSchemas(schema: unknown, found: Schema[] = []): Schema[] {
  if (Array.isArray(schema)) {
    for (const item of schema) objectSchemas(item, found);
  } else if (typeof schema === 'object' && schema !== null) {
    if ((schema as Schema).type === 'object' && 'properties' in schema) found.push(schema as Schema);
    for (const value of Object.values(schema)) objectSchemas(value, found);
  }
  return found;
}

describe('slotwise JSON Schema', () => {
  it(`slotwiseJsonSchema() equals the committed ${JSON_SCHEMA_FILE} (else run: npx tsx scripts/generate-json-schema.ts)`, () => {
    const committed = JSON.parse(readFileSync(JSON_SCHEMA_FILE, 'utf8')) as unknown;
    expect(committed).toEqual(slotwiseJsonSchema());
  });

  it('slotwiseJsonSchema() forbids unknown keys in every object', () => {
    const objects = objectSchemas(slotwiseJsonSchema());
    // root, sampler (3), slot types (3), metrics, temporal; costs (2); suppliers: 7 slotwise + 6 inlined again + 2 Temporal;
    // floors, ceilings; resourceBased and its 4 slot-type options
    expect(objects.length).toBe(33);
    expect(objects.filter((schema) => schema.additionalProperties !== false)).toEqual([]);
  });

  it('slotwiseJsonSchema() says sizes are bytes or strings like "512MiB"', () => {
    const defs = slotwiseJsonSchema().$defs as Record<string, Schema>;
    expect(defs.byteSize).toEqual({
      description:
        'Bytes: a number, or a string with a unit: B, kB/KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "512MiB", "1.5 GiB". At most 2^53 - 1 bytes.',
      anyOf: [
        { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        { type: 'string', pattern: '^(\\d+(?:\\.\\d+)?) ?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$' },
      ],
    });
  });

  it('slotwiseJsonSchema() lists every supplier type a slot type accepts', () => {
    const defs = slotwiseJsonSchema().$defs as Record<string, Schema>;
    const resolve = (schema: Schema): Schema =>
      typeof schema.$ref === 'string' ? defs[schema.$ref.replace('#/$defs/', '')]! : schema;
    const [options, name] = defs.supplier!.anyOf as [{ oneOf: Schema[] }, Schema];
    const types = options.oneOf.map((option) => (resolve(option).properties as { type: Schema }).type.const);
    expect(types).toEqual([
      'fixed',
      'cpu',
      'memory',
      'gpu',
      'heap',
      'fleet',
      'composite',
      'temporal-fixed-size',
      'temporal-resource-based',
    ]);
    expect(name).toEqual({
      type: 'string',
      description: 'The name of a shared supplier (a key of `suppliers`): one instance, one budget.',
    });
  });

  it('loadConfig() accepts the documented examples/slotwise.yaml', async () => {
    const { effective } = await loadConfig('examples/slotwise.yaml', { env: false });
    expect(effective.activity).toMatchObject({ type: 'composite', name: 'activities' });
    expect(effective.localActivity).toMatchObject({ type: 'fixed', name: 'pool', shared: true, slots: 12 });
  });
});
