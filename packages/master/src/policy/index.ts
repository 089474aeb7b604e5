/** Backup policies as pure functions of the clock: schema, calendar slots, windows, catch-up, retries and retention. The scheduler/ loop and prune/ call them. */
export * from "./policy.js";
export * from "./duration.js";
export * from "./calendar.js";
export * from "./window.js";
export * from "./due.js";
export * from "./retry.js";
export * from "./retention.js";
