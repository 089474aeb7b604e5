import type { CallLimits } from "@pullback/common/rpc/index";
import type { NodeRow } from "../catalog/index.js";
import { NodeSetupError } from "../errors.js";
import type { MasterContext } from "../master-context.js";
import { MasterPki } from "../pki/master-pki.js";
import { GrpcLink } from "./grpc-link.js";
import { LocalLink } from "./local-link.js";
import type { NodeLink } from "./node-link.js";

/** Nodes added with `--local` have the address "local": the master backs up its own machine. */
export const LOCAL_ADDRESS = "local";

export function isLocal(node: NodeRow): boolean {
  return node.address === LOCAL_ADDRESS;
}

/**
 * Limits on one backup or restore session with an agent. Idle timeout by default: the master
 * config's timeouts.idleSeconds; deadline by default: none (a scheduled job's policy timeout aborts
 * it instead, and commands run by hand pass their own).
 */
export type SessionTimeouts = CallLimits;

export function dialNode(ctx: MasterContext, node: NodeRow, timeouts: SessionTimeouts = {}): GrpcLink {
  if (!node.address || isLocal(node)) throw new NodeSetupError(`node ${node.name} has no agent address`, `set one with \`pullback node add ${node.name} --address HOST:PORT\``);
  const pki = new MasterPki(ctx.home.pkiDir);
  return new GrpcLink(node.address, node.name, pki.masterIdentity(), pki.revocationList(), {
    idleMs: timeouts.idleMs ?? ctx.home.config.timeouts.idleSeconds * 1000,
    ...(timeouts.deadlineMs ? { deadlineMs: timeouts.deadlineMs } : {}),
  });
}

export async function connectNode(ctx: MasterContext, node: NodeRow, timeouts?: SessionTimeouts): Promise<NodeLink> {
  return isLocal(node) ? new LocalLink() : dialNode(ctx, node, timeouts);
}
