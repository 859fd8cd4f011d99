/**
 * At most `max` failed logins per key (login name) in `windowMs`: password guessing slows to a
 * crawl, and a user locked out waits a minute, not forever. In memory, per process.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly max = 5,
    readonly windowMs = 60_000,
  ) {}

  #recent(key: string, now: number): number[] {
    const list = (this.#failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.#failures.set(key, list);
    else this.#failures.delete(key);
    return list;
  }

  blocked(key: string, now = Date.now()): boolean {
    return this.#recent(key, now).length >= this.max;
  }

  failed(key: string, now = Date.now()): void {
    this.#failures.set(key, [...this.#recent(key, now), now]);
  }
}
