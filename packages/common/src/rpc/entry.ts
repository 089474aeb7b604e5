import type { Entry as ManifestEntry, EntryType } from "../manifest.js";
import { permissionBits } from "../entry-rules.js";
import { DAMAGED_MANIFEST_HINT, DamagedDataError, PEER_PROTOCOL_HINT } from "../errors.js";
import type { Entry as WireEntry } from "./generated/agent.js";

const ENTRY_TYPES: ReadonlySet<string> = new Set<EntryType>(["file", "dir", "symlink", "hardlink", "fifo", "chardev", "blockdev", "socket"]);

export function hexToId(hex: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new DamagedDataError(`not a chunk id: ${hex}`, DAMAGED_MANIFEST_HINT);
  return Buffer.from(hex, "hex");
}

export function idToHex(id: Uint8Array): string {
  if (id.length !== 32) throw new DamagedDataError(`chunk id must be 32 bytes, got ${id.length}`, PEER_PROTOCOL_HINT);
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
}

export function entryToWire(e: ManifestEntry, unchanged = false): WireEntry {
  const w: WireEntry = {
    path: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtimeNs: e.mtimeNs,
    atimeNs: e.atimeNs,
    ctimeNs: e.ctimeNs,
    size: e.size,
    ino: e.ino,
    dev: e.dev,
    chunks: (e.chunks ?? []).map((c) => ({ id: hexToId(c.id), off: c.off, len: c.len })),
    holes: (e.holes ?? []).map((h) => ({ off: h.off, len: h.len })),
    unchanged,
  };
  if (e.user !== undefined) w.user = e.user;
  if (e.group !== undefined) w.group = e.group;
  if (e.target !== undefined) w.target = e.target;
  if (e.rdev !== undefined) w.rdev = e.rdev;
  return w;
}

/**
 * Maps what a node sent to manifest data: the type must be known and ids must be SHA-256 sized.
 * Every other field is checked by checkEntry (entry-rules.ts) where the snapshot writer takes it.
 */
export function entryFromWire(w: WireEntry): ManifestEntry {
  if (!ENTRY_TYPES.has(w.type)) {
    throw new DamagedDataError(`entry ${JSON.stringify(w.path)} has unknown type ${JSON.stringify(w.type)}`, PEER_PROTOCOL_HINT);
  }
  const e: ManifestEntry = {
    path: w.path,
    type: w.type as EntryType,
    mode: permissionBits(w.type, w.mode),
    uid: w.uid,
    gid: w.gid,
    mtimeNs: w.mtimeNs,
    atimeNs: w.atimeNs,
    ctimeNs: w.ctimeNs,
    size: w.size,
    ino: w.ino,
    dev: w.dev,
  };
  if (w.user !== undefined) e.user = w.user;
  if (w.group !== undefined) e.group = w.group;
  if (w.target !== undefined) e.target = w.target;
  if (w.rdev !== undefined) e.rdev = w.rdev;
  if (w.chunks.length > 0) e.chunks = w.chunks.map((c) => ({ id: idToHex(c.id), off: c.off, len: c.len }));
  if (w.holes.length > 0) e.holes = w.holes.map((h) => ({ off: h.off, len: h.len }));
  return e;
}
