/**
 * @pullback/testkit: the one home of what the tests of every package and the benchmarks in bench/
 * share. Never shipped; nothing in a product package may import it.
 *
 * - createTestDatabase: a throwaway catalog database on the test PostgreSQL server.
 * - freePort: a free TCP port on loopback for an agent to listen on.
 * - AgentProcess: a real `pullback-agent serve` process, started and stopped.
 * - unpackBundle: an enrollment bundle unpacked into an agent's directory.
 * - MASTER_CLI, AGENT_CLI: the compiled command-line programs.
 */
export { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from "./test-database.js";
export { freePort } from "./free-port.js";
export { AgentProcess, type AgentProcessOptions } from "./agent-process.js";
export { unpackBundle } from "./agent-bundle.js";
export { MASTER_CLI, AGENT_CLI } from "./cli-paths.js";
