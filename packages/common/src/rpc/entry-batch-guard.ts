/**
 * Counts the entries of a BackupResponse's EntryBatch in the encoded bytes, before anything is
 * decoded. Checking the count after decoding would come too late: a 9 MiB batch of empty entries is
 * 4.7 million of them, 1.7 GiB of heap and 12 s to decode (measured). The walk uses protobufjs's own
 * Reader (tag, size, skipType), so it reads the bytes exactly as the decoder then does — a second
 * batch field is merged into the first by the decoder and is counted with it here — and allocates
 * nothing per entry.
 */
import protobuf from "protobufjs/light.js";
import { DamagedDataError, PEER_PROTOCOL_HINT } from "../errors.js";
import { MAX_ENTRIES_PER_MESSAGE } from "./limits.js";

/** BackupResponse.entries and EntryBatch.entries in agent.proto; both are messages (wire type 2). */
const BATCH_FIELD = 7;
const ENTRY_FIELD = 1;
const LENGTH_DELIMITED = 2;

/** Throws when the message holds more than MAX_ENTRIES_PER_MESSAGE batched entries. */
export function refuseOversizeBatch(buf: Uint8Array): void {
  let count: number;
  try {
    count = countBatchedEntries(buf);
  } catch (err) {
    // A well-formed message always scans; refusing what does not is the safe side.
    throw new DamagedDataError(`the agent sent a malformed message (${(err as Error).message})`, PEER_PROTOCOL_HINT);
  }
  if (count > MAX_ENTRIES_PER_MESSAGE) {
    throw new DamagedDataError(`the agent sent ${count} entries in one message; at most ${MAX_ENTRIES_PER_MESSAGE} are accepted`, PEER_PROTOCOL_HINT);
  }
}

function countBatchedEntries(buf: Uint8Array): number {
  const r = protobuf.Reader.create(buf);
  let count = 0;
  while (r.pos < r.len) {
    const tag = r.tag();
    if (tag >>> 3 !== BATCH_FIELD || (tag & 7) !== LENGTH_DELIMITED) {
      r.skipType(tag & 7, 0, tag >>> 3);
      continue;
    }
    const end = r.size() + r.pos;
    if (end > r.len) throw new RangeError("index out of range");
    while (r.pos < end) {
      const inner = r.tag();
      if (inner >>> 3 === ENTRY_FIELD && (inner & 7) === LENGTH_DELIMITED) {
        count++;
        r.skip(r.size());
      } else r.skipType(inner & 7, 0, inner >>> 3);
    }
    if (r.pos !== end) throw new RangeError("an entry overruns its batch");
  }
  return count;
}
