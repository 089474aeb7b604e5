import * as grpc from "@grpc/grpc-js";
import { RpcError } from "../errors.js";

export interface CallLimits {
  /** The call fails when the agent has given no sign of life (a message, or room to send) for this long. */
  idleMs?: number;
  /** The call fails when it has not ended this long after it started. */
  deadlineMs?: number;
}

/**
 * Cancels a Backup or Restore call whose agent went quiet or ran past its deadline, and keeps the
 * reason: a hostile or hung agent that accepts a call and then says nothing would otherwise hold a
 * job slot (and a catalog row saying "running") until TCP gives up, which keepalive alone does not
 * do while the connection itself is healthy.
 */
export class CallWatchdog {
  /** Why the watchdog cancelled the call; null while it has not. */
  reason: RpcError | null = null;
  private idle: NodeJS.Timeout | undefined;
  private readonly deadline: NodeJS.Timeout | undefined;
  private waits = 0;
  private stopped = false;

  constructor(
    private readonly node: string,
    private readonly limits: CallLimits,
    private readonly cancel: () => void,
  ) {
    const { deadlineMs } = limits;
    if (deadlineMs) {
      this.deadline = setTimeout(
        () =>
          this.fire(
            `agent ${node} did not finish within ${seconds(deadlineMs)} (the deadline for this job): ` +
              `allow more with --deadline or timeouts.manualDeadlineSeconds in master.yaml`,
          ),
        deadlineMs,
      ).unref();
    }
  }

  /**
   * Times `pending`, a wait on the agent (its next message, or room to send). Only time spent
   * waiting counts: a master busy storing what arrived has not been kept waiting by the agent.
   * Each wait that ends restarts the clock for the ones still open.
   */
  async watch<T>(pending: Promise<T>): Promise<T> {
    this.waits++;
    this.arm();
    try {
      return await pending;
    } finally {
      this.waits--;
      this.arm();
    }
  }

  /**
   * The call ended: no timer may outlive it. (They are unref'd as well: while the call matters its
   * socket keeps the process alive, and a forgotten timer must not be what keeps a CLI from exiting.)
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.idle);
    clearTimeout(this.deadline);
  }

  private arm(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    const { idleMs } = this.limits;
    if (!idleMs || this.stopped || this.waits === 0) return;
    this.idle = setTimeout(
      () =>
        this.fire(
          `agent ${this.node} sent nothing for ${seconds(idleMs)} (idle timeout): it may be hung, overloaded or hostile; ` +
            `check the node, or allow a longer silence with --idle-timeout or timeouts.idleSeconds in master.yaml`,
        ),
      idleMs,
    ).unref();
  }

  private fire(message: string): void {
    if (this.stopped) return;
    this.reason = new RpcError(grpc.status.DEADLINE_EXCEEDED, message);
    this.stop();
    this.cancel();
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
