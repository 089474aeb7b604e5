import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfigText } from "@pullback/common";
import { checkAllowed } from "../src/config/allowlist.js";
import { NotAllowedError } from "../src/errors.js";
import { agentConfigSchema } from "../src/config/agent-config.js";

test("allowlists accept paths under an allowed root and refuse escapes through symlinks", async () => {
  const d = mkdtempSync(join(tmpdir(), "pullback-allow-"));
  mkdirSync(join(d, "srv/data"), { recursive: true });
  mkdirSync(join(d, "secret"));
  symlinkSync(join(d, "secret"), join(d, "srv/escape"));
  const allowed = [join(d, "srv")];
  assert.equal(await checkAllowed("backup", join(d, "srv/data"), allowed), join(d, "srv/data"));
  assert.equal(await checkAllowed("backup", join(d, "srv"), allowed), join(d, "srv"));
  await assert.rejects(checkAllowed("backup", join(d, "srv/escape"), allowed), (e: Error) => e instanceof NotAllowedError && /resolves to .*secret.*backup\.allow/.test(e.message));
  await assert.rejects(checkAllowed("backup", join(d, "srv/../secret"), allowed), NotAllowedError);
  await assert.rejects(checkAllowed("backup", join(d, "srvx"), allowed), NotAllowedError, "a sibling with a common prefix is not under the root");
  await assert.rejects(checkAllowed("backup", "relative/path", allowed), /not absolute/);
  // A restore target that does not exist yet is judged by its nearest existing ancestor.
  assert.equal(await checkAllowed("restore", join(d, "srv/new/deeper"), allowed), join(d, "srv/new/deeper"));
  await assert.rejects(checkAllowed("restore", join(d, "srv/escape/new"), allowed), NotAllowedError);
  await assert.rejects(checkAllowed("restore", join(d, "srv/data"), []), /lists \(none\)/);
  rmSync(d, { recursive: true, force: true });
});

test("agent config errors name the file, line and field", () => {
  const text = ["listen: 0.0.0.0:7443", "node: web1", "backup:", "  allow:", "    - relative/dir", "hooks:", "  freeze:", "    pre: 'not a list'"].join("\n");
  assert.throws(
    () => parseConfigText(text, "agent.yaml", agentConfigSchema),
    (e: Error) => e instanceof ConfigError && /agent\.yaml:5: backup\.allow\[0\]: must be an absolute path/.test(e.message) && /agent\.yaml:8: hooks\.freeze\.pre/.test(e.message),
  );
  assert.throws(() => parseConfigText("listen: [unclosed", "a.yaml", agentConfigSchema), /a\.yaml:1:\d+: not valid YAML/);
  assert.throws(() => parseConfigText("listen: x:1\nnode: n\nbackup: {allow: [/srv]}\nbogus: 1\n", "a.yaml", agentConfigSchema), /a\.yaml:\d+: .*bogus/);
  const ok = parseConfigText("listen: 127.0.0.1:7443\nnode: web1\nbackup:\n  allow: [/srv]\n", "a.yaml", agentConfigSchema);
  assert.deepEqual(ok.restore.allow, []);
  assert.equal(ok.pki, "pki");
});
