import { z } from 'zod';
import { slotwiseConfigSchema } from './schema.js';

/**
 * The JSON Schema (draft 2020-12) of a slotwise config file, generated from the zod schema: what
 * editors use for completion and checks. It describes the file as written (sizes may be strings).
 * `schema/slotwise.schema.json` in the package is this, written by `scripts/generate-json-schema.ts`.
 *
 * @example
 * ```ts
 * import { slotwiseJsonSchema } from 'slotwise/internal/config/json-schema.js';
 * slotwiseJsonSchema().title; // => 'slotwise config'
 * ```
 */
export function slotwiseJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(slotwiseConfigSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
}

/** Where the package ships the JSON Schema, relative to the package root. */
export const JSON_SCHEMA_FILE = 'schema/slotwise.schema.json';

/**
 * {@link slotwiseJsonSchema} as the text of `schema/slotwise.schema.json`.
 *
 * @example
 * ```ts
 * import { slotwiseJsonSchemaText } from 'slotwise/internal/config/json-schema.js';
 * slotwiseJsonSchemaText().startsWith('{\n  "$schema"'); // => true
 * ```
 */
export function slotwiseJsonSchemaText(): string {
  return `${JSON.stringify(slotwiseJsonSchema(), null, 2)}\n`;
}
