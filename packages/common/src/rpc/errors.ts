/**
 * Turns what grpc-js reports on the master into an RpcError that names the node and says what to do.
 * The class itself lives in ../errors.ts with the package's other errors.
 */
import * as grpc from "@grpc/grpc-js";
import { RpcError } from "../errors.js";

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === "number";
}

/** The agent closed the connection right after the handshake: it refused our certificate. */
export function tlsRefusalError(node: string, address: string, explanation: string): RpcError {
  return new RpcError(grpc.status.UNAVAILABLE, `agent ${node} at ${address} refused the master's certificate: ${explanation}`);
}

/** Turns a grpc-js failure seen by the master into an operator-readable RpcError. */
export function describeCallError(e: unknown, node: string, address: string): RpcError {
  if (e instanceof RpcError) return e;
  if (!isServiceError(e)) return new RpcError(grpc.status.UNKNOWN, `agent ${node} at ${address}: ${String(e)}`);
  const details = e.details || e.message;
  switch (e.code) {
    case grpc.status.UNAVAILABLE:
      // OpenSSL's verdict on the agent's certificate (chain, dates, purpose), seen by this master.
      if (/certificate has expired|not yet valid|unable to verify|self[- ]signed|unsupported certificate purpose|unable to get/i.test(details)) {
        return new RpcError(
          e.code,
          `agent ${node} at ${address} presented a certificate this master refuses (${details})`,
          `re-enroll the node with \`pullback enroll ${node}\``,
        );
      }
      // Our own refusals from checkServerIdentity already name the problem and the remedy.
      return new RpcError(e.code, `cannot reach agent ${node} at ${address}: ${details}`);
    case grpc.status.DEADLINE_EXCEEDED:
      return new RpcError(e.code, `agent ${node} at ${address} did not answer in time`, "check that the agent runs and the port is reachable");
    case grpc.status.PERMISSION_DENIED:
      return new RpcError(e.code, `agent ${node} refused the master: ${details}`);
    case grpc.status.RESOURCE_EXHAUSTED:
      return new RpcError(e.code, `agent ${node}: message too large or too many calls (${details})`);
    default:
      return new RpcError(e.code, `agent ${node}: ${details}`);
  }
}
