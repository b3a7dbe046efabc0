import type { ConfigIssue } from './config-error.js';
import { CONFIG_LIMITS } from './config-limits.js';
import { formatConfigPath } from './config-path.js';

interface Frame {
  value: unknown;
  key: string | number | undefined;
  parent: Frame | undefined;
  /** Levels of mappings and lists down to this value (the root is 1). */
  depth: number;
  /** Set on the marker that takes a container off the ancestors once its children are done. */
  leaving?: boolean;
}

/**
 * Checks that config data is small, shallow, plain data before anything recursive walks it (env
 * overrides copy it, the schema descends into it): at most {@link CONFIG_LIMITS}.maxDepth levels
 * of nesting, at most `maxValues` values (counted as expanded, so YAML aliases count each time
 * they are used), and no value that contains itself. The walk is iterative: 5000 levels of nesting
 * cannot exhaust the stack here. Returns the first problem, or `null`.
 *
 * @example
 * ```ts
 * import { checkConfigShape } from 'slotwise/internal/config/config-shape.js';
 * checkConfigShape({ activity: { supplier: { type: 'fixed', slots: 2 } } }); // => null
 * checkConfigShape(JSON.parse('['.repeat(100) + ']'.repeat(100)));
 * // => { path: '', message: 'expected at most 64 levels of mappings and lists inside one another, got more' }
 * ```
 */
export function checkConfigShape(data: unknown): ConfigIssue | null {
  const stack: Frame[] = [{ value: data, key: undefined, parent: undefined, depth: 1 }];
  const ancestors = new Map<object, Frame>();
  let values = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value } = frame;
    if (frame.leaving) {
      ancestors.delete(value as object);
      continue;
    }
    if (++values > CONFIG_LIMITS.maxValues) {
      return {
        path: '',
        message: `expected at most ${CONFIG_LIMITS.maxValues} values (mappings, lists and scalars), got more`,
      };
    }
    const isList = Array.isArray(value);
    if (!isList && !isPlainObject(value)) continue;
    const container = value as object;
    const outer = ancestors.get(container);
    if (outer !== undefined) {
      return {
        path: formatConfigPath(pathOf(frame)),
        message: `expected plain data, got a value that contains itself (${formatConfigPath(pathOf(outer)) || 'the root'})`,
      };
    }
    if (frame.depth > CONFIG_LIMITS.maxDepth) {
      return {
        path: '',
        message: `expected at most ${CONFIG_LIMITS.maxDepth} levels of mappings and lists inside one another, got more`,
      };
    }
    ancestors.set(container, frame);
    stack.push({ ...frame, leaving: true });
    const depth = frame.depth + 1;
    if (isList) {
      const list = value as unknown[];
      for (let i = list.length - 1; i >= 0; i--) stack.push({ value: list[i], key: i, parent: frame, depth });
    } else {
      const keys = Object.keys(container);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        stack.push({ value: (container as Record<string, unknown>)[key], key, parent: frame, depth });
      }
    }
  }
  return null;
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function pathOf(frame: Frame): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Frame | undefined = frame; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}
