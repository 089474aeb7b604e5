import { dialNode, LOCAL_ADDRESS } from "../../links/connect-node.js";
import { checkName } from "../../store/snapshot-records.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { str, type Command } from "../command.js";
import { formatBytes, table } from "../output.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export const nodeAddCommand: Command = {
  name: ["node", "add"],
  usage: "pullback node add NODE (--address HOST:PORT | --local)",
  summary: "register a node: a remote agent the master dials, or --local for the master's own machine",
  args: [1, 1],
  options: { address: { type: "string" }, local: { type: "boolean" } },
  async run({ positionals, values, homeDir, out }) {
    const name = positionals[0]!;
    checkName("node", name);
    const address = values.local ? LOCAL_ADDRESS : str(values, "address");
    if (!address || (address !== LOCAL_ADDRESS && !HOST_PORT.test(address))) {
      throw new UsageError("give --address HOST:PORT (the agent's listening address) or --local");
    }
    const node = await withContext(homeDir, async (ctx) => (await ctx.catalog()).nodes.ensure(name, address));
    out.result(node, () => `node ${node.name} at ${node.address}`);
    return EXIT.OK;
  },
};

export const nodeListCommand: Command = {
  name: ["node", "list"],
  usage: "pullback node list",
  summary: "list registered nodes with their storage use and quota",
  args: [0, 0],
  async run({ homeDir, out }) {
    const nodes = await withContext(homeDir, async (ctx) => (await ctx.catalog()).nodes.list());
    out.result(nodes, () => table(["NODE", "ADDRESS", "USED", "QUOTA"], nodes.map((n) => [n.name, n.address ?? "-", formatBytes(n.usedBytes), quotaText(n.quotaBytes)])));
    return EXIT.OK;
  },
};

export const nodeSetCommand: Command = {
  name: ["node", "set"],
  usage: "pullback node set NODE --quota SIZE|none",
  summary: "change a node's settings: --quota caps the store bytes it may add (500M, 10G, 2T: powers of 1024; none: no limit)",
  args: [1, 1],
  options: { quota: { type: "string" } },
  async run({ positionals, values, homeDir, out }) {
    const name = positionals[0]!;
    const text = str(values, "quota");
    if (text === undefined) throw new UsageError("nothing to set: give --quota SIZE (e.g. 10G) or --quota none");
    const quota = parseQuota(text);
    const node = await withContext(homeDir, async (ctx) => {
      const catalog = await ctx.catalog();
      if (!(await catalog.nodes.get(name))) throw new UsageError(`no node ${name}: add it with \`pullback node add ${name} --address HOST:PORT\``);
      return catalog.nodes.setQuota(name, quota);
    });
    out.result(node, () => `node ${node.name}: quota ${quotaText(node.quotaBytes)}, ${formatBytes(node.usedBytes)} used`);
    return EXIT.OK;
  },
};

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "10G" (GiB), "1.5T", "500M", "none" → bytes or null. */
export function parseQuota(text: string): number | null {
  if (text.toLowerCase() === "none") return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(`invalid quota "${text}": give a size such as 500M, 10G or 2T (powers of 1024), or none for no limit`);
  }
  return bytes;
}

function quotaText(quota: number | null): string {
  return quota === null ? "none" : formatBytes(quota);
}



export const nodeInfoCommand: Command = {
  name: ["node", "info"],
  usage: "pullback node info NODE",
  summary: "ask a node's agent who it is, what it can do and which tools it has",
  args: [1, 1],
  async run({ positionals, homeDir, out }) {
    const info = await withContext(homeDir, async (ctx) => {
      const node = await (await ctx.catalog()).nodes.get(positionals[0]!);
      if (!node) throw new UsageError(`no node ${positionals[0]}: add it with \`pullback node add NODE --address HOST:PORT\``);
      const link = dialNode(ctx, node);
      try {
        return { ...(await link.info()), quotaBytes: node.quotaBytes, usedBytes: node.usedBytes };
      } finally {
        await link.close();
      }
    });
    out.result(info, () =>
      [
        `node ${info.nodeName} (host ${info.hostName}, ${info.os} ${info.arch})`,
        `  storage: ${formatBytes(info.usedBytes)} used, quota ${quotaText(info.quotaBytes)}`,
        `  agent ${info.agentVersion}, protocol ${info.minProtocolVersion}..${info.protocolVersion}`,
        `  capabilities: ${info.capabilities.join(", ")}`,
        ...info.tools.map((t) => `  ${t.name.padEnd(11)} ${t.path ? `${t.path}  ${t.version}` : "not found"}`),
      ]
        // Every field here is the agent's word: one line each, whatever it put in them.
        .map(inlineText)
        .join("\n"),
    );
    return EXIT.OK;
  },
};
