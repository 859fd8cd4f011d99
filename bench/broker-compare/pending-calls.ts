// Calls waiting for their reply (and, where the broker has them, their confirm), by correlation id.

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  /** What must still arrive before the call counts: 1 (reply) or 2 (reply and confirm). */
  missing: number;
  timer: NodeJS.Timeout;
}

export class PendingCalls {
  readonly #calls = new Map<string, Pending>();
  #next = 0;

  constructor(
    readonly prefix: string,
    readonly timeoutMs: number,
  ) {}

  /** A new id, and the promise that settles once `parts` events arrived for it (or it timed out). */
  add(parts: 1 | 2): { id: string; done: Promise<void> } {
    const id = `${this.prefix}-${this.#next++}`;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(id, new Error(`no reply within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.#calls.set(id, { resolve, reject, missing: parts, timer });
    });
    return { id, done };
  }

  /** One of the awaited events (reply or confirm) arrived. */
  arrived(id: string | undefined): void {
    const p = id === undefined ? undefined : this.#calls.get(id);
    if (!p || id === undefined || --p.missing > 0) return;
    clearTimeout(p.timer);
    this.#calls.delete(id);
    p.resolve();
  }

  fail(id: string | undefined, err: Error): void {
    const p = id === undefined ? undefined : this.#calls.get(id);
    if (!p || id === undefined) return;
    clearTimeout(p.timer);
    this.#calls.delete(id);
    p.reject(err);
  }

  failAll(err: Error): void {
    for (const id of [...this.#calls.keys()]) this.fail(id, err);
  }
}
