/**
 * Replays a database snapshot into a server. Entries arrive in snapshot order and their chunks in
 * any order; a client tool needs the dump as one ordered stream, so chunks wait in their slots until
 * everything before them has been written. The layout file comes first and is checked against the
 * server before any SQL runs: a restore never replaces an existing database unless told to.
 */
import type { Entry } from "@pullback/common";
import type { DbKind } from "../sources/db-connection.js";
import { decodeLayout, layoutPath, type DumpLayout } from "../sources/db-layout.js";
import { DbRestoreRefused } from "../errors.js";
import { startReplay, type Replay } from "./db-restore-replay.js";
import { droppable, type RestoreTarget } from "./db-restore-target.js";

/** Out-of-order chunks held at once. The master keeps only a few reads in flight, far below this. */
const MAX_BUFFERED = 256 * 1024 * 1024;
/** The layout is held in memory whole; a real one is a few hundred bytes per database. */
const MAX_LAYOUT = 16 * 1024 * 1024;

interface PendingFile {
  entry: Entry;
  slots: Array<Buffer | null>;
  next: number;
}

export interface DbRestoreOptions {
  kind: DbKind;
  connection: string;
  overwrite: boolean;
  onToolStart?(tool: string, pid: number): void;
}

export class DbRestoreSink {
  private readonly files: PendingFile[] = [];
  private readonly placements = new Map<string, Array<{ file: PendingFile; slot: number }>>();
  private cursor = 0;
  private buffered = 0;
  private layoutBytes: Buffer[] = [];
  private layout: DumpLayout | null = null;
  private replay: Replay | null = null;
  bytesWritten = 0;
  readonly dropped: string[] = [];

  constructor(
    private readonly target: RestoreTarget,
    private readonly opts: DbRestoreOptions,
  ) {}

  /** Announces an entry of the snapshot, in snapshot order. */
  async entry(e: Entry): Promise<void> {
    if (e.type === "dir") return;
    if (e.type !== "file") throw new DbRestoreRefused(`${e.path}: a ${this.opts.kind} snapshot holds only dump files, not a ${e.type}`);
    const chunks = e.chunks ?? [];
    if (e.holes?.length) throw new DbRestoreRefused(`${e.path}: a dump file cannot have holes; this is not a database snapshot`);
    if (this.files.length === 0 && e.path !== layoutPath(this.opts.kind)) {
      throw new DbRestoreRefused(`the snapshot does not start with ${layoutPath(this.opts.kind)}: it is not a ${this.opts.kind} dump snapshot`);
    }
    if (this.files.length === 0 && e.size > MAX_LAYOUT) throw new DbRestoreRefused(`${e.path} is implausibly large (${e.size} bytes)`);
    const file: PendingFile = { entry: e, slots: chunks.map(() => null), next: 0 };
    chunks.forEach((c, slot) => {
      const list = this.placements.get(c.id) ?? [];
      list.push({ file, slot });
      this.placements.set(c.id, list);
    });
    this.files.push(file);
    await this.pump();
  }

  /** Plain bytes of a chunk, already verified against `id` by the caller. */
  async chunk(id: string, plain: Buffer): Promise<void> {
    const p = this.placements.get(id)?.shift();
    if (!p) throw new DbRestoreRefused(`chunk ${id} was not announced by any entry`);
    if (this.placements.get(id)?.length === 0) this.placements.delete(id);
    const ref = p.file.entry.chunks![p.slot]!;
    if (plain.length !== ref.len) throw new DbRestoreRefused(`${p.file.entry.path}: chunk ${id} has ${plain.length} bytes, the entry says ${ref.len}`);
    p.file.slots[p.slot] = plain;
    this.buffered += plain.length;
    if (this.buffered > MAX_BUFFERED) throw new DbRestoreRefused(`more than ${MAX_BUFFERED >> 20} MiB of chunks arrived ahead of the one the dump needs next`);
    await this.pump();
  }

  /** Writes every byte that is next in order; finishes each file (and its tool) once complete. */
  private async pump(): Promise<void> {
    for (;;) {
      const f = this.files[this.cursor];
      if (!f) return;
      while (f.next < f.slots.length) {
        const data = f.slots[f.next];
        if (!data) return;
        f.slots[f.next++] = null;
        this.buffered -= data.length;
        await this.write(f, data);
      }
      await this.complete(f);
      this.cursor++;
    }
  }

  private async write(f: PendingFile, data: Buffer): Promise<void> {
    if (this.cursor === 0) {
      this.layoutBytes.push(data);
      return;
    }
    const r = this.replay ?? (await this.startReplay(f));
    this.bytesWritten += data.length;
    await r.write(data);
  }

  private async startReplay(f: PendingFile): Promise<Replay> {
    const info = this.layout!.files.find((x) => x.path === f.entry.path);
    if (!info) throw new DbRestoreRefused(`${f.entry.path} is not listed in the snapshot's ${layoutPath(this.opts.kind)}`);
    this.replay = startReplay(await this.target.replay(info), f.entry.path, this.opts.onToolStart);
    return this.replay;
  }

  private async complete(f: PendingFile): Promise<void> {
    if (this.cursor === 0) {
      this.layout = decodeLayout(Buffer.concat(this.layoutBytes), this.opts.kind);
      this.layoutBytes = [];
      await this.prepareServer(this.layout);
      return;
    }
    const r = this.replay ?? (await this.startReplay(f));
    this.replay = null;
    await r.end();
  }

  private async prepareServer(layout: DumpLayout): Promise<void> {
    const existing = new Set(await this.target.existing());
    const clash = layout.databases.filter((d) => existing.has(d));
    if (clash.length === 0) return;
    if (!this.opts.overwrite) {
      throw new DbRestoreRefused(
        `database(s) ${clash.join(", ")} already exist on connection ${this.opts.connection}; restore with overwrite to replace them, or drop them first`,
      );
    }
    const drop = clash.filter((d) => droppable(this.opts.kind, d));
    if (drop.length) await this.target.drop(drop);
    this.dropped.push(...drop);
  }

  /** Call after the last entry and chunk: fails if anything announced never arrived. */
  async finish(): Promise<{ files: number; bytesWritten: number }> {
    await this.pump();
    const missing = this.files.slice(this.cursor).map((f) => f.entry.path);
    if (missing.length) throw new DbRestoreRefused(`the restore ended before all chunks of ${missing.join(", ")} arrived`);
    return { files: this.files.length, bytesWritten: this.bytesWritten };
  }

  /** Stops a running tool, so a failed restore does not leave a client waiting on input forever. */
  async abort(): Promise<void> {
    const r = this.replay;
    this.replay = null;
    await r?.abort();
  }
}
