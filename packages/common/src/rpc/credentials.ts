import * as grpc from "@grpc/grpc-js";
import { checkPeer } from "../pki/peer.js";
import { PkiError } from "../errors.js";
import type { TlsIdentity } from "../pki/identity.js";

/**
 * Agent side. `checkClientCertificate = true` makes Node's TLS server request a client certificate
 * and reject (rejectUnauthorized defaults to true) any client without one chaining to our CA, or
 * expired, during the handshake. Only our CA is trusted: the system roots are never loaded.
 * Role and revocation are checked per call by the interceptor in server.ts.
 */
export function agentServerCredentials(id: TlsIdentity): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    Buffer.from(id.caPem),
    [{ private_key: Buffer.from(id.keyPem), cert_chain: Buffer.from(id.certPem) }],
    true,
  );
}

/**
 * Master side, for one node. OpenSSL verifies the chain to our CA and the dates; our
 * checkServerIdentity (grpc-js passes it to tls.connect, which calls it with the peer certificate
 * before the connection is used, replacing the default host-name check) then requires role agent,
 * the dialled node's name as DNS SAN, and a serial not on the revocation list. A refusal here
 * happens inside the handshake: the master sends no request at all.
 */
export function masterChannelCredentials(id: TlsIdentity, nodeName: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(id.caPem), Buffer.from(id.keyPem), Buffer.from(id.certPem), {
    checkServerIdentity: (_host, cert) => {
      const r = checkPeer(cert, { role: "agent", nodeName, revocations: id.revocations });
      return r instanceof PkiError ? r : undefined;
    },
  });
}
