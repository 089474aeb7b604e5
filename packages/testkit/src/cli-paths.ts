/**
 * The compiled command-line entry points of this repository, for tests and benchmarks that run the
 * real programs as an operator would (`npm run build` must have run).
 */
import { fileURLToPath } from "node:url";

/** `pullback`, the master's CLI. */
export const MASTER_CLI = fileURLToPath(new URL("../../../master/dist/src/cli.js", import.meta.url));
/** `pullback-agent`, the agent's CLI. */
export const AGENT_CLI = fileURLToPath(new URL("../../../agent/dist/src/cli.js", import.meta.url));
