/**
 * @pullback/common: what the master and the agent both speak, so both sides agree by construction.
 * This file is the package's face for formats and data: content-defined chunking, codecs, chunk ids
 * (hash), the manifest and its entries, the rules an entry must obey, source events, paths and node
 * names, config-file loading and the logger. Two more faces, imported by their own path:
 * "@pullback/common/rpc/index" (the gRPC protocol: server, client, credit streams, wire types) and
 * "@pullback/common/pki/index" (certificates, keys, revocation, operator hints). Nothing else in src/
 * is public.
 */
export * from "./errors.js";
export * from "./chunker.js";
export * from "./codec.js";
export * from "./hash.js";
export * from "./manifest.js";
export * from "./entry-rules.js";
export * from "./node-text.js";
export * from "./paths.js";
export * from "./source-events.js";
export * from "./config-file.js";
export * from "./logger.js";
export * from "./zstd-bounded.js";
export * from "./chunk-verify.js";
