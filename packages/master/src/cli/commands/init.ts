import { openCatalog } from "../../catalog/index.js";
import { createHome, databaseUrlFor } from "../../home/master-home.js";
import { MasterPki } from "../../pki/master-pki.js";
import { Store } from "../../store/store.js";
import { EXIT } from "../exit-codes.js";
import type { Command } from "../command.js";

export const initCommand: Command = {
  name: ["init"],
  usage: "pullback init [--home DIR] [--renew-master-cert]",
  summary: "create the master's home: config, private CA, store and catalog (idempotent)",
  args: [0, 0],
  options: { "renew-master-cert": { type: "boolean" } },
  async run({ homeDir, values, out }) {
    const { home, created } = await createHome(homeDir);
    const store = await Store.create(home.storeDir);
    const pki = await new MasterPki(home.pkiDir).ensure({ renewMaster: values["renew-master-cert"] === true });
    const url = databaseUrlFor(home);
    const opened = await openCatalog({ home: home.dir, ...(url ? { databaseUrl: url } : {}) });
    const embedded = opened.embedded;
    await opened.close();
    const data = { home: home.dir, created, config: home.configPath, store: store.dir, storeId: store.config.id, catalog: embedded ? "embedded" : "external", pki: home.pkiDir, ...pki };
    out.result(data, () =>
      [
        `${created ? "Created" : "Found"} master home ${home.dir}`,
        `  config:  ${home.configPath}`,
        `  store:   ${store.dir}`,
        `  pki:     ${home.pkiDir}${pki.createdCa ? " (new private CA)" : ""}${pki.issuedMaster ? " (new master certificate)" : ""}`,
        `  catalog: ${embedded ? "embedded PostgreSQL in the home directory" : "external PostgreSQL (databaseUrl / DATABASE_URL)"}`,
      ].join("\n"),
    );
    return EXIT.OK;
  },
};
