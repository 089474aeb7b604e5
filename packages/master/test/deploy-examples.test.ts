import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseConfigText } from "@pullback/common";
import { agentConfigSchema } from "@pullback/agent";
import { masterConfigSchema } from "../src/home/master-config.js";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));

test("the example configs under deploy/ are valid, so the docs cannot rot", () => {
  const agent = parseConfigText(readFileSync(`${repo}deploy/examples/agent.yaml`, "utf8"), "agent.yaml", agentConfigSchema);
  assert.ok(agent.backup.allow.length > 0);
  assert.deepEqual(Object.keys(agent.databases).sort(), ["main", "maria"]);
  const master = parseConfigText(readFileSync(`${repo}deploy/examples/master.yaml`, "utf8"), "master.yaml", masterConfigSchema);
  assert.equal(master.store, "store");
  for (const unit of ["pullback-agent.service", "pullback-master.service"]) {
    const text = readFileSync(`${repo}deploy/systemd/${unit}`, "utf8");
    assert.match(text, /^ExecStart=/m);
    assert.match(text, /^RestartPreventExitStatus=4$/m, "exit code 4 (bad config) must not restart in a loop");
  }
});
