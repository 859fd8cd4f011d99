import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPsfError } from '@psf/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createComposite } from './composite.js';
import { createRulesClassifier } from './rules.js';
import { createSenderListsClassifier, parseSenderList, senderPattern } from './sender-lists.js';
import { mailOf, PLAIN } from './test-mails.js';

const SPAMMY = PLAIN.replace('Subject: Lunch tomorrow?', 'Subject: YOU WON THE LOTTERY PRIZE!!!').replace(
  'shall we meet at noon at the usual place?',
  'Congratulations, you have won the international lottery prize of $1,000,000. Claim your prize now, act now!',
);
/** PLAIN's From is alice@example.net; the envelope sender is given here. */
const mail = (raw: string, mailFrom: string, rcpt = ['bob@example.org']) => mailOf(raw, { mailFrom, rcpt });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'psf-senders-'));
  await mkdir(join(dir, 'owners'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('sender lists', () => {
  it('matches patterns as SpamAssassin does: an address, a domain, its subdomains, any case', () => {
    expect(senderPattern('Alice@Example.net').test('alice@example.net')).toBe(true);
    expect(senderPattern('*@example.net').test('anyone@example.net')).toBe(true);
    expect(senderPattern('*@example.net').test('x@mail.example.net')).toBe(false);
    expect(senderPattern('*@*.example.net').test('x@mail.example.net')).toBe(true);
    expect(senderPattern('*@*.example.net').test('x@example.net')).toBe(false);
    expect(senderPattern('news?@example.net').test('news1@example.net')).toBe(true);
    // Dots are dots, not any character.
    expect(senderPattern('*@example.net').test('x@exampleXnet')).toBe(false);
    for (const bad of ['example.net', 'a@b@c', '', 'a b@example.net'])
      expect(() => senderPattern(bad)).toThrow(/local@domain/);
  });

  it('blocks or lets through by the envelope sender or the From address; block wins; no opinion otherwise', async () => {
    const lists = createSenderListsClassifier({
      allow: ['*@example.net'],
      block: ['bulk@promo.example', 'carol@example.net'],
    });
    // From alice@example.net (allowed domain), whatever the envelope says.
    expect(await lists(mail(PLAIN, 'bounce-123@lists.example'))).toEqual({
      v: 1,
      action: 'accept',
      score: -100,
      spam: false,
      reasons: ['SENDER_ALLOWED'],
    });
    // Blocked by the envelope sender although From is allowed.
    expect(await lists(mail(PLAIN, 'Bulk@Promo.Example'))).toMatchObject({
      action: 'tag',
      score: 100,
      spam: true,
      reasons: ['SENDER_BLOCKED'],
    });
    expect(await lists(mail(PLAIN.replace('alice@example.net', 'carol@example.net'), ''))).toMatchObject({
      reasons: ['SENDER_BLOCKED'],
    });
    // Nobody listed (and the null sender is nobody).
    expect(await lists(mail(PLAIN.replace('alice@example.net', 'dave@other.example'), ''))).toEqual({
      v: 1,
      action: 'accept',
      score: 0,
      spam: false,
      reasons: [],
    });
    const quarantining = createSenderListsClassifier({
      block: ['*@promo.example'],
      blockAction: 'quarantine',
    });
    expect((await quarantining(mail(PLAIN, 'x@promo.example'))).action).toBe('quarantine');
  });

  it("applies the first recipient's own list (or the configured owner's), read again when it changes", async () => {
    const file = join(dir, 'owners', `${encodeURIComponent('bob@example.org')}.senders`);
    await writeFile(
      file,
      '# bob keeps alice out\nblock alice@example.net\n\nallow *@friends.example  # mine\n',
    );
    const lists = createSenderListsClassifier({ lists: dir });
    expect((await lists(mail(PLAIN, 'alice@example.net'))).reasons).toEqual(['SENDER_BLOCKED']);
    // Another owner's mail: bob's list does not apply.
    expect((await lists(mail(PLAIN, 'alice@example.net', ['carol@example.org']))).score).toBe(0);
    // The same owner's list for every mail of this classifier.
    const bobs = createSenderListsClassifier({ lists: dir, owner: 'Bob@Example.org' });
    expect((await bobs(mail(PLAIN, 'alice@example.net', ['carol@example.org']))).score).toBe(100);
    // Bob changes his mind; the next mail sees it.
    await writeFile(file, 'allow alice@example.net\n');
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    expect((await lists(mail(PLAIN, 'alice@example.net'))).reasons).toEqual(['SENDER_ALLOWED']);
    await rm(file);
    expect((await lists(mail(PLAIN, 'alice@example.net'))).score).toBe(0);
  });

  it('names the file and line of a bad owner list, and refuses a bad pattern in the configuration', async () => {
    expect(() => parseSenderList('allow *@ok.example\npermit x@y.example\n', 'f.senders')).toThrow(
      'f.senders:2: expected "allow <pattern>" or "block <pattern>"',
    );
    expect(() => parseSenderList('block nodomain\n', 'f.senders')).toThrow(/^f\.senders:1: a sender pattern/);
    const file = join(dir, 'owners', `${encodeURIComponent('erin@example.org')}.senders`);
    await writeFile(file, 'allow alice@example.net extra\n');
    const lists = createSenderListsClassifier({ lists: dir });
    const err = await lists(mail(PLAIN, '', ['erin@example.org'])).catch((e: unknown) => e);
    expect(isPsfError(err) && err.code).toBe('CLASSIFIER_FAILED');
    expect((err as Error).message).toContain('erin%40example.org.senders:1');
    expect(() => createSenderListsClassifier({ allow: ['example.net'] })).toThrow(/local@domain/);
  });

  it('outweighs the other members of a composite: an allowed sender is delivered, a blocked one tagged', async () => {
    const composite = createComposite({
      members: [
        { name: 'rules', classify: createRulesClassifier() },
        { name: 'senders', classify: createSenderListsClassifier({ allow: ['alice@example.net'] }) },
      ],
    });
    const rules = createRulesClassifier();
    // The rules alone call it spam...
    expect((await rules(mail(SPAMMY, 'alice@example.net'))).action).toBe('tag');
    // ...alice is on the allow list.
    const allowed = await composite(mail(SPAMMY, 'alice@example.net'));
    expect(allowed).toMatchObject({ action: 'accept', spam: false });
    expect(allowed.reasons).toContain('senders:SENDER_ALLOWED');
    const blocking = createComposite({
      members: [
        { name: 'rules', classify: createRulesClassifier() },
        { name: 'senders', classify: createSenderListsClassifier({ block: ['*@example.net'] }) },
      ],
    });
    expect(await blocking(mail(PLAIN, 'alice@example.net'))).toMatchObject({ action: 'tag', spam: true });
  });
});
