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
import { refuseOversizeBatch } from "./entry-batch-guard.js";
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

/** What a caller of backup() gives: BackupStart without the version, capabilities optional. */
export type BackupStartFields = Omit<BackupStart, "protocolVersion" | "capabilities"> & Partial<Pick<BackupStart, "capabilities">>;

export interface AgentClient {
  readonly nodeName: string;
  readonly address: string;
  info(): Promise<InfoResponse>;
  /**
   * `protocolVersion` is filled in, `capabilities` defaults to none (list only what the caller's
   * message loop reads); resolves once the agent accepted (or rejects with its reason).
   */
  backup(start: BackupStartFields): Promise<BackupClientSession>;
  restore(start: Omit<RestoreStart, "protocolVersion">): Promise<RestoreClientSession>;
  close(): void;
}

/**
 * A channel to one agent. `expectedNodeName` is the name the agent's certificate must carry,
 * whatever `address` is (an IP, a DNS alias): the check is on identity, not on how we reached it.
 */
export function connectAgent(address: string, expectedNodeName: string, id: TlsIdentity, opts: ConnectOptions): AgentClient {
  assertNodeName(expectedNodeName);
  return new AgentChannel(address, expectedNodeName, id, opts);
}

function channelOptions(expectedNodeName: string): grpc.ChannelOptions {
  return {
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
  };
}

class AgentChannel implements AgentClient {
  private readonly client: grpc.Client;
  private readonly ourVersion: number;
  // close() cancels these: a call still waiting for a node that never answers its handshake would
  // otherwise outlive the client, and the job that started it would never end.
  private readonly active = new Set<{ cancel(): void }>();

  // A true private field: the master's key must not show up when a client object is logged or inspected.
  readonly #id: TlsIdentity;

  constructor(
    readonly address: string,
    readonly nodeName: string,
    id: TlsIdentity,
    private readonly opts: ConnectOptions,
  ) {
    this.#id = id;
    this.client = new grpc.Client(address, masterChannelCredentials(id, nodeName), channelOptions(nodeName));
    this.ourVersion = opts.protocolVersion ?? PROTOCOL_VERSION;
  }

  info(): Promise<InfoResponse> {
    return new Promise<InfoResponse>((resolve, reject) => {
      const req = {
        protocolVersion: this.ourVersion,
        masterVersion: this.opts.masterVersion,
        revocationList: this.opts.revocationList ? JSON.stringify(this.opts.revocationList) : "",
      };
      const m = AgentService.info;
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + (this.opts.infoDeadlineMs ?? INFO_DEADLINE_MS) },
        (err, res) => {
          if (err || !res) {
            void this.failDiagnosed(err ?? new Error("empty Info response")).then(reject);
            return;
          }
          try {
            this.checkAgentProtocol(res.protocolVersion, res.agentVersion);
            resolve(res);
          } catch (e) {
            reject(this.fail(e));
          }
        },
      );
    });
  }

  backup(start: BackupStartFields): Promise<BackupClientSession> {
    return this.open<BackupRequest, BackupResponse>(
      AgentService.backup.path,
      AgentService.backup.requestSerialize,
      deserializeBackupResponse,
      { msg: "start", start: { capabilities: [], ...start, protocolVersion: this.ourVersion } },
      (m) => (m.msg === "accepted" ? m.accepted : undefined),
    );
  }

  restore(start: Omit<RestoreStart, "protocolVersion">): Promise<RestoreClientSession> {
    return this.open<RestoreRequest, RestoreResponse>(
      AgentService.restore.path,
      AgentService.restore.requestSerialize,
      AgentService.restore.responseDeserialize,
      { msg: "start", start: { ...start, protocolVersion: this.ourVersion } },
      (m) => (m.msg === "accepted" ? m.accepted : undefined),
    );
  }

  close(): void {
    for (const call of this.active) call.cancel();
    this.active.clear();
    this.client.close();
  }

  private fail(e: unknown): RpcError {
    return describeCallError(e, this.nodeName, this.address);
  }

  /** Like fail(), but asks the agent's TLS stack why it dropped us when grpc-js cannot tell. */
  private async failDiagnosed(e: unknown): Promise<RpcError> {
    const err = this.fail(e);
    if (err.code !== grpc.status.UNAVAILABLE || !/Failed to connect|Connection dropped|ECONNRESET/i.test(err.message)) return err;
    if (!(await closedAfterHandshake(this.address, this.nodeName, this.#id))) return err;
    return tlsRefusalError(this.nodeName, this.address, explainRefusedMaster(this.#id, this.nodeName));
  }

  private checkAgentProtocol(version: number, agentVersion: string): void {
    if (version < MIN_PROTOCOL_VERSION) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `agent ${this.nodeName} (${agentVersion || "unknown version"}) speaks protocol ${version}, this master needs ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}: upgrade the agent`,
      );
    }
  }

  /** Starts a bidi call and waits for the agent's Accepted; the session it returns is watched for idleness. */
  private async open<Out, In extends { msg: string }>(
    path: string,
    serialize: (m: Out) => Buffer,
    deserialize: (b: Buffer) => In,
    startMsg: Out,
    acceptedOf: (m: In) => Accepted | undefined,
  ): Promise<ClientSession<Out, In>> {
    const call = this.client.makeBidiStreamRequest<Out, In>(path, serialize, deserialize, new grpc.Metadata());
    const watchdog = new CallWatchdog(this.nodeName, { idleMs: this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, deadlineMs: this.opts.sessionDeadlineMs }, () => call.cancel());
    this.active.add(call);
    call.on("status", () => {
      watchdog.stop();
      this.active.delete(call);
    });
    const duplex = call as unknown as Duplex;
    // Every read and write failure is reported with the node and a remedy; once the watchdog cut
    // the call, with its reason rather than grpc-js's "Cancelled on client".
    const failCall = (e: unknown) => watchdog.reason ?? this.fail(e);
    const messages = watchedMessages(messageSource<In>(duplex), watchdog, failCall);
    try {
      await watchdog.watch(writeMessage(duplex, startMsg));
      const first = await messages.next();
      const accepted = first === undefined ? undefined : acceptedOf(first);
      if (!accepted) {
        throw new RpcError(grpc.status.INTERNAL, `agent ${this.nodeName} answered ${first?.msg ?? "nothing"} instead of accepted`);
      }
      this.checkAgentProtocol(accepted.protocolVersion, accepted.agentVersion);
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
      throw watchdog.reason ?? (await this.failDiagnosed(e));
    }
  }
}

/** The call's messages, each read under the watchdog, failures described by `failCall`. */
function watchedMessages<In>(raw: MessageSource<In>, watchdog: CallWatchdog, failCall: (e: unknown) => Error): MessageSource<In> {
  const messages: MessageSource<In> = {
    next: () => watchdog.watch(raw.next()).catch((e: unknown) => Promise.reject(failCall(e))),
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const v = await messages.next();
        return v === undefined ? { done: true as const, value: undefined } : { done: false as const, value: v };
      },
    }),
  };
  return messages;
}

/** An oversize EntryBatch is refused before it is decoded (the call fails with the guard's message). */
function deserializeBackupResponse(buf: Buffer): BackupResponse {
  refuseOversizeBatch(buf);
  return AgentService.backup.responseDeserialize(buf);
}
