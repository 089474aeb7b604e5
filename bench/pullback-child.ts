/**
 * Pullback's side of the benchmark, run as its own process so /usr/bin/time measures its peak
 * memory alone, as it does for restic and borg. Uses the in-process library API (agent file source
 * feeding the master's snapshot writer, no network).
 *
 *   node bench/dist/pullback-child.js backup  STORE_DIR DATA_DIR CODEC   → prints the snapshot record
 *   node bench/dist/pullback-child.js restore STORE_DIR TARGET_DIR       → restores the latest snapshot
 */
import { Store, backupDirectory, restoreSnapshot } from "@pullback/master";
import { parseCodec } from "@pullback/common";

const NODE = "bench";
const SOURCE = "corpus";

async function backup(storeDir: string, dir: string, codec: string): Promise<void> {
  const store = await Store.create(storeDir); // opens the store when it already exists
  const record = await backupDirectory({ store, dir, node: NODE, source: SOURCE, level: "incremental", codec: parseCodec(codec) });
  process.stdout.write(JSON.stringify(record) + "\n");
}

async function restore(storeDir: string, target: string): Promise<void> {
  const store = await Store.open(storeDir);
  const all = await store.snapshots.list({ node: NODE, source: SOURCE });
  const latest = all.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
  if (!latest) throw new Error(`no snapshot of ${NODE}/${SOURCE} in ${storeDir}`);
  const result = await restoreSnapshot({ store, snapshot: latest, target });
  if (result.errors.length) throw new Error(`restore reported errors:\n${result.errors.join("\n")}`);
  process.stdout.write(JSON.stringify({ files: result.files, bytesWritten: result.bytesWritten }) + "\n");
}

async function main(argv: string[]): Promise<void> {
  const [cmd, a, b, c] = argv;
  if (cmd === "backup" && a && b && c) return backup(a, b, c);
  if (cmd === "restore" && a && b) return restore(a, b);
  throw new Error("usage: pullback-child backup STORE DIR CODEC | restore STORE TARGET");
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
