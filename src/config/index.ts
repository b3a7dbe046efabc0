/** Config: schema, loading (file + SLOTWISE_* environment), building a tuner, hot reload. Exports are listed by name. */
export { type BuildTunerOptions, type BuiltTuner, buildTuner } from './build-tuner.js';
export { parseByteSize } from './byte-size.js';
export { ConfigError, type ConfigIssue } from './config-error.js';
export { CONFIG_LIMITS } from './config-limits.js';
export {
  type AppliedChange,
  type ConfigWatcher,
  type ReloadResult,
  type RestartRequiredChange,
  type WatchConfigOptions,
  watchConfig,
} from './config-watcher.js';
export {
  DEFAULT_TEMPORAL_SLOTS,
  type EffectiveCompositeSupplier,
  type EffectiveConfig,
  type EffectiveFixedSupplier,
  type EffectiveResourceSupplier,
  type EffectiveSampler,
  type EffectiveSlotwiseSupplier,
  type EffectiveSupplier,
  type EffectiveTemporalFixedSize,
  type EffectiveTemporalResourceBased,
  effectiveConfig,
  NEXUS_SLOTS,
  slotwiseSuppliersOf,
} from './effective-config.js';
export {
  applyEnvOverrides,
  ENV_OVERRIDE_PREFIX,
  type EnvOverride,
  type EnvOverridesResult,
  SLOTWISE_OTHER_VARIABLES,
} from './env-overrides.js';
export { parseListenAddress } from './listen-address.js';
export { type LoadConfigOptions, type LoadedConfig, loadConfig } from './load-config.js';
export { type ParseConfigOptions, type ParsedConfig, parseConfig } from './parse-config.js';
export {
  CONFIG_SLOT_TYPES,
  type CompositeSupplierSpec,
  type ConfigSlotType,
  type FixedSupplierSpec,
  type ResourceSupplierSpec,
  type SlotTypeConfig,
  type SlotwiseConfig,
  type SlotwiseConfigInput,
  type SlotwiseSupplierSpec,
  type SupplierSpec,
  slotwiseConfigSchema,
  type TemporalFixedSizeSpec,
  type TemporalResourceBasedSpec,
} from './schema.js';
