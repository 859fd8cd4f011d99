import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mail } from '@psf/client-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BayesModel } from './model.js';
import { saveModel } from './model-file.js';
import { rawMail } from './raw-mail.js';
import { BayesStore, GLOBAL_MODEL, openBayes } from './store.js';
import { tokenize } from './tokenizer.js';
import { DEFAULT_TAG_AT } from './verdict.js';

const cli = fileURLToPath(new URL('../../dist/bayes/cli.js', import.meta.url));

const mail = (subject: string, body: string, rcpt = 'alice@example.org'): Mail =>
  rawMail(Buffer.from(`From: someone@example.net\r\nSubject: ${subject}\r\n\r\n${body}\r\n`), {
    mailFrom: 'someone@example.net',
    rcpt: [rcpt],
  });

const HAMS = [
  ['meeting tomorrow', 'shall we meet for the project review at noon'],
  ['project review notes', 'notes from the review meeting attached, see the project plan'],
  ['lunch', 'lunch at noon after the meeting with the project team'],
  ['weekly newsletter', 'this week in the garden club newsletter: roses, tulips and a lecture'],
];
const SPAMS = [
  ['cheap pills', 'buy cheap pills now, limited offer, click here'],
  ['you won', 'you won the lottery prize, claim your cash now, click here'],
  ['cash offer', 'limited cash offer, act now and claim your prize'],
];
// Ham-looking to the global model; alice considers this newsletter spam.
const NEWSLETTER = ['garden club news', 'the garden club invites you: roses, tulips and a lecture'] as const;

async function globalModel(): Promise<BayesModel> {
  const m = new BayesModel();
  for (const [s, b] of HAMS) m.learn(tokenize(await mail(s ?? '', b ?? '').parsed()), 'ham');
  for (const [s, b] of SPAMS) m.learn(tokenize(await mail(s ?? '', b ?? '').parsed()), 'spam');
  return m;
}

describe('Bayes store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psf-bayes-store-'));
    await saveModel(join(dir, GLOBAL_MODEL), await globalModel());
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives verdicts with a SpamAssassin-scale score and the strongest tokens as reasons', async () => {
    const classify = await openBayes({ models: dir });
    const spam = await classify(mail('cash prize', 'claim your cash prize now, click here'));
    expect(spam).toMatchObject({ v: 1, action: 'tag', spam: true });
    expect(spam.score).toBeGreaterThanOrEqual(5);
    expect(Number(/^BAYES spamicity=([\d.]+)/.exec(spam.reasons?.[0] ?? '')?.[1])).toBeGreaterThanOrEqual(
      DEFAULT_TAG_AT,
    );
    expect(spam.reasons?.length).toBeLessThanOrEqual(6);
    const ham = await classify(mail('project meeting', 'the project review meeting is at noon'));
    expect(ham).toMatchObject({ v: 1, action: 'accept', spam: false });
    expect(ham.score).toBeLessThan(0);
    const quarantine = await openBayes({ models: dir, tagAt: 0.9, quarantineAt: 0.95 });
    expect((await quarantine(mail('cash prize', 'claim your cash prize now, click here'))).action).toBe(
      'quarantine',
    );
  });

  it('learning moves a misclassified mail for its owner only, persisted across a reload', async () => {
    const store = await BayesStore.open({ models: dir });
    const before = await store.classify(mail(...NEWSLETTER));
    expect(before.action).toBe('accept');

    const result = await store.learn(mail(...NEWSLETTER), 'spam', 'alice@example.org');
    expect(result.file).toBe(join(dir, 'owners', 'alice%40example.org.psfbayes'));
    expect(result.after).toBeGreaterThanOrEqual(DEFAULT_TAG_AT);
    expect(result.before).toBeLessThan(0.5);
    expect(await readdir(join(dir, 'owners'))).toEqual(['alice%40example.org.psfbayes']);

    // A fresh store reads the owner's model from disk; the owner comes from the recipient.
    const reloaded = await openBayes({ models: dir });
    expect((await reloaded(mail(...NEWSLETTER))).action).toBe('tag');
    expect((await reloaded(mail(...NEWSLETTER, 'bob@example.org'))).action).toBe('accept');

    // And back: alice learns it as ham again.
    await store.learn(mail(...NEWSLETTER), 'ham', 'alice@example.org');
    expect((await (await openBayes({ models: dir }))(mail(...NEWSLETTER))).action).toBe('accept');
  });

  it("keeps at most maxCachedOwners owners' models in memory, dropping the least recently used", async () => {
    const store = await BayesStore.open({ models: dir, maxCachedOwners: 2 });
    for (const owner of ['a@example.org', 'b@example.org'])
      await store.learn(mail(...NEWSLETTER), 'spam', owner);
    for (const rcpt of ['a@example.org', 'b@example.org', 'c@example.org', 'a@example.org', 'd@example.org'])
      await store.classify(mail(...NEWSLETTER, rcpt));
    expect(store.cachedOwners).toBe(2);
    // An owner let go is read again from disk: their learning still applies.
    expect((await store.classify(mail(...NEWSLETTER, 'b@example.org'))).action).toBe('tag');
    expect(store.cachedOwners).toBe(2);
  });

  it('a corrupt owner model fails that owner only', async () => {
    const store = await BayesStore.open({ models: dir, owner: (m) => m.envelope.rcpt[0] });
    await store.learn(mail(...NEWSLETTER), 'spam', 'alice@example.org');
    await writeFile(join(dir, 'owners', 'alice%40example.org.psfbayes'), 'garbage');
    const fresh = await BayesStore.open({ models: dir, owner: (m) => m.envelope.rcpt[0] });
    await expect(fresh.classify(mail(...NEWSLETTER))).rejects.toMatchObject({ problem: 'not-a-model' });
    expect((await fresh.classify(mail(...NEWSLETTER, 'bob@example.org'))).action).toBe('accept');
  });

  it('refuses a missing global model unless told to start empty, and bad thresholds', async () => {
    await expect(openBayes({ models: join(dir, 'nowhere') })).rejects.toMatchObject({ problem: 'missing' });
    const empty = await openBayes({ models: join(dir, 'nowhere'), allowMissing: true });
    expect(await empty(mail('x', 'anything at all'))).toMatchObject({ action: 'accept', score: 0 });
    await expect(openBayes({ models: dir, tagAt: 0.4 })).rejects.toMatchObject({ code: 'CONFIG' });
  });

  it('psf-bayes train, learn and check work on a model file', () => {
    const model = join(dir, 'cli.psfbayes');
    const run = (args: string[], input = '') =>
      spawnSync(process.execPath, [cli, ...args, '--model', model], {
        input,
        encoding: 'utf8',
        timeout: 20_000,
      });
    const spamDir = join(dir, 'spam');
    const hamFile = join(dir, 'ham.eml');
    spawnSync('mkdir', [spamDir]);
    SPAMS.forEach(([s, b], i) => {
      spawnSync('tee', [join(spamDir, `${i}.eml`)], { input: `Subject: ${s}\n\n${b}\n` });
    });
    spawnSync('tee', [hamFile], { input: `Subject: ${HAMS[0]?.[0]}\n\n${HAMS[0]?.[1]}\n` });
    expect(JSON.parse(run(['train', '--spam', spamDir]).stdout)).toMatchObject({ trained: 3, label: 'spam' });
    expect(JSON.parse(run(['train', '--ham', hamFile]).stdout)).toMatchObject({ trained: 1, hamMails: 1 });
    const news = `Subject: ${NEWSLETTER[0]}\n\n${NEWSLETTER[1]}\n`;
    const before = run(['check'], news);
    expect(before.status).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ action: 'accept' });
    expect(JSON.parse(run(['learn', '--spam'], news).stdout).after).toBeGreaterThanOrEqual(DEFAULT_TAG_AT);
    const after = run(['check'], news);
    expect(after.status).toBe(1);
    expect(JSON.parse(after.stdout)).toMatchObject({ action: 'tag', spam: true });
    expect(run(['train', '--spam', '--ham', hamFile]).status).not.toBe(0);
  });
});
