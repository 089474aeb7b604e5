/**
 * Keeps a call visibly alive through quiet phases. The master fails a Backup or Restore whose agent
 * sends nothing for its idle timeout (default 10 min), so that a dead or stalled agent cannot hold a
 * job slot. Some healthy phases send nothing for longer: reading a terabyte of zeros yields no chunk,
 * and psql may build indexes for an hour after the last byte of a dump. While a call runs, the agent
 * therefore repeats its progress every `heartbeatSeconds` (agent config, default 30 s).
 */
export interface Heartbeat {
  stop(): void;
}

/** Beats until stop() or until `signal` (the call's) aborts, whichever comes first. */
export function startHeartbeat(everySeconds: number, signal: AbortSignal, beat: () => Promise<void>): Heartbeat {
  let inFlight = false;
  const timer = setInterval(() => {
    // A beat still waiting on a congested stream is enough: never queue a second one behind it.
    if (inFlight) return;
    inFlight = true;
    beat()
      .catch(() => undefined)
      .finally(() => (inFlight = false));
  }, everySeconds * 1000);
  timer.unref();
  const stop = () => clearInterval(timer);
  signal.addEventListener("abort", stop, { once: true });
  return { stop };
}
