/**
 * Cuts a plain-SQL PostgreSQL dump where it switches databases. Every psql a restore starts is
 * locked with `\restrict` and a key the dump cannot know, so psql refuses every meta-command in it
 * (`\!`, `\o`, `\copy … program`, `\i`, `\g |cmd`, and `\connect` too). The one meta-command a real
 * dump needs, pg_dump's and pg_dumpall's `\connect DB`, is taken out here and becomes a new psql
 * connected to DB, and the `\encoding NAME` pg_dump writes before it becomes that psql's client
 * encoding. The dump's own `\restrict KEY` / `\unrestrict KEY` pairs are dropped, since the
 * restore's lock replaces them.
 *
 * pg_dump 15.14 and later put everything but `\encoding` and `\connect` between such a pair. Inside
 * one, a line that only looks like a meta-command (in a function body, say) is passed on untouched,
 * and an `\unrestrict` that does not close the pair is passed on too, for psql to refuse.
 *
 * Safety does not depend on this being a faithful psql lexer: a line it misreads stays SQL and
 * reaches a locked psql, which refuses it and fails the restore. It looks only at whole lines that
 * start with a backslash, the only form pg_dump writes (see appendPsqlMetaConnect in its sources).
 */

export type ScriptPiece = { kind: "sql"; data: Buffer } | { kind: "connect"; database: string } | { kind: "encoding"; name: string };

/** pg_dump's lines are short; anything longer that starts with "\" is data (a COPY row) and passes on. */
const MAX_META_LINE = 64 * 1024;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

const RESTRICT_LINE = /^\\(un)?restrict ([A-Za-z0-9]{1,256})$/;
const ENCODING_LINE = /^\\encoding ([A-Za-z0-9_]{1,64})$/;
const CONNECT_PLAIN = /^\\connect ([A-Za-z0-9_]+)$/;
const CONNECT_QUOTED = /^\\connect "((?:[^"]|"")+)"$/;
const CONNECT_CONNINFO = /^\\connect -reuse-previous=on "((?:[^"]|"")+)"$/;
/** The conninfo pg_dump writes for other names: dbname= and a value, bare or in '…' with \' and \\. */
const CONNINFO_DBNAME = /^dbname=(?:([A-Za-z0-9_.]+)|'((?:[^'\\]|\\['\\])*)')$/;

/** The database a `\connect` line of pg_dump's own making switches to, or undefined for anything else. */
export function connectTarget(line: string): string | undefined {
  const plain = CONNECT_PLAIN.exec(line);
  if (plain) return plain[1];
  const quoted = CONNECT_QUOTED.exec(line);
  if (quoted) return quoted[1]!.replace(/""/g, '"');
  const conn = CONNECT_CONNINFO.exec(line);
  if (!conn) return undefined;
  const info = CONNINFO_DBNAME.exec(conn[1]!.replace(/""/g, '"'));
  if (!info) return undefined;
  return info[1] ?? info[2]!.replace(/\\(['\\])/g, "$1");
}

export class PsqlScriptSplitter {
  private atLineStart = true;
  /** A line that starts with a backslash, held until its end to see what it is. */
  private held: Buffer[] | null = null;
  private heldLen = 0;
  /** The key of the dump's own `\restrict` whose `\unrestrict` has not come yet. */
  private dumpKey: string | undefined = undefined;

  push(data: Buffer): ScriptPiece[] {
    const out: ScriptPiece[] = [];
    let from = 0;
    let i = 0;
    while (i < data.length) {
      if (this.held) {
        const nl = data.indexOf(NEWLINE, i);
        const end = nl < 0 ? data.length : nl + 1;
        this.held.push(data.subarray(i, end));
        this.heldLen += end - i;
        i = from = end;
        if (nl >= 0) {
          out.push(...this.resolve(Buffer.concat(this.held)));
          this.held = null;
          this.atLineStart = true;
        } else if (this.heldLen > MAX_META_LINE) {
          out.push({ kind: "sql", data: Buffer.concat(this.held) });
          this.held = null;
          this.atLineStart = false;
        }
        continue;
      }
      if (this.atLineStart && data[i] === BACKSLASH) {
        if (i > from) out.push({ kind: "sql", data: data.subarray(from, i) });
        this.held = [];
        this.heldLen = 0;
        continue;
      }
      const nl = data.indexOf(NEWLINE, i);
      i = nl < 0 ? data.length : nl + 1;
      this.atLineStart = nl >= 0;
    }
    if (i > from) out.push({ kind: "sql", data: data.subarray(from, i) });
    return out;
  }

  /** The end of the dump: a last line without a newline is resolved like any other. */
  end(): ScriptPiece[] {
    const held = this.held;
    this.held = null;
    return held ? this.resolve(Buffer.concat(held)) : [];
  }

  private resolve(line: Buffer): ScriptPiece[] {
    const text = line.toString("utf8").replace(/\r?\n$/, "");
    const restrict = RESTRICT_LINE.exec(text);
    if (restrict && !restrict[1] && this.dumpKey === undefined) {
      this.dumpKey = restrict[2];
      return [];
    }
    if (restrict && restrict[1] && restrict[2] === this.dumpKey) {
      this.dumpKey = undefined;
      return [];
    }
    if (this.dumpKey !== undefined) return [{ kind: "sql", data: line }];
    const encoding = ENCODING_LINE.exec(text);
    if (encoding) return [{ kind: "encoding", name: encoding[1]! }];
    const database = text.startsWith("\\connect ") ? connectTarget(text) : undefined;
    return database === undefined ? [{ kind: "sql", data: line }] : [{ kind: "connect", database }];
  }
}
