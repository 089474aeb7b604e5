/**
 * A node's storage quota, enforced while a backup receives: the node's usage when the backup began
 * plus what this session has added so far may not exceed it. Checked after every new chunk, so a
 * backup stops within one chunk of the limit instead of after receiving everything.
 */
import type { NodeRow } from "../catalog/index.js";
import { formatBytes } from "../cli/output.js";

export class QuotaExceededError extends Error {
  constructor(node: NodeRow, quota: number, sessionBytes: number) {
    super(
      `node ${node.name} is over its storage quota of ${formatBytes(quota)}: it used ${formatBytes(node.usedBytes)} before this backup, ` +
        `which added ${formatBytes(sessionBytes)} before it was stopped. Earlier snapshots are intact; what this backup stored is freed by the next \`pullback gc\`. ` +
        `Raise the quota (\`pullback node set ${node.name} --quota SIZE\`, or \`--quota none\`) or free space (\`pullback prune\`, then \`pullback gc\`), then run the backup again`,
    );
    this.name = "QuotaExceededError";
  }
}

/** A check for SnapshotWriter's `admitNewBytes`, or undefined when the node has no quota. */
export function quotaCheck(node: NodeRow): ((sessionBytes: number) => void) | undefined {
  const quota = node.quotaBytes;
  if (quota === null) return undefined;
  return (sessionBytes) => {
    if (node.usedBytes + sessionBytes > quota) throw new QuotaExceededError(node, quota, sessionBytes);
  };
}
