/** A path inside a config: object keys and array indices. */
export type ConfigPathSegments = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/**
 * Renders a path inside a config the way it reads in the file: `activity.supplier.parts[0].slots`;
 * keys that are not plain words are quoted (`costs.activities["send.email"]`).
 *
 * @example
 * ```ts
 * import { formatConfigPath } from 'slotwise/internal/config/config-path.js';
 * formatConfigPath(['activity', 'supplier', 'parts', 0, 'slots']); // => 'activity.supplier.parts[0].slots'
 * formatConfigPath(['activity', 'costs', 'activities', 'send.email']); // => 'activity.costs.activities["send.email"]'
 * ```
 */
export function formatConfigPath(path: ConfigPathSegments): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}
