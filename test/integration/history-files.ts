import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { temporal } from '@temporalio/proto';

// The SDK parses JSON histories with `historyFromJSON`, whose protobufjs JSON extension comes from
// @temporalio/common's own copy of protobufjs while the History type comes from @temporalio/proto's
// copy; where npm installs two copies (as here, under a top-level protobufjs 7) it throws "type must
// be a Type". Parse with the extension of the copy that defines the type, and hand the Worker a
// History object.
const require = createRequire(import.meta.url);
const protoEntry = require.resolve('@temporalio/proto');
const { fromJson } = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(protoEntry)] }));
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root');
const historyType = patchProtobufRoot(require('@temporalio/proto')).lookupType(
  'temporal.api.history.v1.History',
);

type History = temporal.api.history.v1.IHistory;

/** A History object from the JSON of a history (as `temporal workflow show --output json` or fetchHistory() writes it). */
export function parseHistoryJson(json: unknown): History {
  return fromJson(historyType, json, { ignoreUnknownFields: true });
}

/**
 * A copy of `history` without SDK flag `flag` in the lang flags of any completed workflow task: the
 * SDK then replays those tasks as if it had not used the flag.
 */
export function withoutLangFlag(history: History, flag: number): History {
  const { History: HistoryMessage } = temporal.api.history.v1;
  const copy = HistoryMessage.fromObject(HistoryMessage.toObject(HistoryMessage.fromObject(history)));
  for (const event of copy.events) {
    const metadata = event.workflowTaskCompletedEventAttributes?.sdkMetadata;
    if (metadata?.langUsedFlags) metadata.langUsedFlags = metadata.langUsedFlags.filter((f) => f !== flag);
  }
  return copy;
}
