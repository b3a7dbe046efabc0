import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportedNames, hasDocComment } from './public-surface.js';

// The names each package entry point exports, exactly. Adding or removing one is a decision about
// the public API: make it here, on purpose, and document the name (JSDoc or the README).
const SURFACE: Record<string, string[]> = {
  '.': [
    'AppliedChange',
    'BuildTunerOptions',
    'BuiltTuner',
    'CompositeSlotSupplier',
    'CompositeSlotSupplierOptions',
    'CompositeSupplierSnapshot',
    'ConfigError',
    'ConfigIssue',
    'ConfigWatcher',
    'CpuMonitor',
    'CpuMonitorOptions',
    'CpuReading',
    'CpuSlotSupplier',
    'CpuSlotSupplierOptions',
    'DEFAULT_FLEET_MANAGER_TASK_QUEUE',
    'DevServer',
    'DevServerOptions',
    'EnsureTemporalCliOptions',
    'FixedSlotSupplier',
    'FixedSlotSupplierOptions',
    'FleetSlotSupplier',
    'FleetSlotSupplierOptions',
    'FleetSupplierSnapshot',
    'FleetTransport',
    'GpuAssignment',
    'GpuMonitor',
    'GpuMonitorOptions',
    'GpuReading',
    'GpuSlotSupplier',
    'GpuSlotSupplierOptions',
    'HeapMonitor',
    'HeapMonitorOptions',
    'HeapReading',
    'HeapSlotSupplier',
    'HeapSlotSupplierOptions',
    'LedgerSlotSupplier',
    'LoadConfigOptions',
    'LoadedConfig',
    'MemoryMonitor',
    'MemoryMonitorOptions',
    'MemoryReading',
    'MemoryScope',
    'MemorySlotSupplier',
    'MemorySlotSupplierOptions',
    'MetricsPortInUseError',
    'MetricsServer',
    'MetricsServerOptions',
    'MetricsSnapshot',
    'ParseConfigOptions',
    'ParsedConfig',
    'PermitState',
    'ReleaseReason',
    'ReloadResult',
    'ReservationContext',
    'ReservationResult',
    'ResourceBasedPreset',
    'ResourceBasedPresetOptions',
    'ResourceBasedSlotTypeOptions',
    'ResourceSample',
    'ResourceSampleListener',
    'ResourceSampler',
    'ResourceSamplerOptions',
    'ResourceSlotSupplier',
    'ResourceSupplierOptions',
    'ResourceSupplierSnapshot',
    'RestartRequiredChange',
    'SlotType',
    'SlotTypeCeilings',
    'SlotTypeFloors',
    'SlotwiseConfig',
    'SlotwiseConfigInput',
    'SlotwiseMetrics',
    'SlotwiseMetricsOptions',
    'SlotwiseOptionsError',
    'SlotwisePermit',
    'SlotwiseWorker',
    'SlotwiseWorkerOptionsSettings',
    'SupplierBaseOptions',
    'SupplierEvent',
    'SupplierListener',
    'SupplierSnapshot',
    'TEMPORAL_CLI_VERSION',
    'TaskCost',
    'TaskCosts',
    'TemporalCliNotFoundError',
    'TrackOptions',
    'TrackableSupplier',
    'WatchConfigOptions',
    'WithSlotwiseOptions',
    'buildTuner',
    'ensureTemporalCli',
    'loadConfig',
    'parseConfig',
    'resourceBasedTuner',
    'slotwiseWorkerOptions',
    'startDevServer',
    'startMetricsServer',
    'watchConfig',
    'withSlotwise',
  ],
  './activities': [
    'ActivityContextError',
    'CommandFailedError',
    'CurrentSlot',
    'EVICTION_FAILURE_TYPE',
    'EvictableWaitOptions',
    'EvictionEvent',
    'EvictionListener',
    'EvictionReason',
    'EvictionStats',
    'ExecFileCancellableOptions',
    'ExecFileResult',
    'HeartbeatLoop',
    'HeartbeatLoopOptions',
    'RunInWorkerThreadOptions',
    'ShutdownGracefullyOptions',
    'ShutdownReport',
    'SlotPairingError',
    'WorkerThreadModuleTask',
    'cancellationSignal',
    'concurrencyActivities',
    'currentSlot',
    'evictAllWaiting',
    'evictableWait',
    'evictionStats',
    'execFileCancellable',
    'isCancellation',
    'isCancelled',
    'isEvictionFailure',
    'lastCheckpoint',
    'onEviction',
    'releaseSlot',
    'runInWorkerThread',
    'shutdownGracefully',
    'slotwiseActivityInterceptor',
    'startHeartbeatLoop',
    'throwIfCancelled',
    'withHeartbeats',
  ],
  './workflows': [
    'ConcurrencyCancelledError',
    'ConcurrencyControllerSettings',
    'ConcurrencyControllerSnapshot',
    'ConcurrencyOptionsError',
    'ConcurrencyPolicy',
    'ConcurrencyRejectedError',
    'ConcurrencyStrategy',
    'EVICTION_FAILURE_TYPE',
    'EvictableActivityOptions',
    'WithConcurrencyOptions',
    'concurrencyControllerId',
    'concurrencyControllerWorkflow',
    'concurrencyShardOf',
    'concurrencyStateQuery',
    'evictableRetryPolicy',
    'fleetLeaseManagerWorkflow',
    'proxyEvictableActivities',
    'withConcurrency',
  ],
  './client': [
    'CancelOutcome',
    'CancelWorkflowsOptions',
    'CancelWorkflowsProgress',
    'CancelWorkflowsResult',
    'CancelWorkflowsTarget',
    'ConcurrencyNotRunningError',
    'ConcurrencyPriorityOptions',
    'ConcurrencyShard',
    'FleetNotRunningError',
    'cancelWorkflows',
    'concurrencyPriority',
    'getConcurrencyState',
    'getFleetState',
    'setFleetSlots',
  ],
  './examples/activities': [
    'ExampleActivities',
    'FeatureExampleActivities',
    'RenderThenUploadInput',
    'SimulatedWorkInput',
    'WaitForFileInput',
    'countPrimes',
    'exampleActivities',
    'renderThenUpload',
    'simulatedWork',
    'waitForFile',
  ],
  './examples/workflows': [
    'ConcurrencyExampleInput',
    'FanOutInput',
    'SingleFlightResult',
    'concurrencyControllerWorkflow',
    'concurrencyExampleWorkflow',
    'countPrimesWorkflow',
    'fanOutWorkflow',
    'renderJobsWorkflow',
    'singleFlightExampleWorkflow',
    'waitForFileWorkflow',
  ],
};

/** The source file of each package subpath (tsup builds dist/<entry>.js from it). */
const SOURCES: Record<string, string> = {
  '.': 'src/index.ts',
  './activities': 'src/activities/index.ts',
  './workflows': 'src/workflows/index.ts',
  './client': 'src/client/index.ts',
  './examples/activities': 'src/examples/activities.ts',
  './examples/workflows': 'src/examples/workflows.ts',
};

type Conditions = { import: { default: string }; require: { default: string } };
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, Conditions | string>;
};
const tsupConfig = readFileSync('tsup.config.ts', 'utf8');
const readme = readFileSync('README.md', 'utf8');

describe('the public surface', { timeout: 60_000 }, () => {
  it('package.json lists exactly these code entry points, each built by tsup from its source', () => {
    const code = Object.entries(packageJson.exports).filter(([subpath]) => !subpath.endsWith('.json'));
    expect(code.map(([subpath]) => subpath).sort()).toEqual(Object.keys(SURFACE).sort());
    for (const [subpath, conditions] of code) {
      // ./dist/examples/activities.js is tsup's entry 'examples/activities'.
      const entry = (conditions as Conditions).import.default.replace(/^\.\/dist\/(.*)\.js$/, '$1');
      expect((conditions as Conditions).require.default, subpath).toBe(`./dist/${entry}.cjs`);
      const key = entry === 'index' ? 'index' : `'${entry}'`;
      expect(tsupConfig, subpath).toContain(`${key}: '${SOURCES[subpath]}'`);
    }
  });

  for (const subpath of Object.keys(SURFACE)) {
    it(`slotwise${subpath.slice(1)} exports exactly the listed names`, () => {
      expect(exportedNames(SOURCES[subpath]!).map((e) => e.name)).toEqual(SURFACE[subpath]);
    });
  }

  it("the README's lists name exactly what each entry point exports", () => {
    const section = readme.split('### What each entry point exports\n')[1]!.split(/\n## /)[0]!;
    // Paragraphs (and the bullet list after `slotwise`:) start with the entry point's name.
    const listed = Object.fromEntries(
      section
        .split(/^`(slotwise[\w/]*)`:/m)
        .slice(1)
        .flatMap((part, i, parts) =>
          i % 2 === 0 ? [[part, [...new Set(parts[i + 1]!.match(/(?<=`)\w+(?=`)/g))].sort()]] : [],
        ),
    );
    const expected = Object.fromEntries(
      Object.entries(SURFACE).map(([subpath, names]) => [`slotwise${subpath.slice(1)}`, names]),
    );
    expect(listed).toEqual(expected);
  });

  it('every exported name has a doc comment or is named in the README', () => {
    const undocumented = Object.values(SOURCES).flatMap((source) =>
      exportedNames(source)
        .filter((e) => !hasDocComment(e.declaration) && !new RegExp(`\\b${e.name}\\b`).test(readme))
        .map((e) => `${source}: ${e.name} (declared in ${relative(process.cwd(), e.file)})`),
    );
    expect(undocumented).toEqual([]);
  });

  it('every constant of the source the README names is exported', () => {
    // A README that names an internal constant (`GROUP_LINGER_MS`) sends users to a name they cannot import.
    const exported = new Set(Object.values(SURFACE).flat());
    const declared = new Set(
      execFileSync('git', ['grep', '-h', '-o', '-E', 'export const [A-Z][A-Z0-9_]+', '--', 'src'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice('export const '.length)),
    );
    const named = [...readme.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!);
    const internal = [...new Set(named.filter((name) => declared.has(name) && !exported.has(name)))];
    expect(internal).toEqual([]);
  });
});
