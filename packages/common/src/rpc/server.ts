import * as grpc from "@grpc/grpc-js";
import type { Duplex } from "node:stream";
import type { PeerCertificate } from "node:tls";
import { checkPeer, type PeerIdentity } from "../pki/peer.js";
import { PkiError, RpcError } from "../errors.js";
import type { TlsIdentity } from "../pki/identity.js";
import { agentServerCredentials } from "./credentials.js";
import {
  AgentService,
  type BackupRequest,
  type BackupResponse,
  type BackupStart,
  type InfoRequest,
  type InfoResponse,
  type RestoreRequest,
  type RestoreResponse,
  type RestoreStart,
} from "./generated/agent.js";
import { DEFAULT_WINDOW_BYTES, KEEPALIVE_TIMEOUT_MS, MAX_MESSAGE_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from "./limits.js";
import { messageSource, writeMessage, type MessageSource } from "./stream.js";

export interface PeerInfo {
  /** "ip:port" as grpc-js reports it. */
  address: string;
  identity: PeerIdentity;
}

/** One Backup or Restore call, after the wrapper checked the peer and the protocol version. */
export interface ServerSession<Start, In, Out> {
  start: Start;
  peer: PeerInfo;
  /** Messages after the start message. */
  messages: MessageSource<In>;
  /**
   * Sends Accepted (with the agent version, and for Restore the window the master may use). Call it
   * once the request is validated (allowlist, hook names); send() before accept() throws.
   */
  accept(): Promise<void>;
  send(msg: Out): Promise<void>;
  /** Aborted when the master cancels or the connection dies: stop reading disk, release hooks. */
  signal: AbortSignal;
}

export type BackupSession = ServerSession<BackupStart, BackupRequest, BackupResponse>;
export type RestoreSession = ServerSession<RestoreStart, RestoreRequest, RestoreResponse> & { windowBytes: number };

/** InfoResponse without the fields the wrapper owns (protocol range, message limit). */
export type AgentFacts = Omit<InfoResponse, "protocolVersion" | "minProtocolVersion" | "maxMessageBytes">;

export interface AgentHandlers {
  info(req: InfoRequest, peer: PeerInfo): AgentFacts | Promise<AgentFacts>;
  /** Resolve to finish the call OK (after sending Done); throw RpcError to choose the status. */
  backup(session: BackupSession): Promise<void>;
  restore(session: RestoreSession): Promise<void>;
}

export interface AgentServerOptions {
  /** host:port; port 0 picks a free one (tests). */
  address: string;
  agentVersion: string;
  restoreWindowBytes?: number;
  /** Calls refused before any handler ran (wrong role, revoked, protocol): for the agent's log. */
  onRefused?: (reason: string, peerAddress: string) => void;
  /** A newer revocation list arrived with Info and was adopted: persist it. */
  onRevocationListAdopted?: (json: string) => void;
  /** Handler errors that are not RpcError (they reach the master as INTERNAL): log them. */
  onHandlerError?: (err: unknown, method: string) => void;
}

export interface AgentServer {
  port: number;
  /** Stops accepting calls and waits for running ones. */
  close(): Promise<void>;
  /** Cancels running calls. */
  forceClose(): void;
}

/**
 * Refuses, before the method handler exists, any call whose client certificate (already chained to
 * our CA by TLS) is not a non-revoked master certificate. grpc-js creates the handler for a bidi
 * call only when metadata is passed on, so withholding `next` means no message is ever read.
 */
function masterOnly(id: TlsIdentity, onRefused: AgentServerOptions["onRefused"]): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            const r = checkPeer(call.getAuthContext().sslPeerCertificate, { role: "master", revocations: id.revocations });
            if (r instanceof PkiError) {
              onRefused?.(r.message, call.getPeer());
              call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: r.message });
              return;
            }
            mdNext(metadata);
          },
        });
      },
    });
}

function peerOf(call: { getPeer(): string; getAuthContext(): { sslPeerCertificate?: PeerCertificate } }, id: TlsIdentity): PeerInfo {
  // The interceptor already refused everything else; re-checking here keeps a handler from ever
  // running with an unchecked peer if the interceptor wiring changes.
  const r = checkPeer(call.getAuthContext().sslPeerCertificate, { role: "master", revocations: id.revocations });
  if (r instanceof PkiError) throw new RpcError(grpc.status.PERMISSION_DENIED, r.message);
  return { address: call.getPeer(), identity: r };
}

function protocolError(version: number, agentVersion: string): RpcError | null {
  if (version >= MIN_PROTOCOL_VERSION && version <= PROTOCOL_VERSION) return null;
  const remedy = version > PROTOCOL_VERSION ? "upgrade the agent on this node" : "upgrade the master";
  return new RpcError(
    grpc.status.FAILED_PRECONDITION,
    `protocol mismatch: the master speaks protocol ${version || "?"}, this agent (${agentVersion}) speaks ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}: ${remedy}`,
  );
}

function toStatus(e: unknown, method: string, onHandlerError: AgentServerOptions["onHandlerError"]): RpcError {
  if (e instanceof RpcError) return e;
  onHandlerError?.(e, method);
  return new RpcError(grpc.status.INTERNAL, `agent error in ${method}: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Runs one bidi call: checks the first message (must be `start` with a compatible protocol),
 * then hands a typed session to the handler. A refused call never reaches the handler.
 */
function bidi<In extends { msg: string }, Out, Start>(
  method: string,
  stream: grpc.ServerDuplexStream<In, Out>,
  id: TlsIdentity,
  opts: AgentServerOptions,
  startOf: (m: In) => Start | undefined,
  versionOf: (s: Start) => number,
  accepted: () => Out,
  run: (s: ServerSession<Start, In, Out>) => Promise<void>,
): void {
  const controller = new AbortController();
  stream.on("cancelled", () => controller.abort(new Error("cancelled by the master")));
  stream.on("close", () => controller.abort(new Error("call closed")));
  const duplex = stream as unknown as Duplex;
  const fail = (e: RpcError) => {
    if (!stream.destroyed) stream.emit("error", e);
  };
  void (async () => {
    const peer = peerOf(stream, id);
    const messages = messageSource<In>(duplex);
    const first = await messages.next();
    const start = first === undefined ? undefined : startOf(first);
    if (start === undefined) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `${method}: the first message must be start (got ${first?.msg ?? "nothing"})`);
    }
    const bad = protocolError(versionOf(start), opts.agentVersion);
    if (bad) {
      opts.onRefused?.(bad.message, peer.address);
      throw bad;
    }
    let isAccepted = false;
    const session: ServerSession<Start, In, Out> = {
      start,
      peer,
      messages,
      signal: controller.signal,
      accept: async () => {
        if (isAccepted) return;
        isAccepted = true;
        await writeMessage(duplex, accepted());
      },
      send: (msg) => {
        if (!isAccepted) return Promise.reject(new Error(`internal error: ${method}: send() before accept() — please report`));
        return writeMessage(duplex, msg);
      },
    };
    await run(session);
    stream.end();
  })().catch((e: unknown) => fail(toStatus(e, method, opts.onHandlerError)));
}

export async function createAgentServer(handlers: AgentHandlers, id: TlsIdentity, opts: AgentServerOptions): Promise<AgentServer> {
  const restoreWindow = opts.restoreWindowBytes ?? DEFAULT_WINDOW_BYTES;
  const server = new grpc.Server({
    interceptors: [masterOnly(id, opts.onRefused)],
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    // The agent pings too, so it notices a vanished master mid-backup and releases its hooks.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
    // One master, a handful of concurrent jobs: more streams than this is a bug or abuse.
    "grpc.max_concurrent_streams": 32,
  });

  server.addService(AgentService, {
    info: (call: grpc.ServerUnaryCall<InfoRequest, InfoResponse>, cb: grpc.sendUnaryData<InfoResponse>) => {
      void answerInfo(call, handlers, id, opts).then(
        (res) => cb(null, res),
        (e: unknown) => cb(toStatus(e, "Info", opts.onHandlerError)),
      );
    },
    backup: (stream: grpc.ServerDuplexStream<BackupRequest, BackupResponse>) =>
      bidi<BackupRequest, BackupResponse, BackupStart>(
        "Backup",
        stream,
        id,
        opts,
        (m) => (m.msg === "start" ? m.start : undefined),
        (s) => s.protocolVersion,
        () => ({ msg: "accepted", accepted: { protocolVersion: PROTOCOL_VERSION, agentVersion: opts.agentVersion, windowBytes: 0 } }),
        (s) => handlers.backup(s),
      ),
    restore: (stream: grpc.ServerDuplexStream<RestoreRequest, RestoreResponse>) =>
      bidi<RestoreRequest, RestoreResponse, RestoreStart>(
        "Restore",
        stream,
        id,
        opts,
        (m) => (m.msg === "start" ? m.start : undefined),
        (s) => s.protocolVersion,
        () => ({ msg: "accepted", accepted: { protocolVersion: PROTOCOL_VERSION, agentVersion: opts.agentVersion, windowBytes: restoreWindow } }),
        (s) => handlers.restore({ ...s, windowBytes: restoreWindow }),
      ),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.address, agentServerCredentials(id), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceClose: () => server.forceShutdown(),
  };
}

/**
 * Info: checks the protocol, adopts the master's revocation list if it is newer, and adds what the
 * wrapper owns (protocol range, message limit) to the handler's facts.
 */
async function answerInfo(call: grpc.ServerUnaryCall<InfoRequest, InfoResponse>, handlers: AgentHandlers, id: TlsIdentity, opts: AgentServerOptions): Promise<InfoResponse> {
  const peer = peerOf(call, id);
  const req = call.request;
  const bad = protocolError(req.protocolVersion, opts.agentVersion);
  if (bad) {
    opts.onRefused?.(bad.message, peer.address);
    throw bad;
  }
  if (req.revocationList) {
    // A bad list is the master's problem, not a reason to fail Info: report and keep ours.
    try {
      if (id.revocations.adopt(req.revocationList)) opts.onRevocationListAdopted?.(req.revocationList);
    } catch (e) {
      opts.onHandlerError?.(e, "Info(revocation list)");
    }
  }
  const facts = await handlers.info(req, peer);
  return { ...facts, protocolVersion: PROTOCOL_VERSION, minProtocolVersion: MIN_PROTOCOL_VERSION, maxMessageBytes: MAX_MESSAGE_BYTES };
}
