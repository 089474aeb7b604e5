import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";

/** Unpacks an enrollment bundle (`pullback enroll --out`) into `dir`: agent.yaml, certificate and key. */
export function unpackBundle(bundle: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const t = spawnSync("tar", ["-xzf", bundle, "-C", dir], { encoding: "utf8" });
  if (t.status !== 0) throw new Error(`cannot unpack the agent bundle ${bundle}: ${t.stderr}`);
}
