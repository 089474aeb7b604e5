import { connect } from "node:tls";
import type { TlsIdentity } from "../pki/identity.js";
import { PkiError } from "../errors.js";
import { hints } from "../pki/hints.js";
import { verifyCertificate } from "../pki/verify.js";

/**
 * Why did the agent drop us? Node's TLS server checks the client certificate after the handshake
 * and simply closes the socket (no TLS alert), so grpc-js only says "Failed to connect". One plain
 * TLS connection tells the cases apart: a healthy gRPC server sends its HTTP/2 SETTINGS at once,
 * a server refusing our certificate closes without a byte. Resolves true for the latter.
 */
export function closedAfterHandshake(address: string, nodeName: string, id: TlsIdentity, timeoutMs = 3000): Promise<boolean> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    let handshook = false;
    let settled = false;
    const finish = (v: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const socket = connect({
      host,
      port,
      servername: nodeName,
      ca: id.caPem,
      cert: id.certPem,
      key: id.keyPem,
      ALPNProtocols: ["h2"],
      // Only the agent's verdict on us matters here; its certificate was judged already.
      checkServerIdentity: () => undefined,
    });
    socket.on("secureConnect", () => (handshook = true));
    socket.on("data", () => finish(false));
    socket.on("close", () => finish(handshook));
    socket.on("error", () => finish(false));
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.resume();
  });
}

/**
 * The agent refused our certificate; it does not say why, so judge it ourselves against our CA:
 * expired, wrong role and revoked show up here; if it passes, the agent trusts another CA.
 */
export function explainRefusedMaster(id: TlsIdentity, node: string): string {
  try {
    verifyCertificate(id.certPem, id.caPem, { role: "master", revocations: id.revocations });
  } catch (e) {
    if (e instanceof PkiError) return `this master's own certificate is unusable: ${e.message}`;
    throw e;
  }
  return `it does not trust this master's CA (enrolled by another master?): ${hints.reenrollAgent(node)}, and check the agent's log`;
}
