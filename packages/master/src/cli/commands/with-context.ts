import { MasterContext } from "../../master-context.js";

/** Opens the master context for one command and always closes it (the embedded database too). */
export async function withContext<T>(homeDir: string, fn: (ctx: MasterContext) => Promise<T>): Promise<T> {
  const ctx = await MasterContext.open(homeDir, process.env.PULLBACK_LOG_LEVEL ?? "warn");
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
