/** What a mail is trained as. */
export type Label = 'spam' | 'ham';

/**
 * Token counts: for each token, in how many spam and ham mails it was seen, plus how many mails of
 * each kind were trained. Counts live in one typed array (two slots per token) so a model of a few
 * hundred thousand tokens loads and saves in one pass.
 */
export class BayesModel {
  spamMails = 0;
  hamMails = 0;
  readonly #index = new Map<string, number>();
  #counts = new Uint32Array(2 * 1024);

  /** Number of distinct tokens. */
  get size(): number {
    return this.#index.size;
  }

  /** Slot of a token, or -1 when never seen. */
  indexOf(token: string): number {
    return this.#index.get(token) ?? -1;
  }

  spamAt(i: number): number {
    return this.#counts[2 * i] ?? 0;
  }

  hamAt(i: number): number {
    return this.#counts[2 * i + 1] ?? 0;
  }

  /** Counts one mail's distinct tokens `times` times as `label`. */
  learn(tokens: Iterable<string>, label: Label, times = 1): void {
    const slot = label === 'spam' ? 0 : 1;
    for (const token of tokens) {
      const i = this.#slotFor(token);
      if (i >= 0) this.#counts[2 * i + slot] = (this.#counts[2 * i + slot] ?? 0) + times;
    }
    if (label === 'spam') this.spamMails += times;
    else this.hamMails += times;
  }

  /** Sets a token's counts (loading a file). */
  set(token: string, spam: number, ham: number): void {
    const i = this.#slotFor(token);
    if (i < 0) return;
    this.#counts[2 * i] = spam;
    this.#counts[2 * i + 1] = ham;
  }

  *entries(): IterableIterator<[token: string, spam: number, ham: number]> {
    for (const [token, i] of this.#index) yield [token, this.spamAt(i), this.hamAt(i)];
  }

  #slotFor(token: string): number {
    // The file format separates tokens by newlines; the tokenizer never makes such tokens.
    if (token.length === 0 || token.includes('\n')) return -1;
    let i = this.#index.get(token);
    if (i === undefined) {
      i = this.#index.size;
      this.#index.set(token, i);
      if (2 * i + 2 > this.#counts.length) {
        const grown = new Uint32Array(this.#counts.length * 2);
        grown.set(this.#counts);
        this.#counts = grown;
      }
    }
    return i;
  }
}
