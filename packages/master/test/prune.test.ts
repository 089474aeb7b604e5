import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Testbed } from "./support/testbed.js";

interface Snap {
  id: string;
}
interface PruneOut {
  lines: { snapshot: string; action: "keep" | "forget"; why: string }[];
  gcCandidates: number;
  gc: { deleted: number } | null;
}
let tb: Testbed;

before(async () => {
  tb = await Testbed.create();
  const data = tb.localSource("docs");
  for (let i = 0; i < 5; i++) {
    writeFileSync(join(data, `f${i}.bin`), randomBytes(100_000));
    tb.ok(["backup", "here", "docs", "--level", "full"]);
  }
});
after(async () => {
  await tb?.destroy();
});

test("prune: --dry-run says what would go and which rule keeps each survivor; the real run forgets it and frees space", () => {
  const all = tb.json<Snap[]>(["snapshots", "here", "docs"]);
  assert.equal(all.length, 5);
  // Protect the oldest: keep-last 2 would forget it otherwise.
  tb.ok(["snapshot", "protect", all.at(-1)!.id]);
  const dry = tb.json<PruneOut>(["prune", "here", "docs", "--keep-last", "2", "--dry-run"]);
  const kept = dry.lines.filter((l) => l.action === "keep");
  assert.equal(kept.length, 3);
  assert.ok(kept.some((l) => /protected/.test(l.why)), JSON.stringify(kept));
  assert.ok(kept.filter((l) => /last snapshot/.test(l.why)).length === 2, JSON.stringify(kept));
  assert.equal(tb.json<Snap[]>(["snapshots", "here", "docs"]).length, 5, "a dry run changes nothing");

  const real = tb.json<PruneOut>(["prune", "here", "docs", "--keep-last", "2", "--gc"]);
  assert.equal(real.lines.filter((l) => l.action === "forget").length, 2);
  const left = tb.json<Snap[]>(["snapshots", "here", "docs"]).map((s) => s.id);
  assert.deepEqual(left.sort(), [all[0]!.id, all[1]!.id, all.at(-1)!.id].sort());
  // The policy's retention applies when no flags are given; the newest successful snapshot is never forgotten.
  tb.ok(["policy", "add", "tiny", "--rule", "0 3 * * *=full", "--keep-last", "1"]);
  tb.ok(["source", "set", "here", "docs", "--policy", "tiny"]);
  tb.ok(["snapshot", "protect", all.at(-1)!.id, "--off"]);
  const byPolicy = tb.json<PruneOut>(["prune", "here", "docs"]);
  assert.deepEqual(tb.json<Snap[]>(["snapshots", "here", "docs"]).map((s) => s.id), [all[0]!.id]);
  assert.equal(byPolicy.lines.filter((l) => l.action === "forget").length, 2);
  // Every survivor restores.
  assert.equal(tb.cli(["restore", all[0]!.id, "--target", join(tb.dir, "r")]).code, 0);
});
