/**
 * The master's idle timeout must cut a stalled agent, not a healthy one in a quiet phase. Reading a
 * large sparse file yields no chunk and no entry until its end; the agent's heartbeat keeps the call
 * visibly alive. The control run (heartbeat slower than the phase) shows that the phase really is
 * longer than the idle timeout, so the test proves the heartbeat, not a fast disk.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testbed } from "./support/testbed.js";

let tb: Testbed;
let data: string;

/** A fresh file of holes each time: a file read before would come from the page cache, too fast to matter. */
function freshSparseFile(): void {
  rmSync(join(data, "disk.img"), { force: true });
  const fd = openSync(join(data, "disk.img"), "w");
  ftruncateSync(fd, 4 * 1024 ** 3);
  closeSync(fd);
}

async function setHeartbeat(seconds: number): Promise<void> {
  await tb.stopAgent("quiet");
  const cfg = tb.agentConfigPath("quiet");
  writeFileSync(cfg, readFileSync(cfg, "utf8").replace(/^heartbeatSeconds: .*$/m, `heartbeatSeconds: ${seconds}`));
  await tb.startAgent("quiet");
}

before(async () => {
  tb = await Testbed.create();
  data = join(tb.dir, "sparse");
  mkdirSync(data);
  await tb.addAgent("quiet", [data], [], "heartbeatSeconds: 300\n");
  tb.ok(["source", "add", "quiet", "img", "--path", data]);
});

after(async () => {
  await tb?.destroy();
});

test("an agent reading a long run of zeros beats its heartbeat and outlives a 1 s idle timeout", async () => {
  // Control: beats rarer than the quiet phase, and the idle timeout cuts the backup.
  freshSparseFile();
  const cut = await tb.cliAwait(["backup", "quiet", "img", "--level", "full", "--idle-timeout", "1s"]);
  assert.equal(cut.code, 1, cut.stdout);
  assert.match(cut.stderr, /agent quiet sent nothing for 1 s \(idle timeout\)/);

  await setHeartbeat(0.25);
  freshSparseFile();
  const started = Date.now();
  const r = await tb.cliAwait(["backup", "quiet", "img", "--level", "full", "--idle-timeout", "1s", "--json"]);
  const secs = (Date.now() - started) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(secs > 2, `the quiet phase lasted ${secs} s: too short to prove anything against a 1 s idle timeout`);
});
