/** Runs async tasks with at most `limit` in flight; `drain` waits for all and rethrows nothing. */
export class TaskPool {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly limit: number) {}

  /** Waits for a free slot, then starts `task` without waiting for it. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    const p = task().finally(() => {
      this.active--;
      this.running.delete(p);
      this.waiters.shift()?.();
    });
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}
