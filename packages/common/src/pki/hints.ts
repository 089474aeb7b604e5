/**
 * The operator-facing remedies, in one place so the CLI names they mention can follow the CLI.
 * Keep them imperative: they end error messages.
 */
export const hints = {
  reenrollAgent: (node: string | undefined) => `re-enroll the node with \`pullback enroll ${node ?? "NODE"}\``,
  renewMaster: () => "issue a new master certificate with `pullback init --renew-master-cert`",
  initCa: () => "create the CA with `pullback init` on the master (or point the config at the existing PKI directory)",
  checkPath: (what: string) => `check the ${what} path in the configuration`,
  clockOrRenew: (node: string | undefined) =>
    `check this machine's clock; if it is right, ${node ? hints.reenrollAgent(node) : hints.renewMaster()}`,
  copyRevocations: () => "copy a current revocation list from the master (`pullback revocations export`)",
} as const;
