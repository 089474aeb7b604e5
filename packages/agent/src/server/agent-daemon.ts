/**
 * The agent process: loads its config and identity (refusing to start on anything wrong), then serves
 * the master's calls. It never dials out.
 */
import { writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { createLogger, initCodecs, type Logger } from "@pullback/common";
import { loadTlsIdentity } from "@pullback/common/pki/index";
import { createAgentServer, type AgentServer } from "@pullback/common/rpc/index";
import type { AgentConfig } from "../config/agent-config.js";
import { AGENT_VERSION } from "../version.js";
import { handleBackup } from "./backup-handler.js";
import { agentFacts } from "./info-handler.js";
import { handleRestore } from "./restore-handler.js";

export function identityPaths(cfg: AgentConfig) {
  return {
    ca: join(cfg.pkiDir, "ca.crt"),
    cert: join(cfg.pkiDir, "agent.crt"),
    key: join(cfg.pkiDir, "agent.key"),
    revocations: join(cfg.pkiDir, "revoked.json"),
  };
}

/** Loads and checks the identity; throws a PkiError naming the file and the remedy. */
export function loadAgentIdentity(cfg: AgentConfig) {
  return loadTlsIdentity(identityPaths(cfg), "agent", cfg.node);
}

export interface RunningAgent {
  server: AgentServer;
  port: number;
  log: Logger;
  close(): Promise<void>;
}

export async function startAgent(cfg: AgentConfig, log: Logger = createLogger("pullback-agent", cfg.log.level)): Promise<RunningAgent> {
  await initCodecs();
  const { identity, certificate } = loadAgentIdentity(cfg);
  const paths = identityPaths(cfg);
  const server = await createAgentServer(
    {
      info: () => agentFacts(cfg.node),
      backup: (s) => handleBackup(s, cfg, log),
      restore: (s) => handleRestore(s, cfg, log),
    },
    identity,
    {
      address: cfg.listen,
      agentVersion: AGENT_VERSION,
      onRefused: (reason, peer) => log.warn({ peer }, `refused a call: ${reason}`),
      onHandlerError: (err, method) => log.error({ err, method }, "handler failed"),
      onRevocationListAdopted: (json) => {
        // Write-then-rename: a crash never leaves a truncated list that would fail the next start.
        writeFileSync(`${paths.revocations}.tmp`, json, { mode: 0o644 });
        renameSync(`${paths.revocations}.tmp`, paths.revocations);
        log.info("adopted a newer revocation list from the master");
      },
    },
  );
  log.info({ listen: cfg.listen, port: server.port, node: cfg.node, certificateExpires: certificate.notAfter }, "agent listening");
  return { server, port: server.port, log, close: () => server.close() };
}
