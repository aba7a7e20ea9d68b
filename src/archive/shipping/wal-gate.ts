/**
 * Keeps the shippers' reading of the WAL (its end line, the segments on disk, the lines removed
 * before them) apart from a WAL cleanup. A cleanup renumbers the writer's lines first, raises
 * `removedLines` later and deletes the segments last: a read in between saw an end line below what
 * was shipped, or mapped absolute lines onto segments about to go (and shipped them under the wrong
 * numbers, which a later cleanup would have trusted). Reads share the gate; a cleanup holds it alone.
 */
export class WalGate {
  private readers = 0;
  private drained: (() => void) | null = null;
  /** Set while a cleanup holds the gate (or waits for the readers to leave): new readers wait for it. */
  private closed: Promise<void> | null = null;

  /** Runs `fn` (a read of the WAL on disk; it must not take the gate again) when no cleanup is under way. */
  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    this.readers++;
    try {
      return await fn();
    } finally {
      if (--this.readers === 0) this.drained?.();
    }
  }

  /** Runs `fn` (a WAL cleanup) once the reads under way are over, with no read starting until it ends. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    let open!: () => void;
    this.closed = new Promise<void>((resolve) => (open = resolve));
    try {
      if (this.readers > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = null;
      return await fn();
    } finally {
      this.closed = null;
      open();
    }
  }
}
