/**
 * Backup policies (schedule and retention, as JSON validated by the policy parser) and which
 * source follows which. Policies have no typed row of their own, so this is SQL (see index.ts).
 */
import type pg from "pg";
import { CatalogError } from "../errors.js";
import type { JsonObject } from "./types.js";

export interface PolicyListing {
  name: string;
  definition: JsonObject;
  /** "node/source" of every source that follows the policy. */
  sources: string[];
}

export interface ScheduledSource {
  node: string;
  source: string;
  policy: string;
  definition: JsonObject;
}

export class PolicyCatalog {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates or replaces a policy; `definition` must already be validated (policy/policy.ts). */
  async put(name: string, definition: JsonObject): Promise<void> {
    await this.pool.query(
      `INSERT INTO policies (name, definition) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()`,
      [name, JSON.stringify(definition)],
    );
  }

  async list(): Promise<PolicyListing[]> {
    const r = await this.pool.query<{ name: string; definition: JsonObject; sources: string[] | null }>(
      `SELECT p.name, p.definition, array_remove(array_agg(n.name || '/' || s.name ORDER BY n.name, s.name), NULL) AS sources
       FROM policies p LEFT JOIN sources s ON s.policy_id = p.id LEFT JOIN nodes n ON n.id = s.node_id
       GROUP BY p.id ORDER BY p.name`,
    );
    return r.rows.map((x) => ({ name: x.name, definition: x.definition, sources: x.sources ?? [] }));
  }

  /** Attaches a source to a policy (null detaches it). */
  async setForSource(node: string, source: string, policy: string | null): Promise<void> {
    const r = await this.pool.query(
      `UPDATE sources s SET policy_id = (SELECT id FROM policies WHERE name = $3), updated_at = now()
       FROM nodes n WHERE n.id = s.node_id AND n.name = $1 AND s.name = $2 AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM policies WHERE name = $3))`,
      [node, source, policy],
    );
    if (r.rowCount === 0) {
      throw new CatalogError(policy ? `no source ${node}/${source} or no policy ${policy}: check \`pullback source list\` and \`pullback policy list\`` : `no source ${node}/${source}`);
    }
  }

  /** Every source that has a policy, with the policy's definition. */
  async scheduledSources(): Promise<ScheduledSource[]> {
    const r = await this.pool.query<ScheduledSource>(
      `SELECT n.name AS node, s.name AS source, p.name AS policy, p.definition
       FROM sources s JOIN nodes n ON n.id = s.node_id JOIN policies p ON p.id = s.policy_id ORDER BY 1, 2`,
    );
    return r.rows;
  }
}
