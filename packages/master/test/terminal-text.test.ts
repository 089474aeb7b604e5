import { test } from "node:test";
import assert from "node:assert/strict";
import { blockText, inlineText } from "../src/cli/terminal-text.js";

test("every character a terminal acts on is shown as an escape; other text is untouched", () => {
  assert.equal(inlineText("a\x1b]52;c;aGk=\x07b"), "a\\x1b]52;c;aGk=\\x07b");
  assert.equal(inlineText("\x00\x08\t\r\n\x7f"), "\\x00\\x08\\x09\\x0d\\x0a\\x7f");
  assert.equal(inlineText("\u0080\u009b\u009f"), "\\x80\\x9b\\x9f");
  assert.equal(inlineText("\u202a\u202e\u2066\u2069"), "\\u202a\\u202e\\u2066\\u2069");
  const plain = "Grüße/日本語/emoji 🎉 ~!@#$%^&*()\\ \u00a0\u200b";
  assert.equal(inlineText(plain), plain);
});

test("a block keeps its own line breaks and escapes everything else", () => {
  assert.equal(blockText("line 1\nline\x1b[2J 2\r\n"), "line 1\nline\\x1b[2J 2\\x0d\n");
  // A field escaped inline first cannot add a line to the block.
  assert.equal(blockText(`error: ${inlineText("a\nb")}`).split("\n").length, 1);
});
