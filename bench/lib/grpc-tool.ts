/**
 * "pullback grpc": the product's real path. A `pullback-agent serve` process holds the corpus and a
 * `pullback` master CLI process pulls it over mutually authenticated gRPC on loopback. Setup (init,
 * enroll, unpack the bundle, start the agent, add the source) is untimed; each timed step is one
 * master CLI process, and the agent is restarted before it so the agent's peak memory is the step's.
 */
import { join } from "node:path";
import { AgentProcess, freePort, unpackBundle, type TestDatabase } from "@pullback/testkit";
import { createCatalogDb } from "./catalog-db.js";
import { masterCommand, masterRun, parseBackupOutput, parseRestoreSeconds, type MasterEnv } from "./master-cli.js";
import type { BackupTool, StepExtras, StepName, ToolContext } from "./tools.js";

const NODE = "bench";
const SOURCE = "corpus";

interface Rig {
  master: MasterEnv;
  db: TestDatabase;
  agent: AgentProcess;
  lastSnapshot?: string;
}

/** `codec` null keeps the source's default codec (the product's default, as an operator gets it). */
export function pullbackGrpc(codec: string | null): BackupTool {
  let rig: Rig | null = null;
  const need = (): Rig => {
    if (!rig) throw new Error("pullback grpc: setup did not run");
    return rig;
  };
  return {
    name: codec ? `pullback grpc ${codec}` : "pullback grpc",
    needs: [{ binary: "tar", deb: "tar" }],
    async setup(c: ToolContext): Promise<void> {
      const db = await createCatalogDb();
      const master: MasterEnv = { home: c.repo, databaseUrl: db.url };
      const agentDir = join(c.scratch, "agent");
      rig = { master, db, agent: new AgentProcess(join(agentDir, "agent.yaml"), { env: { PULLBACK_LOG_LEVEL: "info" } }) };
      masterRun(master, ["init"]);
      const port = await freePort();
      const bundle = join(c.scratch, "bundle.tgz");
      const listen = `127.0.0.1:${port}`;
      masterRun(master, ["enroll", NODE, "--allow", c.corpus, "--restore-allow", c.target, "--listen", listen, "--address", listen, "--out", bundle]);
      unpackBundle(bundle, agentDir);
      await rig.agent.start();
      masterRun(master, ["source", "add", NODE, SOURCE, "--type", "fs", "--path", c.corpus, ...(codec ? ["--codec", codec] : [])]);
    },
    backup: (_c, round) => masterCommand(need().master, ["backup", NODE, SOURCE, "--level", round === 1 ? "full" : "incremental", "--json"]),
    restore: (c) => {
      const r = need();
      if (!r.lastSnapshot) throw new Error("pullback grpc: no snapshot to restore");
      return masterCommand(r.master, ["restore", r.lastSnapshot, "--node", NODE, "--target", c.target, "--json"]);
    },
    restoredRoot: (c) => c.target,
    async beforeStep(step: StepName): Promise<void> {
      if (step !== "init") await need().agent.start();
    },
    async afterStep(step: StepName, stdout: string): Promise<StepExtras> {
      const r = need();
      const agentPeakRssBytes = r.agent.peakRssBytes();
      if (step === "restore") return { agentPeakRssBytes, jobSeconds: parseRestoreSeconds(stdout) };
      const out = parseBackupOutput(stdout);
      r.lastSnapshot = out.snapshotId;
      return { agentPeakRssBytes, bytesSent: out.bytesSent, jobSeconds: out.jobSeconds };
    },
    async teardown(): Promise<void> {
      const r = rig;
      rig = null;
      if (!r) return;
      try {
        await r.agent.stop();
      } finally {
        await r.db.drop();
      }
    },
  };
}
