import { PkiError } from "../errors.js";

/**
 * Node names become the agent certificate's CN and DNS SAN, and the master matches them exactly, so
 * they must be valid DNS names in one canonical (lower-case) form.
 */
const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function assertNodeName(name: string): string {
  if (!NODE_NAME.test(name)) {
    throw new PkiError(
      "invalid-node-name",
      `"${name}" is not a valid node name`,
      "use a lower-case DNS name such as web1 or db1.example.org (letters, digits, '-', '.')",
    );
  }
  return name;
}

/** Serial numbers as one canonical string: lower-case hex without leading zeros (Node prints upper case). */
export function normalizeSerial(serial: string): string {
  const s = serial.toLowerCase().replace(/[^0-9a-f]/g, "").replace(/^0+/, "");
  return s === "" ? "0" : s;
}
