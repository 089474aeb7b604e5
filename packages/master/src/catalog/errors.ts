/** The catalog's errors, and the translation of Prisma's "no such row" into it. */
import { Prisma } from "./generated/client.js";

export class CatalogError extends Error {
  override name = "CatalogError";
}

/** A snapshot record the catalog refuses to index (a partial or corrupt manifest, a conflicting id or type). */
export class RecordError extends Error {
  override name = "RecordError";
}

/** A CatalogError naming `what` when Prisma reports a missing row or reference; undefined otherwise. */
export function notFound(err: unknown, what: string): CatalogError | undefined {
  if (err instanceof Prisma.PrismaClientKnownRequestError && (err.code === "P2025" || err.code === "P2003")) {
    return new CatalogError(`${what} does not exist in the catalog`, { cause: err });
  }
  return undefined;
}
