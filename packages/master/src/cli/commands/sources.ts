import { parseCodec } from "@pullback/common";
import type { JsonObject } from "../../catalog/index.js";
import { sourceWireSpec } from "../../links/source-config.js";
import { checkName } from "../../store/snapshot-records.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { list, str, type Command } from "../command.js";
import { table } from "../output.js";
import { withContext } from "./with-context.js";

export const sourceAddCommand: Command = {
  name: ["source", "add"],
  usage:
    "pullback source add NODE NAME --type fs --path DIR [--exclude GLOB]... [--codec C]\n" +
    "       pullback source add NODE NAME --type mysql|postgres --connection NAME [--databases a,b] [--format plain|custom] [--no-globals] [--codec C]",
  summary: "define what to back up on a node: a directory tree, or databases through a connection the agent's config names",
  args: [2, 2],
  options: {
    type: { type: "string", default: "fs" },
    path: { type: "string" },
    exclude: { type: "string", multiple: true },
    connection: { type: "string" },
    databases: { type: "string" },
    format: { type: "string" },
    "no-globals": { type: "boolean" },
    codec: { type: "string" },
  },
  async run({ positionals, values, homeDir, out }) {
    const [node, name] = positionals as [string, string];
    checkName("source", name);
    const type = str(values, "type");
    let config: JsonObject;
    if (type === "fs") {
      const path = str(values, "path");
      if (!path?.startsWith("/")) throw new UsageError("--path must be an absolute directory on the node");
      config = { path, excludes: list(values, "exclude") };
    } else if (type === "mysql" || type === "postgres") {
      const connection = str(values, "connection");
      if (!connection) throw new UsageError(`--connection NAME is required: the ${type} connection defined under databases: in the agent's config (credentials stay on the node)`);
      config = { connection, databases: (str(values, "databases") ?? "").split(",").map((d) => d.trim()).filter(Boolean) };
      const format = str(values, "format");
      if (format) config.format = format;
      if (values["no-globals"]) config.globals = false;
    } else throw new UsageError(`--type must be fs, mysql or postgres (not ${String(type)})`);
    // Validate now, not at the first backup.
    const codec = str(values, "codec");
    try {
      sourceWireSpec(type, config);
      if (codec) parseCodec(codec);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const source = await withContext(homeDir, async (ctx) => {
      const catalog = await ctx.catalog();
      if (!(await catalog.nodes.get(node))) throw new UsageError(`no node ${node}: add it first with \`pullback node add ${node} --address HOST:PORT\``);
      return catalog.sources.ensure(node, name, type, config, codec);
    });
    out.result(source, () => `source ${source.node}/${source.name} (${source.type}) ${JSON.stringify(source.config)} codec ${source.codec}`);
    return EXIT.OK;
  },
};

export const sourceSetCommand: Command = {
  name: ["source", "set"],
  usage: "pullback source set NODE NAME --policy POLICY|none",
  summary: "attach a source to a policy (none: back it up only by hand)",
  args: [2, 2],
  options: { policy: { type: "string" } },
  async run({ positionals, values, homeDir, out }) {
    const policy = str(values, "policy");
    if (!policy) throw new UsageError("--policy POLICY (or none) is required");
    const [node, source] = positionals as [string, string];
    await withContext(homeDir, async (ctx) => (await ctx.catalog()).policies.setForSource(node, source, policy === "none" ? null : policy));
    out.result({ node, source, policy: policy === "none" ? null : policy }, () => `${node}/${source}: policy ${policy}`);
    return EXIT.OK;
  },
};

export const sourceListCommand: Command = {
  name: ["source", "list"],
  usage: "pullback source list [NODE]",
  summary: "list sources",
  args: [0, 1],
  async run({ positionals, homeDir, out }) {
    const sources = await withContext(homeDir, async (ctx) => (await ctx.catalog()).sources.list(positionals[0]));
    out.result(sources, () => table(["NODE", "SOURCE", "TYPE", "CODEC", "CONFIG"], sources.map((s) => [s.node, s.name, s.type, s.codec, JSON.stringify(s.config)])));
    return EXIT.OK;
  },
};
