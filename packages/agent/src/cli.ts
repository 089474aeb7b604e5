#!/usr/bin/env node
/**
 * `pullback-agent serve --config FILE` runs the agent; `check` validates config and certificates and
 * exits (used by the installer). Exit codes: 0 ok, 1 failed, 2 usage, 4 bad config or certificates.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "@pullback/common";
import { join } from "node:path";
import { PkiError, assertNodeName, writeKeyRequest, writeRequestForKey } from "@pullback/common/pki/index";
import { loadAgentConfig } from "./config/agent-config.js";
import { installRaceHookFromEnv } from "./safe-fs/race-hook.js";
import { loadAgentIdentity, startAgent } from "./server/agent-daemon.js";
import { AGENT_VERSION } from "./version.js";

const HELP = `pullback-agent ${AGENT_VERSION}: answers a Pullback master's backup and restore calls (mTLS gRPC).

usage:
  pullback-agent serve --config FILE   listen for the master (see deploy/examples/agent.yaml)
  pullback-agent check --config FILE   validate the config and certificates, then exit
  pullback-agent keygen --dir PKI_DIR --node NODE
                                       make this node's key (stays here) and a CSR for the CA
  pullback-agent csr --dir PKI_DIR --node NODE
                                       a new CSR for the existing key (certificate renewal)
  pullback-agent --version

Options: --json (check: machine-readable result), -h/--help.
Exit codes: 0 ok, 1 failed, 2 usage error, 4 invalid config or certificates.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: "string" }, dir: { type: "string" }, node: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" }, version: { type: "boolean" } },
  });
  if (values.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  const cmd = positionals[0];
  if (values.help || !cmd) {
    process.stdout.write(HELP + "\n");
    return values.help ? 0 : 2;
  }
  if (cmd === "keygen" || cmd === "csr") {
    if (!values.dir || !values.node) {
      process.stderr.write(`pullback-agent: ${cmd} needs --dir PKI_DIR (the agent's pki directory) and --node NODE\n`);
      return 2;
    }
    const node = assertNodeName(values.node);
    const csr = join(values.dir, "agent.csr");
    if (cmd === "keygen") await writeKeyRequest(values.dir, "agent", node);
    else writeRequestForKey(join(values.dir, "agent.key"), csr, node);
    process.stdout.write(`wrote ${csr}; the key stays in ${values.dir}. Have the CA sign it: pullback enroll ${node} --csr agent.csr ... (or pullback ca sign --dir CA_DIR --node ${node} agent.csr)\n`);
    return 0;
  }
  if (cmd !== "serve" && cmd !== "check") {
    process.stderr.write(`pullback-agent: unknown command ${cmd}; see --help\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write("pullback-agent: --config FILE is required\n");
    return 2;
  }
  const cfg = loadAgentConfig(values.config);
  if (cmd === "check") {
    const { certificate } = loadAgentIdentity(cfg);
    const result = { ok: true, node: cfg.node, listen: cfg.listen, certificateExpires: certificate.notAfter, backupAllow: cfg.backup.allow, restoreAllow: cfg.restore.allow };
    process.stdout.write(values.json ? JSON.stringify(result) + "\n" : `agent config OK: node ${cfg.node}, listening on ${cfg.listen}, certificate valid until ${String(certificate.notAfter)}\n`);
    return 0;
  }
  installRaceHookFromEnv(process.env);
  const agent = await startAgent(cfg);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      agent.log.info(`${sig}: shutting down`);
      agent.close().then(resolve, resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    const config = err instanceof ConfigError || err instanceof PkiError;
    process.stderr.write(`pullback-agent: ${err.message}\n`);
    process.exit(config ? 4 : (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1);
  },
);
