/**
 * The agent's send side of one backup. Consecutive entries go out together in one EntryBatch when the
 * master said it reads them (BackupStart.capabilities lists "entry-batch"); every other message
 * first sends the entries queued before it, so the master sees exactly the order the source produced
 * them in, as if each entry had come alone. An older master gets one Entry per message.
 *
 * A batch takes no flow-control credit: the CreditWindow counts chunk payload bytes, and entries never
 * counted (HTTP/2's own window and the byte bound below keep them small).
 */
import {
  CAPABILITY_ENTRY_BATCH,
  ENTRY_BATCH_BYTES,
  ENTRY_BATCH_ENTRIES,
  type BackupResponse,
  type BackupSession,
  type Entry as WireEntry,
} from "@pullback/common/rpc/index";

export class BackupSender {
  private readonly batching: boolean;
  private batch: WireEntry[] = [];
  private batchBytes = 0;

  constructor(private readonly session: BackupSession) {
    this.batching = session.start.capabilities.includes(CAPABILITY_ENTRY_BATCH);
  }

  /** Queues an entry; sends the batch once it is full (resolves when the stream can take more). */
  entry(e: WireEntry): Promise<void> {
    if (!this.batching) return this.session.send({ msg: "entry", entry: e });
    const bytes = encodedSizeBound(e);
    // One entry over the byte bound still goes, alone: the message limit is far above the bound.
    const before = this.batch.length > 0 && this.batchBytes + bytes > ENTRY_BATCH_BYTES ? this.flush() : undefined;
    this.batch.push(e);
    this.batchBytes += bytes;
    const full = this.batch.length >= ENTRY_BATCH_ENTRIES || this.batchBytes >= ENTRY_BATCH_BYTES;
    if (!full) return before ?? Promise.resolve();
    const sent = this.flush();
    return before ? Promise.all([before, sent]).then(() => undefined) : sent;
  }

  /** Sends the queued entries, then `msg`: nothing overtakes an entry the source produced before it. */
  send(msg: BackupResponse): Promise<void> {
    const flushed = this.flush();
    // Both writes are issued now, in order (a gRPC stream write is queued synchronously); then wait for both.
    const sent = this.session.send(msg);
    return Promise.all([flushed, sent]).then(() => undefined);
  }

  /** Sends the queued entries now (before waiting for credit, so the master is never kept waiting on them). */
  flush(): Promise<void> {
    if (this.batch.length === 0) return Promise.resolve();
    const entries = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    return this.session.send({ msg: "entries", entries: { entries } });
  }
}

/**
 * At least the entry's encoded size inside a batch, without encoding it: 3 bytes per UTF-16 unit of
 * text (UTF-8's worst case), 11 per 64-bit varint, a chunk ref's 32-byte id plus its two varints.
 */
function encodedSizeBound(e: WireEntry): number {
  const text = e.path.length + e.type.length + (e.user?.length ?? 0) + (e.group?.length ?? 0) + (e.target?.length ?? 0);
  return 128 + 3 * text + 56 * e.chunks.length + 24 * e.holes.length;
}
