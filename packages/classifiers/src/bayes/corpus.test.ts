import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../../../bench/spam-corpus-split.js';
import { BayesModel } from './model.js';
import { rawMail } from './raw-mail.js';
import { spamicity } from './spamicity.js';
import { tokenize } from './tokenizer.js';
import { DEFAULT_TAG_AT, toVerdict } from './verdict.js';

// A slice of the SpamAssassin public corpus (120 mails per folder, split as in bench/spam-corpus.ts):
// small enough for a unit test, large enough that a broken tokenizer or combiner shows.
describe('Bayes on a slice of the SpamAssassin corpus', () => {
  it('catches most spam and flags no easy ham', async () => {
    const corpus = loadCorpus(120);
    const model = new BayesModel();
    const test: { folder: string; label: string; tokens: string[] }[] = [];
    for (const m of corpus) {
      const tokens = tokenize(await rawMail(m.raw).parsed());
      if (m.part === 'train') model.learn(tokens, m.label);
      else test.push({ folder: m.folder, label: m.label, tokens });
    }
    expect(model.spamMails + model.hamMails).toBe(5 * 84);
    const flagged = (f: (t: (typeof test)[number]) => boolean) =>
      test.filter(f).filter((t) => spamicity(t.tokens, [model]).spamicity >= DEFAULT_TAG_AT).length;
    const spams = test.filter((t) => t.label === 'spam').length;
    expect(flagged((t) => t.label === 'spam') / spams).toBeGreaterThan(0.5);
    expect(flagged((t) => t.folder.startsWith('easy-ham'))).toBe(0);
    expect(flagged((t) => t.folder === 'hard-ham-1')).toBeLessThanOrEqual(3);

    // Two real mails, one of each, read as verdicts.
    const spam = test.find((t) => t.folder === 'spam-2' && spamicity(t.tokens, [model]).spamicity > 0.999);
    const ham = test.find((t) => t.folder === 'easy-ham-1');
    expect(toVerdict(spamicity(spam?.tokens ?? [], [model]))).toMatchObject({ action: 'tag', spam: true });
    expect(toVerdict(spamicity(ham?.tokens ?? [], [model]))).toMatchObject({ action: 'accept', spam: false });
  }, 20_000);
});
