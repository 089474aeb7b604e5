export * from "./limits.js";
export * from "./errors.js";
// The class lives with the package's other errors; callers of the RPC layer find it here too.
export { RpcError } from "../errors.js";
export * from "./stream.js";
export * from "./credentials.js";
export * from "./server.js";
export * from "./client.js";
export * from "./call-watchdog.js";
export * from "./entry.js";
export * as wire from "./generated/agent.js";
export * from "./probe.js";
export type * from "./generated/agent.js";
