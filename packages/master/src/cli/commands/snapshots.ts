import type { Entry } from "@pullback/common";
import { forgetSnapshot } from "../../gc/forget-snapshot.js";
import { readManifest } from "../../store/manifest-io.js";
import { EXIT } from "../exit-codes.js";
import type { Command } from "../command.js";
import { formatBytes, table } from "../output.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

export const snapshotsCommand: Command = {
  name: ["snapshots"],
  usage: "pullback snapshots [NODE [SOURCE]]",
  summary: "list snapshots (from the catalog)",
  args: [0, 2],
  async run({ positionals, homeDir, out }) {
    const [node, source] = positionals;
    const rows = await withContext(homeDir, async (ctx) =>
      (await ctx.catalog()).snapshots.list({ ...(node ? { node } : {}), ...(source ? { source } : {}) }),
    );
    out.result(rows, () =>
      rows.length === 0
        ? "no snapshots"
        : table(
            ["ID", "NODE", "SOURCE", "LEVEL", "FINISHED", "FILES", "SIZE", "NEW", "STATUS"],
            rows.map((r) => [r.id, r.node, r.source, r.level, r.finishedAt.toISOString(), r.fileCount, formatBytes(r.bytesTotal), formatBytes(r.bytesNew), r.protected ? `${r.status},protected` : r.status]),
          ),
    );
    return EXIT.OK;
  },
};

function modeString(e: Entry): string {
  const t = { file: "-", dir: "d", symlink: "l", hardlink: "h", fifo: "p", chardev: "c", blockdev: "b", socket: "s" }[e.type];
  const bits = "rwxrwxrwx".split("").map((c, i) => (e.mode & (1 << (8 - i)) ? c : "-")).join("");
  return t + bits;
}

export const lsCommand: Command = {
  name: ["ls"],
  usage: "pullback ls SNAPSHOT [PATH]",
  summary: "list the entries of a snapshot (from the store: works without the catalog)",
  args: [1, 2],
  async run({ positionals, homeDir, out }) {
    const [id, prefix] = positionals as [string, string | undefined];
    const p = prefix?.replace(/^\/+|\/+$/g, "");
    const entries = await withContext(homeDir, async (ctx) => {
      const record = await ctx.store.snapshots.find(id);
      const found: Entry[] = [];
      for await (const e of readManifest(ctx.store.chunks, record.manifest)) {
        if (!p || e.path === p || e.path.startsWith(p + "/")) found.push(e);
      }
      return found;
    });
    out.result(
      entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtime: new Date(Number(BigInt(e.mtimeNs) / 1000000n)).toISOString(), target: e.target })),
      () =>
        entries
          .map((e) => `${modeString(e)} ${inlineText(e.user ?? String(e.uid)).padEnd(8)} ${inlineText(e.group ?? String(e.gid)).padEnd(8)} ${String(e.size).padStart(12)} ${new Date(Number(BigInt(e.mtimeNs) / 1000000n)).toISOString()} ${inlineText(e.path)}${e.target ? (e.type === "symlink" ? ` -> ${inlineText(e.target)}` : ` => ${inlineText(e.target)}`) : ""}`)
          .join("\n"),
    );
    return EXIT.OK;
  },
};

export const versionsCommand: Command = {
  name: ["versions"],
  usage: "pullback versions NODE PATH [--source NAME]",
  summary: "every recorded version of a path on a node (file index search)",
  args: [2, 2],
  options: { source: { type: "string" } },
  async run({ positionals, values, homeDir, out }) {
    const [node, path] = positionals as [string, string];
    const source = typeof values.source === "string" ? values.source : undefined;
    const rows = await withContext(homeDir, async (ctx) =>
      (await ctx.catalog()).files.versions({ node, path: path.replace(/^\/+/, ""), ...(source ? { source } : {}) }),
    );
    out.result(rows, () =>
      rows.length === 0
        ? `no versions of ${path} on ${node}`
        : table(
            ["SOURCE", "TYPE", "SIZE", "MTIME", "FINGERPRINT", "SNAPSHOTS"],
            rows.map((r) => [r.source, r.type, r.size, new Date(Number(BigInt(r.mtimeNs) / 1000000n)).toISOString(), (r.fingerprint ?? "-").slice(0, 12), (r.snapshots ?? []).join(",")]),
          ),
    );
    return EXIT.OK;
  },
};

export const forgetCommand: Command = {
  name: ["forget"],
  usage: "pullback forget SNAPSHOT...",
  summary: "delete snapshots (their chunks are freed by the next `pullback gc`)",
  args: [1, 1000],
  async run({ positionals, homeDir, out }) {
    const done = await withContext(homeDir, async (ctx) => {
      const results = [];
      for (const id of positionals) {
        const record = await ctx.store.snapshots.find(id);
        results.push({ id: record.id, ...(await forgetSnapshot(ctx, record)) });
      }
      return results;
    });
    out.result(done, () => done.map((d) => `forgot ${d.id} (${d.gcCandidates} chunks now unreferenced)`).join("\n"));
    return EXIT.OK;
  },
};

export const protectCommand: Command = {
  name: ["snapshot", "protect"],
  usage: "pullback snapshot protect SNAPSHOT [--off]",
  summary: "protect a snapshot from prune and forget (--off removes the protection)",
  args: [1, 1],
  options: { off: { type: "boolean" } },
  async run({ positionals, values, homeDir, out }) {
    const on = values.off !== true;
    const id = await withContext(homeDir, async (ctx) => {
      const record = await ctx.store.snapshots.find(positionals[0]!);
      await (await ctx.catalog()).snapshots.setProtected(record.id, on);
      return record.id;
    });
    out.result({ id, protected: on }, () => `snapshot ${id} ${on ? "is protected" : "is no longer protected"}`);
    return EXIT.OK;
  },
};
