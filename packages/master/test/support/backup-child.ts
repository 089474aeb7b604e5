// Child process for the crash test: backs up argv[3] into the store at argv[2] and reports progress.
import { Store, backupDirectory } from "../../src/index.js";

const [storeDir, dir] = process.argv.slice(2) as [string, string];
const store = await Store.open(storeDir);
await backupDirectory({
  store,
  dir,
  node: "local",
  source: "crash",
  level: "full",
  onProgress: (p) => process.stdout.write(`${p.bytesRead}\n`),
});
process.stdout.write("sealed\n");
