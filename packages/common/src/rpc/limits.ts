/**
 * Protocol version and hard limits, shared by both sides so they cannot disagree.
 * Bump PROTOCOL_VERSION for any wire change an older peer cannot ignore; raise
 * MIN_PROTOCOL_VERSION only when the agent drops support for an old master.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;

const MiB = 1024 * 1024;
/** Largest plain chunk on the wire; the chunker's maximum must not exceed it. */
export const MAX_CHUNK_BYTES = 8 * MiB;
/**
 * gRPC message limit on both sides: one chunk plus headroom for incompressible data growing under
 * lz4/zstd (<1%) and the message framing. Anything bigger is a bug or an attack, and gRPC refuses
 * it before allocating it.
 */
export const MAX_MESSAGE_BYTES = MAX_CHUNK_BYTES + 1 * MiB;
/** 65,536 ids × 34 bytes ≈ 2.2 MiB per KnownChunks message. */
export const KNOWN_CHUNKS_PER_BATCH = 65_536;
/** BaseFiles messages are cut at this encoded size (a file with many chunk refs can be large). */
export const BASE_FILES_BATCH_BYTES = 2 * MiB;
/**
 * The largest EntryBatch the master takes: more is a hostile or broken agent, refused with its count.
 * Well above what an agent sends (ENTRY_BATCH_ENTRIES), so the agent's bound can move without a
 * protocol change.
 */
export const MAX_ENTRIES_PER_MESSAGE = 4096;
/**
 * An agent sends consecutive entries in one EntryBatch of at most this many entries and about this
 * many encoded bytes (a file with many chunk refs is large), whichever comes first; measured in
 * docs/decisions.md, "Entries per message". Far below MAX_MESSAGE_BYTES; one entry over the byte
 * bound still goes, alone.
 */
export const ENTRY_BATCH_ENTRIES = 256;
export const ENTRY_BATCH_BYTES = 128 * 1024;
/** BackupStart.capabilities value: this master reads EntryBatch (an older one lists nothing). */
export const CAPABILITY_ENTRY_BATCH = "entry-batch";
/** Default unacknowledged chunk payload per session (see Ack in the proto): bounds both sides' memory. */
export const DEFAULT_WINDOW_BYTES = 32 * MiB;
/**
 * A Backup or Restore call whose agent sends nothing (and takes nothing) for this long fails: a
 * hung or hostile agent must not hold a job slot. Long enough for a database dump's first bytes.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
/** Info is a cheap call: an agent that cannot answer in this time is treated as down. */
export const INFO_DEADLINE_MS = 10_000;
/**
 * Keepalive: the master pings every 30 s so a dead node or a silently dropped NAT/firewall entry is
 * noticed within ~40 s, not after the kernel's TCP timeout. The agent allows pings that often.
 */
export const KEEPALIVE_TIME_MS = 30_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
