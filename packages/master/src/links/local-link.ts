/** The master's own machine: sources run in this process, no agent and no network. */
import { backupFsSource } from "@pullback/agent";
import type { BackupProgress } from "@pullback/common";
import type { BackupRequest, BackupStream, NodeLink } from "./node-link.js";
import { NodeSetupError } from "../errors.js";
import { fsSourceConfig } from "./source-config.js";

export class LocalLink implements NodeLink {
  backup(req: BackupRequest, onProgress: (p: BackupProgress) => void): BackupStream {
    if (req.sourceType !== "fs") {
      throw new NodeSetupError(`source type ${req.sourceType} is not supported on local nodes yet`, "run an agent on this machine and add it as a node with `--address HOST:PORT`");
    }
    const cfg = fsSourceConfig(req.config);
    let read = 0;
    const events = backupFsSource(
      { root: cfg.path, excludes: cfg.excludes, codec: req.codec },
      {
        isKnown: (id) => req.knownChunks.has(id),
        prior: req.prior,
        onProgress: (p) => {
          read = p.bytesRead;
          onProgress(p);
        },
      },
    );
    return { events, bytesRead: () => read };
  }

  async close(): Promise<void> {}
}
