/** Sources (what is backed up on a node: a path, a database server) and their configuration. */
import type { PrismaClient } from "./generated/client.js";
import { CatalogError } from "../errors.js";
import { toSourceRow } from "./map.js";
import type { NodeCatalog } from "./nodes.js";
import type { JsonObject, SourceRow, SourceType } from "./types.js";

export class SourceCatalog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly nodes: NodeCatalog,
  ) {}

  /** Creates the source, or updates its config (and codec) when given: the operator's config is current. */
  async ensure(node: string, name: string, type: SourceType, config?: JsonObject, codec?: string): Promise<SourceRow> {
    const nodeRow = await this.nodes.ensure(node);
    const existing = await this.prisma.source.findUnique({ where: { nodeId_name: { nodeId: nodeRow.id, name } } });
    if (existing && existing.type !== type) {
      throw new CatalogError(
        `source ${node}/${name} is of type ${existing.type} in the catalog, not ${type}: give the new source another name`,
      );
    }
    const source = await this.prisma.source.upsert({
      where: { nodeId_name: { nodeId: nodeRow.id, name } },
      create: { nodeId: nodeRow.id, name, type, config: config ?? {}, ...(codec ? { codec } : {}) },
      update: {
        ...(config ? { config } : {}),
        ...(codec ? { codec } : {}),
        ...(config || codec ? { updatedAt: new Date() } : {}),
      },
      include: { node: true },
    });
    return toSourceRow(source);
  }

  async list(node?: string): Promise<SourceRow[]> {
    const sources = await this.prisma.source.findMany({
      where: node ? { node: { name: node } } : {},
      include: { node: true },
      orderBy: [{ node: { name: "asc" } }, { name: "asc" }],
    });
    return sources.map(toSourceRow);
  }
}
