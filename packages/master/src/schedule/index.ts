/** The scheduler's pure core: policies, calendar slots, windows, catch-up, retries and retention. */
export * from "./policy.js";
export * from "./duration.js";
export * from "./calendar.js";
export * from "./window.js";
export * from "./due.js";
export * from "./retry.js";
export * from "./retention.js";
