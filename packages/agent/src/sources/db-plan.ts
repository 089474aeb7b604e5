/** A dump to run: which databases it will hold and, in replay order, the files and their commands. */
import type { DumpFileInfo } from "./db-layout.js";
import type { SkippedDatabase } from "./db-names.js";
import type { ToolCommand } from "./db-tools.js";

export interface DumpPlan {
  databases: string[];
  /** Databases the server listed that are left out because their names are unsafe (db-names.ts). */
  skipped: SkippedDatabase[];
  files: Array<DumpFileInfo & { command: ToolCommand }>;
}
