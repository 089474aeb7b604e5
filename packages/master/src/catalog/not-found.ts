/** The translation of Prisma's "no such row" into a CatalogError naming what is missing. */
import { CatalogError } from "../errors.js";
import { Prisma } from "./generated/client.js";

/** A CatalogError naming `what` when Prisma reports a missing row or reference; undefined otherwise. */
export function notFound(err: unknown, what: string): CatalogError | undefined {
  if (err instanceof Prisma.PrismaClientKnownRequestError && (err.code === "P2025" || err.code === "P2003")) {
    return new CatalogError(`${what} does not exist in the catalog`, undefined, { cause: err });
  }
  return undefined;
}
