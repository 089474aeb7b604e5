/**
 * What a command or the daemon works with: the home, its store, the catalog and a logger. The catalog
 * opens lazily because it may start an embedded PostgreSQL, which read-only store commands don't need.
 */
import { createLogger, initCodecs, type Logger } from "@pullback/common";
import { openCatalog, type Catalog, type OpenedCatalog } from "./catalog/index.js";
import { databaseUrlFor, openHome, type MasterHome } from "./home/master-home.js";
import { Store } from "./store/store.js";

export class MasterContext {
  private opened: OpenedCatalog | undefined;

  private constructor(
    readonly home: MasterHome,
    readonly store: Store,
    readonly log: Logger,
  ) {}

  static async open(homeDir: string, logLevel?: string): Promise<MasterContext> {
    const home = openHome(homeDir);
    const log = createLogger("pullback-master", logLevel ?? home.config.log.level);
    // Every master command may decode chunks (manifests at least); the zstd decoder loads asynchronously.
    await initCodecs();
    return new MasterContext(home, await Store.open(home.storeDir), log);
  }

  async catalog(): Promise<Catalog> {
    if (!this.opened) {
      const url = databaseUrlFor(this.home);
      this.opened = await openCatalog({
        home: this.home.dir,
        ...(url ? { databaseUrl: url } : {}),
        logger: { info: (m) => this.log.info(m), warn: (m) => this.log.warn(m) },
      });
    }
    return this.opened.catalog;
  }

  async close(): Promise<void> {
    await this.opened?.close();
    this.opened = undefined;
  }
}
