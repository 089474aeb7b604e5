/**
 * Runs async tasks with at most `limit` in flight. The first failure is kept: later `run` calls
 * throw it instead of starting more work, and `drain` rethrows it once every task has settled.
 * Each task's promise is handled the moment it starts: a failure before `drain` (an agent that drops
 * mid-restore) would otherwise be an unhandled rejection, and Node ends the process on those.
 */
export class TaskPool {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {}

  /** Waits for a free slot, then starts `task` without waiting for it. Throws an earlier task's error. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) {
      // Pass the wake-up on: the next waiter must learn of the failure too, not wait for a slot.
      this.waiters.shift()?.();
      this.throwIfFailed();
    }
    this.active++;
    const p = this.guarded(task).finally(() => {
      this.active--;
      this.running.delete(p);
      this.waiters.shift()?.();
    });
    this.running.add(p);
  }

  /** Waits for every started task; throws the first error any of them threw. */
  async drain(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
    this.throwIfFailed();
  }

  /** Never rejects: the error is kept for run() and drain(). */
  private async guarded(task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.failure ??= { error };
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
