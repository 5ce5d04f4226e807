// A waiter woken by pushed events: ids marked since the last take, and a wait that ends on the next mark (or ring)
// or after a timeout, whichever comes first.
export class Wakeup {
  private readonly marked = new Set<string>();
  private wake: (() => void) | null = null;

  /** Notes `id` and ends the current wait. */
  mark(id: string): void {
    this.marked.add(id);
    this.ring();
  }

  /** Ends the current wait (a cancel). */
  ring(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The ids marked since the last take. */
  take(): Set<string> {
    const ids = new Set(this.marked);
    this.marked.clear();
    return ids;
  }

  /** Resolves false when woken (or when ids are already marked), true after `ms` without a wake. */
  wait(ms: number): Promise<boolean> {
    if (this.marked.size) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(true);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  }
}
