/**
 * Steps run one after another in the order they were added, while the caller goes on reading (and
 * handing decoder threads) the members after them: at most `ahead` steps wait at once. The first step
 * that fails stops the rest (each is skipped: its `skip` frees what it holds) and is thrown to the caller
 * at its next add, or at drain.
 */
export class InOrder {
  private tail: Promise<void> = Promise.resolve();
  private readonly waiting: Promise<void>[] = [];
  private failure: { err: unknown } | null = null;

  constructor(private readonly ahead: number) {}

  /** Throws the failure of an earlier step, if any. */
  private check(): void {
    if (this.failure) throw this.failure.err;
  }

  /** Queues `step` after the earlier ones; returns once fewer than `ahead` steps wait. */
  async add(step: () => Promise<void>, skip: () => void): Promise<void> {
    this.check();
    const run = this.tail.then(async () => {
      if (this.failure) return skip();
      try {
        await step();
      } catch (err) {
        this.failure ??= { err };
      }
    });
    this.tail = run;
    this.waiting.push(run);
    while (this.waiting.length >= this.ahead) await this.waiting.shift();
    this.check();
  }

  /** Waits for every step; throws the first failure. */
  async drain(): Promise<void> {
    await this.tail;
    this.check();
  }

  /** Waits for every step (none is skipped for a failure elsewhere); gives the first step's failure, null for none. */
  async settle(): Promise<unknown> {
    await this.tail;
    return this.failure === null ? null : this.failure.err;
  }

  /** Whether `err` is a step's failure. */
  failed(err: unknown): boolean {
    return this.failure !== null && this.failure.err === err;
  }

  /** Something else failed: the steps not started are skipped, the one running is waited for (it may be writing). */
  async abandon(err: unknown): Promise<void> {
    this.failure ??= { err };
    await this.tail;
  }
}
