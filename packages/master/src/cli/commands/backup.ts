import type { BackupLevel } from "@pullback/common";
import { runBackupJob } from "../../jobs/backup-job.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { str, type Command } from "../command.js";
import { formatBytes } from "../output.js";
import { manualSessionTimeouts, SESSION_TIMEOUT_OPTIONS, SESSION_TIMEOUT_USAGE } from "../session-timeouts.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

const LEVELS: BackupLevel[] = ["full", "differential", "incremental"];

export const backupCommand: Command = {
  name: ["backup"],
  usage: `pullback backup NODE SOURCE [--level full|differential|incremental] ${SESSION_TIMEOUT_USAGE}`,
  summary: "pull a backup of one source now (exit 3: completed with warnings)",
  args: [2, 2],
  options: { level: { type: "string", default: "incremental" }, ...SESSION_TIMEOUT_OPTIONS },
  async run({ positionals, values, homeDir, out }) {
    const [node, source] = positionals as [string, string];
    const level = str(values, "level") as BackupLevel;
    if (!LEVELS.includes(level)) throw new UsageError(`--level must be one of ${LEVELS.join(", ")}`);
    const { job, snapshot } = await withContext(homeDir, (ctx) =>
      runBackupJob(ctx, { node, source, level, timeouts: manualSessionTimeouts(ctx, values), onNote: (m) => out.note(m), onProgress: (p) => out.progress(p.files, p.bytesRead, p.currentPath) }),
    );
    const s = snapshot.stats;
    const secs = (Date.parse(snapshot.finishedAt) - Date.parse(snapshot.startedAt)) / 1000;
    out.result({ job: job.id, status: job.status, snapshot }, () =>
      [
        `snapshot ${snapshot.id} of ${node}/${source}: ${snapshot.level}${snapshot.level !== snapshot.requestedLevel ? ` (asked: ${snapshot.requestedLevel})` : ""}`,
        `  ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytesTotal)} in total`,
        `  read ${formatBytes(s.bytesRead)}, new ${formatBytes(s.bytesNew)}, stored ${formatBytes(s.bytesStored)}, sent ${formatBytes(s.bytesSent)} in ${secs.toFixed(1)} s`,
        ...(s.warnings ? [`  ${s.warnings} warning(s):`, ...snapshot.warnings.slice(0, 20).map((w) => `    ${inlineText(w)}`)] : []),
      ].join("\n"),
    );
    return s.warnings ? EXIT.WARNINGS : EXIT.OK;
  },
};
