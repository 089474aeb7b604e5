import * as grpc from "@grpc/grpc-js";
import type { Duplex } from "node:stream";
import type { TlsIdentity } from "../pki/identity.js";
import { assertNodeName } from "../pki/names.js";
import type { RevocationListFile } from "../pki/revocation.js";
import { masterChannelCredentials } from "./credentials.js";
import { CallWatchdog } from "./call-watchdog.js";
import { RpcError } from "../errors.js";
import { describeCallError, tlsRefusalError } from "./errors.js";
import { closedAfterHandshake, explainRefusedMaster } from "./probe.js";
import {
  AgentService,
  type Accepted,
  type BackupRequest,
  type BackupResponse,
  type BackupStart,
  type InfoResponse,
  type RestoreRequest,
  type RestoreResponse,
  type RestoreStart,
} from "./generated/agent.js";
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  INFO_DEADLINE_MS,
  KEEPALIVE_TIME_MS,
  KEEPALIVE_TIMEOUT_MS,
  MAX_MESSAGE_BYTES,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from "./limits.js";
import { messageSource, writeMessage, type MessageSource } from "./stream.js";

export interface ConnectOptions {
  masterVersion: string;
  /** The master's signed revocation list, pushed to the agent with every Info. */
  revocationList?: RevocationListFile;
  infoDeadlineMs?: number;
  /**
   * A Backup/Restore call fails when the agent keeps the master waiting this long with no message
   * and no room to send (default DEFAULT_IDLE_TIMEOUT_MS; 0: never).
   */
  idleTimeoutMs?: number;
  /** Overall deadline for a Backup/Restore call (none by default: the job runner's timeout cancels). */
  sessionDeadlineMs?: number;
  /** Only for tests of version negotiation: the protocol version this client claims. */
  protocolVersion?: number;
}

/** The master's end of one Backup or Restore call. */
export interface ClientSession<Out, In> {
  accepted: Accepted;
  /** Messages after Accepted. Rejects with an RpcError naming the node. */
  messages: MessageSource<In>;
  send(msg: Out): Promise<void>;
  /** Half-close: the master has nothing more to send. */
  end(): void;
  cancel(): void;
}

export type BackupClientSession = ClientSession<BackupRequest, BackupResponse>;
export type RestoreClientSession = ClientSession<RestoreRequest, RestoreResponse>;

export interface AgentClient {
  readonly nodeName: string;
  readonly address: string;
  info(): Promise<InfoResponse>;
  /** `protocolVersion` is filled in; resolves once the agent accepted (or rejects with its reason). */
  backup(start: Omit<BackupStart, "protocolVersion">): Promise<BackupClientSession>;
  restore(start: Omit<RestoreStart, "protocolVersion">): Promise<RestoreClientSession>;
  close(): void;
}

/**
 * A channel to one agent. `expectedNodeName` is the name the agent's certificate must carry,
 * whatever `address` is (an IP, a DNS alias): the check is on identity, not on how we reached it.
 */
export function connectAgent(address: string, expectedNodeName: string, id: TlsIdentity, opts: ConnectOptions): AgentClient {
  assertNodeName(expectedNodeName);
  const client = new grpc.Client(address, masterChannelCredentials(id, expectedNodeName), {
    // SNI and the name handed to checkServerIdentity are the node name, not the address.
    "grpc.ssl_target_name_override": expectedNodeName,
    "grpc.default_authority": expectedNodeName,
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
    "grpc.keepalive_permit_without_calls": 0,
    // A refused handshake will be refused again: retry slowly instead of hammering the node.
    "grpc.initial_reconnect_backoff_ms": 1_000,
    "grpc.max_reconnect_backoff_ms": 30_000,
    "grpc.enable_retries": 0,
  });
  const ourVersion = opts.protocolVersion ?? PROTOCOL_VERSION;
  const fail = (e: unknown) => describeCallError(e, expectedNodeName, address);
  /** Like fail(), but asks the agent's TLS stack why it dropped us when grpc-js cannot tell. */
  const failDiagnosed = async (e: unknown): Promise<RpcError> => {
    const err = fail(e);
    if (err.code !== grpc.status.UNAVAILABLE || !/Failed to connect|Connection dropped|ECONNRESET/i.test(err.message)) return err;
    if (!(await closedAfterHandshake(address, expectedNodeName, id))) return err;
    return tlsRefusalError(expectedNodeName, address, explainRefusedMaster(id, expectedNodeName));
  };

  const checkAgentProtocol = (version: number, agentVersion: string) => {
    if (version < MIN_PROTOCOL_VERSION) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `agent ${expectedNodeName} (${agentVersion || "unknown version"}) speaks protocol ${version}, this master needs ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}: upgrade the agent`,
      );
    }
  };

  // close() cancels these: a call still waiting for a node that never answers its handshake would
  // otherwise outlive the client, and the job that started it would never end.
  const active = new Set<{ cancel(): void }>();

  async function open<Out, In extends { msg: string }>(
    path: string,
    serialize: (m: Out) => Buffer,
    deserialize: (b: Buffer) => In,
    startMsg: Out,
    acceptedOf: (m: In) => Accepted | undefined,
  ): Promise<ClientSession<Out, In>> {
    const call = client.makeBidiStreamRequest<Out, In>(path, serialize, deserialize, new grpc.Metadata());
    const watchdog = new CallWatchdog(expectedNodeName, { idleMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, deadlineMs: opts.sessionDeadlineMs }, () => call.cancel());
    active.add(call);
    call.on("status", () => {
      watchdog.stop();
      active.delete(call);
    });
    const duplex = call as unknown as Duplex;
    const raw = messageSource<In>(duplex);
    // Every read and write failure is reported with the node and a remedy; once the watchdog cut
    // the call, with its reason rather than grpc-js's "Cancelled on client".
    const failCall = (e: unknown) => watchdog.reason ?? fail(e);
    const messages: MessageSource<In> = {
      next: () => watchdog.watch(raw.next()).catch((e: unknown) => Promise.reject(failCall(e))),
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const v = await messages.next();
          return v === undefined ? { done: true as const, value: undefined } : { done: false as const, value: v };
        },
      }),
    };
    try {
      await watchdog.watch(writeMessage(duplex, startMsg));
      const first = await messages.next();
      const accepted = first === undefined ? undefined : acceptedOf(first);
      if (!accepted) {
        throw new RpcError(grpc.status.INTERNAL, `agent ${expectedNodeName} answered ${first?.msg ?? "nothing"} instead of accepted`);
      }
      checkAgentProtocol(accepted.protocolVersion, accepted.agentVersion);
      return {
        accepted,
        messages,
        send: (m) => watchdog.watch(writeMessage(duplex, m)).catch((e: unknown) => Promise.reject(failCall(e))),
        end: () => call.end(),
        cancel: () => {
          watchdog.stop();
          call.cancel();
        },
      };
    } catch (e) {
      watchdog.stop();
      call.cancel();
      throw watchdog.reason ?? (await failDiagnosed(e));
    }
  }

  return {
    nodeName: expectedNodeName,
    address,
    info: () =>
      new Promise<InfoResponse>((resolve, reject) => {
        const req = {
          protocolVersion: ourVersion,
          masterVersion: opts.masterVersion,
          revocationList: opts.revocationList ? JSON.stringify(opts.revocationList) : "",
        };
        const m = AgentService.info;
        client.makeUnaryRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          req,
          new grpc.Metadata(),
          { deadline: Date.now() + (opts.infoDeadlineMs ?? INFO_DEADLINE_MS) },
          (err, res) => {
            if (err || !res) {
              void failDiagnosed(err ?? new Error("empty Info response")).then(reject);
              return;
            }
            try {
              checkAgentProtocol(res.protocolVersion, res.agentVersion);
              resolve(res);
            } catch (e) {
              reject(fail(e));
            }
          },
        );
      }),
    backup: (start) =>
      open<BackupRequest, BackupResponse>(
        AgentService.backup.path,
        AgentService.backup.requestSerialize,
        AgentService.backup.responseDeserialize,
        { msg: "start", start: { ...start, protocolVersion: ourVersion } },
        (m) => (m.msg === "accepted" ? m.accepted : undefined),
      ),
    restore: (start) =>
      open<RestoreRequest, RestoreResponse>(
        AgentService.restore.path,
        AgentService.restore.requestSerialize,
        AgentService.restore.responseDeserialize,
        { msg: "start", start: { ...start, protocolVersion: ourVersion } },
        (m) => (m.msg === "accepted" ? m.accepted : undefined),
      ),
    close: () => {
      for (const call of active) call.cancel();
      active.clear();
      client.close();
    },
  };
}
