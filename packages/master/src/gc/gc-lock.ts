/**
 * The one lock between sealing backups and deleting chunks. A backup holds it shared while it
 * checks that the chunks it reuses still exist, writes its record and indexes its references; GC
 * holds it exclusive while it re-checks and deletes. So GC never deletes a chunk that a snapshot
 * sealed before the deletion references, and a backup never seals a reference to a deleted chunk.
 */
export const GC_LOCK = 0x50424743; // "PBGC"
