/**
 * The master's config file (<home>/master.yaml). Every path in it is relative to the home directory
 * unless absolute, so a home can be moved or restored as a whole.
 */
import { z } from "zod";
import { CODEC_SETTINGS, isCodecSetting } from "@pullback/common";

export const masterConfigSchema = z
  .object({
    /** Where chunks and snapshot records live. */
    store: z.string().min(1).default("store"),
    /** PostgreSQL for the catalog; absent: an embedded server in <home>/catalog. DATABASE_URL overrides. */
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
    defaults: z
      .object({
        codec: z.string().refine(isCodecSetting, `must be ${CODEC_SETTINGS}`).default("lz4"),
      })
      .strict()
      .default({ codec: "lz4" }),
    log: z
      .object({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info") })
      .strict()
      .default({ level: "info" }),
    timeouts: z
      .object({
        /** A backup or restore fails when its agent keeps the master waiting this long with nothing (scheduled jobs too). */
        idleSeconds: z.number().int().min(1).max(7 * 86_400).default(600),
        /** The longest a backup or restore started by hand may talk to its agent (scheduled jobs use their policy's timeout). */
        manualDeadlineSeconds: z.number().int().min(1).max(30 * 86_400).default(86_400),
      })
      .strict()
      .default({ idleSeconds: 600, manualDeadlineSeconds: 86_400 }),
  })
  .strict();

export type MasterConfig = z.infer<typeof masterConfigSchema>;

export const DEFAULT_CONFIG_TEXT = `# Pullback master configuration. Paths are relative to this file's directory.
store: store
# databaseUrl: postgres://pullback@db.example/pullback   # default: embedded PostgreSQL in ./catalog
defaults:
  codec: lz4          # none | lz4 | zstd | zstd:LEVEL
log:
  level: info
timeouts:
  idleSeconds: 600               # an agent silent this long fails its backup or restore
  manualDeadlineSeconds: 86400   # the longest a backup or restore started by hand may run
`;
