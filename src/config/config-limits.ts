/**
 * Bounds on the work spent on one config, so that a hostile or broken file (an alias bomb, thousands
 * of nested lists, hundreds of thousands of keys, a FIFO or a device in place of the file) is refused
 * quickly with a {@link ConfigError} instead of exhausting the stack, the memory or the event loop of
 * a running Worker. A real config is far inside them: `examples/slotwise.yaml`, which documents every
 * key, is 4 KiB, 9 levels deep and about 200 values.
 *
 * @example
 * ```ts
 * import { CONFIG_LIMITS } from 'slotwise/internal/config/config-limits.js';
 * CONFIG_LIMITS.maxBytes; // => 262144
 * ```
 */
export const CONFIG_LIMITS = Object.freeze({
  /** Bytes a config file (or text) may hold: 256 KiB. A larger file is not read further. */
  maxBytes: 256 * 1024,
  /** Levels of mappings and lists inside one another (the root is level 1). */
  maxDepth: 64,
  /** Values in a config: every mapping, list, and scalar counts one. */
  maxValues: 50_000,
  /** YAML alias expansions, weighted as the `yaml` package does (an alias of aliases counts more). */
  maxAliasCount: 100,
  /** Problems listed in one {@link ConfigError}; one more line says how many were left out. */
  maxIssues: 100,
});
