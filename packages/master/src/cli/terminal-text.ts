/**
 * Text a node supplied (paths, warnings, progress, error details) can carry terminal control
 * sequences: ESC[2J wipes the screen, OSC 0 sets the window title, OSC 52 writes the clipboard, and
 * bidi overrides make a name read differently from what it is. Everything printed for people passes
 * through here, so a hostile node cannot drive the operator's terminal. --json needs none of this:
 * JSON.stringify already escapes C0 and DEL, and a JSON reader decodes the rest as text.
 */

// C0 (tab and newline included), DEL, C1, and the bidi embeddings, overrides and isolates.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

function visible(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One field from a node (a path, a warning): every control character shown as an escape, newline too. */
export function inlineText(text: string): string {
  return text.replace(CONTROL, visible);
}

/**
 * A whole block of output whose line breaks are ours. Fields that may hold a newline of their own
 * should go through inlineText first, so a file name cannot forge a line of the report.
 */
export function blockText(text: string): string {
  return text.replace(CONTROL_EXCEPT_NEWLINE, visible);
}
