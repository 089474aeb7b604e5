/**
 * Who may get a snapshot's setuid/setgid bits and device nodes back. Onto the node that was backed
 * up they are restored as they were; onto any other node they would let a compromised node spread
 * (a setuid-root shell, a raw disk device in a user's directory), so they are stripped and skipped
 * unless the operator asks with --keep-special.
 */
export interface SpecialDecision {
  /** The operator gave --keep-special. */
  asked: boolean;
  /** The node the snapshot was taken on. */
  snapshotNode: string;
  /** The node restored onto; for a restore onto the master's own machine, its local node, if any. */
  targetNode: string | null;
}

export function keepSpecialFor(d: SpecialDecision): boolean {
  return d.asked || d.snapshotNode === d.targetNode;
}
