import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@psf/broker';
import type { Mail, Verdict } from '@psf/client-sdk';
import { PsfError } from '@psf/protocol';
import type { ParsedMail } from 'mailparser';
import { BayesModel, type Label } from './model.js';
import { BayesModelError, loadModel, saveModel } from './model-file.js';
import { DEFAULT_SCORING, type ScoringOptions, type Spamicity, spamicity } from './spamicity.js';
import { tokenize } from './tokenizer.js';
import { checkThresholds, DEFAULT_TAG_AT, type ThresholdOptions, toVerdict } from './verdict.js';

/** File name of the global model inside a model directory. */
export const GLOBAL_MODEL = 'global.psfbayes';
/** Directory of the owners' models inside a model directory: `owners/<owner>.psfbayes`. */
export const OWNERS_DIR = 'owners';

export interface BayesOptions extends ThresholdOptions {
  /**
   * A model directory (`global.psfbayes` plus `owners/<owner>.psfbayes`), or `{ file }` for a single
   * model file without owners (what `psf-bayes --model` uses).
   */
  models: string | { file: string };
  /**
   * Whose model overlays the global one: a fixed owner (a mailbox owner running their own
   * classifier) or a function of the mail (the central classifier). Default: the first recipient,
   * lower-cased, which is the gateway's default user id. Ignored with `{ file }`.
   */
  owner?: string | ((mail: Mail) => string | undefined);
  /** Start with an empty model when the global one does not exist (training from scratch). */
  allowMissing?: boolean;
  /** How often a cached model file is checked for a newer version on disk. Default 5 s. */
  recheckMs?: number;
  /** Owners' models kept in memory, the least recently used let go first. Default 1 000. */
  maxCachedOwners?: number;
  /** Learning repeats a mail (at most this many times) until it lands on the side it was learnt as. Default 10. */
  maxLearnRepeats?: number;
  scoring?: Partial<ScoringOptions>;
  logger?: Logger;
}

export interface LearnResult {
  /** The model file written. */
  file: string;
  /** Times the mail was counted (1 when one pass was enough). */
  times: number;
  before: number;
  after: number;
}

interface Cached {
  model: BayesModel | undefined;
  mtimeMs: number;
  checkedAt: number;
}

/**
 * A global model plus per-owner models. An owner's model overlays the global one: their counts
 * add up. Overlaying (rather than replacing) means a new owner with three corrections still gets
 * the global model's judgement on everything else, while their corrections pull the tokens they
 * taught; replacing would need hundreds of owner mails before it works at all.
 */
export class BayesStore {
  readonly #opts: BayesOptions;
  readonly #scoring: ScoringOptions;
  readonly #log: Logger;
  readonly #cache = new Map<string, Cached>();
  /** One write at a time per file, so concurrent learns in one process do not lose counts. */
  readonly #writes = new Map<string, Promise<unknown>>();

  private constructor(opts: BayesOptions) {
    checkThresholds(opts);
    this.#opts = opts;
    this.#scoring = { ...DEFAULT_SCORING, ...opts.scoring };
    this.#log = opts.logger ?? silentLogger;
  }

  /** Opens the store, loading the global model now: a bad model fails here, before any mail. */
  static async open(opts: BayesOptions): Promise<BayesStore> {
    const store = new BayesStore(opts);
    const global = await store.#model(store.globalFile, true);
    store.#log.info(
      { event: 'bayes-open', file: store.globalFile, tokens: global?.size ?? 0 },
      'Bayes model loaded',
    );
    return store;
  }

  get globalFile(): string {
    const m = this.#opts.models;
    return typeof m === 'string' ? join(m, GLOBAL_MODEL) : m.file;
  }

  /** The file of an owner's model, or undefined in single-file mode. */
  ownerFile(owner: string): string | undefined {
    const m = this.#opts.models;
    if (typeof m !== 'string') return undefined;
    const name = encodeURIComponent(owner.toLowerCase());
    if (!name || name === '.' || name === '..') throw new PsfError('CONFIG', `bad owner name: ${owner}`);
    return join(m, OWNERS_DIR, `${name}.psfbayes`);
  }

  ownerOf(mail: Mail): string | undefined {
    const o = this.#opts.owner;
    if (typeof o === 'string') return o;
    if (o) return o(mail);
    return mail.envelope.rcpt[0]?.toLowerCase();
  }

  async classify(mail: Mail): Promise<Verdict> {
    const result = await this.score(await mail.parsed(), this.ownerOf(mail));
    return toVerdict(result, this.#opts);
  }

  /** Spamicity of a parsed mail for an owner (global model only when undefined). */
  async score(parsed: ParsedMail, owner?: string): Promise<Spamicity> {
    return spamicity(tokenize(parsed), await this.#models(owner), this.#scoring);
  }

  /**
   * Learns a mail as spam or ham into the owner's model (the global one in single-file mode or
   * without owner), persisted atomically. The mail is counted again, up to `maxLearnRepeats`
   * times, until it scores on the learnt side of `tagAt` (bogominitrain's train-until-right), so one
   * correction is enough to move that mail.
   */
  async learn(mail: Mail | ParsedMail, label: Label, owner?: string): Promise<LearnResult> {
    const parsed = 'parsed' in mail ? await mail.parsed() : mail;
    const file = (owner === undefined ? undefined : this.ownerFile(owner)) ?? this.globalFile;
    const previous = this.#writes.get(file) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => this.#learn(parsed, label, owner, file));
    this.#writes.set(file, run);
    try {
      return await run;
    } finally {
      if (this.#writes.get(file) === run) this.#writes.delete(file);
    }
  }

  async #learn(
    parsed: ParsedMail,
    label: Label,
    owner: string | undefined,
    file: string,
  ): Promise<LearnResult> {
    this.#cache.delete(file); // re-read: another process may have learnt since
    const target = (await this.#model(file, file === this.globalFile)) ?? new BayesModel();
    const models = file === this.globalFile ? [target] : [...(await this.#models(undefined)), target];
    const tokens = tokenize(parsed);
    const tagAt = this.#opts.tagAt ?? DEFAULT_TAG_AT;
    const right = (p: number) => (label === 'spam' ? p >= tagAt : p < tagAt);
    const before = spamicity(tokens, models, this.#scoring).spamicity;
    const max = this.#opts.maxLearnRepeats ?? 10;
    let times = 0;
    let after = before;
    do {
      target.learn(tokens, label);
      times++;
      after = spamicity(tokens, models, this.#scoring).spamicity;
    } while (!right(after) && times < max);
    await saveModel(file, target);
    const { mtimeMs } = await stat(file);
    this.#cache.set(file, { model: target, mtimeMs, checkedAt: Date.now() });
    this.#log.info({ event: 'bayes-learn', owner, label, times, before, after }, 'learnt');
    return { file, times, before, after };
  }

  async #models(owner: string | undefined): Promise<BayesModel[]> {
    const global = await this.#model(this.globalFile, true);
    const ownerFile = owner === undefined ? undefined : this.ownerFile(owner);
    const own = ownerFile === undefined ? undefined : await this.#model(ownerFile, false);
    return [global, own].filter((m): m is BayesModel => m !== undefined);
  }

  /** A model from the cache, re-read when its file changed; undefined for a missing owner model. */
  async #model(file: string, isGlobal: boolean): Promise<BayesModel | undefined> {
    const now = Date.now();
    const cached = this.#cache.get(file);
    if (cached) {
      // Most recently used last: the first entries are the ones to let go.
      this.#cache.delete(file);
      this.#cache.set(file, cached);
    }
    if (cached && now - cached.checkedAt < (this.#opts.recheckMs ?? 5000)) return cached.model;
    let mtimeMs = -1;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (cached && cached.mtimeMs === mtimeMs) {
      cached.checkedAt = now;
      return cached.model;
    }
    let model: BayesModel | undefined;
    if (mtimeMs >= 0) model = await loadModel(file);
    else if (isGlobal && !this.#opts.allowMissing) {
      throw new BayesModelError('missing', file, 'no such file (train one first: psf-bayes train)');
    } else if (isGlobal) model = new BayesModel();
    this.#cache.set(file, { model, mtimeMs, checkedAt: now });
    this.#evict();
    return model;
  }

  /** Owners' models cached now (the global one not counted). */
  get cachedOwners(): number {
    return this.#cache.size - (this.#cache.has(this.globalFile) ? 1 : 0);
  }

  #evict() {
    let excess = this.cachedOwners - (this.#opts.maxCachedOwners ?? 1000);
    for (const file of this.#cache.keys()) {
      if (excess <= 0) return;
      if (file === this.globalFile) continue;
      this.#cache.delete(file);
      excess--;
    }
  }
}

/**
 * A Bayes classifier handler for `startClassifier`: loads the global model now (a missing or
 * corrupt model throws BayesModelError here), then classifies each mail with its owner's overlay.
 * A corrupt owner model makes that owner's mails fail (the gateway applies its policy at once);
 * other owners are unaffected.
 */
export async function openBayes(opts: BayesOptions): Promise<(mail: Mail) => Promise<Verdict>> {
  const store = await BayesStore.open(opts);
  return (mail) => store.classify(mail);
}
