import { arch, hostname, platform, release } from "node:os";
import { CODEC_NAMES } from "@pullback/common";
import type { AgentFacts } from "@pullback/common/rpc/index";
import { discoverTools } from "../info/tools.js";
import { AGENT_VERSION } from "../version.js";

export const CAPABILITIES = ["source:fs", "restore:fs", "sparse", ...CODEC_NAMES.map((c) => `codec:${c}`)];

export async function agentFacts(nodeName: string): Promise<AgentFacts> {
  return {
    agentVersion: AGENT_VERSION,
    hostName: hostname(),
    nodeName,
    capabilities: CAPABILITIES,
    tools: await discoverTools(),
    os: `${platform()} ${release()}`,
    arch: arch(),
  };
}
