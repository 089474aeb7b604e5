/**
 * Feeds one dump file, in order, to the client tool that replays it. A plain stream goes to one
 * tool; a psql script goes to one locked psql per database it switches to (db-restore-psql-script.ts).
 * Either way the caller writes bytes and, at the end, learns whether the tools reported errors.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { DbRestoreRefused, DbToolError } from "../errors.js";
import { errorLines, startTool, type RunningTool, type ToolCommand } from "../sources/db-tools.js";
import { PsqlScriptSplitter, type ScriptPiece } from "./db-restore-psql-script.js";

export type ReplayPlan =
  | { kind: "stream"; command: ToolCommand; tolerated?: RegExp }
  /** A plain-SQL PostgreSQL dump: `command(undefined)` for its start, `command(db)` after `\connect db`. */
  | { kind: "psql-script"; command(database: string | undefined): ToolCommand; tolerated?: RegExp };

export interface Replay {
  write(data: Buffer): Promise<void>;
  /** Closes the input and waits for the tool; throws what it reported. */
  end(): Promise<void>;
  /** Stops the tool, so a failed restore does not leave a client waiting on input forever. */
  abort(): Promise<void>;
}

type OnToolStart = (tool: string, pid: number) => void;

/** psql's answer to a meta-command once `\restrict` is in force. */
const REFUSED_META = /backslash commands are restricted|\\unrestrict: wrong key/;

/** One running client tool with its stdin as the way in. */
class ToolFeed {
  private constructor(
    private readonly running: RunningTool,
    private readonly file: string,
    private readonly tolerated: RegExp | undefined,
  ) {}

  static async start(command: ToolCommand, file: string, tolerated: RegExp | undefined, onToolStart: OnToolStart | undefined): Promise<ToolFeed> {
    const running = await startTool(command, "pipe", `restore ${file}`, "ignore");
    // EPIPE when the tool quits early; its exit status and stderr tell the real story.
    running.child.stdin!.on("error", () => undefined);
    if (running.child.pid !== undefined) onToolStart?.(command.tool, running.child.pid);
    return new ToolFeed(running, file, tolerated);
  }

  async write(data: Buffer): Promise<void> {
    const stdin = this.running.child.stdin!;
    if (stdin.write(data)) return;
    // A tool that dies stops reading: its exit, not a drain that never comes, must end the wait.
    await Promise.race([
      once(stdin, "drain"),
      this.running.done.then(() => {
        throw new DbToolError(`restore ${this.file}: ${this.running.child.spawnfile} exited before reading the whole dump`, this.running.stderr());
      }),
    ]);
  }

  async end(): Promise<void> {
    this.running.child.stdin!.end();
    let stderr: string;
    try {
      ({ stderr } = await this.running.done);
    } catch (err) {
      throw (err instanceof DbToolError && refusedMeta(this.file, err.stderr)) || err;
    }
    const refused = refusedMeta(this.file, stderr);
    if (refused) throw refused;
    const errors = errorLines(stderr).filter((l) => !this.tolerated?.test(l));
    if (errors.length) {
      const shown = errors.slice(0, 10).join("; ") + (errors.length > 10 ? ` (and ${errors.length - 10} more)` : "");
      throw new DbToolError(`restore ${this.file}: ${this.running.child.spawnfile} reported errors: ${shown}`, stderr);
    }
  }

  async abort(): Promise<void> {
    this.running.child.kill("SIGTERM");
    await this.running.done.catch(() => undefined);
  }
}

/** A dump that tried to run psql meta-commands is not a dump of pg_dump's making: say so plainly. */
function refusedMeta(file: string, stderr: string): DbRestoreRefused | undefined {
  const lines = stderr.split("\n").filter((l) => REFUSED_META.test(l));
  if (lines.length === 0) return undefined;
  return new DbRestoreRefused(
    `restore ${file}: the dump contains psql meta-commands (shell, file or connection commands) that a restore never runs, ` +
      `and psql refused them: ${lines.slice(0, 5).join("; ")}. pg_dump does not write such commands: this snapshot was altered ` +
      `or not made by pg_dump. Do not load it by hand; restore it as files (--target DIR) to inspect it`,
  );
}

class StreamReplay implements Replay {
  private feed: ToolFeed | null = null;

  constructor(
    private readonly plan: Extract<ReplayPlan, { kind: "stream" }>,
    private readonly file: string,
    private readonly onToolStart: OnToolStart | undefined,
  ) {}

  private async open(): Promise<ToolFeed> {
    this.feed ??= await ToolFeed.start(this.plan.command, this.file, this.plan.tolerated, this.onToolStart);
    return this.feed;
  }

  async write(data: Buffer): Promise<void> {
    await (await this.open()).write(data);
  }

  async end(): Promise<void> {
    // An empty dump file: the tool still runs, and finds nothing to do.
    await (await this.open()).end();
  }

  async abort(): Promise<void> {
    await this.feed?.abort();
  }
}

class PsqlScriptReplay implements Replay {
  private readonly splitter = new PsqlScriptSplitter();
  private feed: ToolFeed | null = null;
  private database: string | undefined = undefined;
  private encoding: string | undefined = undefined;

  constructor(
    private readonly plan: Extract<ReplayPlan, { kind: "psql-script" }>,
    private readonly file: string,
    private readonly onToolStart: OnToolStart | undefined,
  ) {}

  private async open(): Promise<ToolFeed> {
    if (this.feed) return this.feed;
    const command = this.plan.command(this.database);
    if (this.encoding) command.env = { ...command.env, PGCLIENTENCODING: this.encoding };
    const feed = await ToolFeed.start(command, this.file, this.plan.tolerated, this.onToolStart);
    this.feed = feed;
    // A fresh key for every psql, never written anywhere but its stdin: nothing in the dump can
    // name it, so no `\unrestrict` in the dump can lift the lock.
    await feed.write(Buffer.from(`\\restrict ${randomBytes(32).toString("hex")}\n`));
    return feed;
  }

  private async apply(pieces: ScriptPiece[]): Promise<void> {
    for (const p of pieces) {
      if (p.kind === "sql") {
        await (await this.open()).write(p.data);
        continue;
      }
      if (p.kind === "encoding") {
        // As psql's \encoding does: for this connection and the ones after it.
        this.encoding = p.name;
        await this.feed?.write(Buffer.from(`SET client_encoding = '${p.name}';\n`));
        continue;
      }
      const done = this.feed;
      this.feed = null;
      await done?.end();
      this.database = p.database;
    }
  }

  async write(data: Buffer): Promise<void> {
    await this.apply(this.splitter.push(data));
  }

  async end(): Promise<void> {
    await this.apply(this.splitter.end());
    const last = this.feed;
    this.feed = null;
    await last?.end();
  }

  async abort(): Promise<void> {
    const feed = this.feed;
    this.feed = null;
    await feed?.abort();
  }
}

export function startReplay(plan: ReplayPlan, file: string, onToolStart?: OnToolStart): Replay {
  return plan.kind === "stream" ? new StreamReplay(plan, file, onToolStart) : new PsqlScriptReplay(plan, file, onToolStart);
}
