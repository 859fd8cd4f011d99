import type { Verdict } from '@psf/client-sdk';
import { isPsfError } from '@psf/protocol';
import { describe, expect, it } from 'vitest';
import { createComposite } from './composite.js';
import { mailOf, PLAIN } from './test-mails.js';

const answer = (v: Omit<Verdict, 'v'>) => () => Promise.resolve({ v: 1 as const, ...v });
const never = () => new Promise<Verdict>(() => {});
const broken = () => Promise.reject(new Error('spamd at 127.0.0.1:783: unreachable'));

describe('composite', () => {
  it('sums weighted scores, prefixes reasons, applies its own thresholds', async () => {
    const c = createComposite({
      members: [
        {
          name: 'rules',
          classify: answer({ action: 'accept', score: 2, reasons: ['SUBJ_MONEY'] }),
          weight: 0.5,
        },
        { name: 'spamassassin', classify: answer({ action: 'tag', score: 6, reasons: ['GTUBE'] }) },
      ],
      thresholds: { tag: 5, quarantine: 10 },
    });
    expect(await c(mailOf(PLAIN))).toEqual({
      v: 1,
      action: 'tag',
      score: 7,
      spam: true,
      reasons: ['rules:SUBJ_MONEY', 'spamassassin:GTUBE'],
    });
  });

  it('a member without a score counts 0 when it accepts, the tag threshold when it does not', async () => {
    const c = createComposite({
      members: [
        { name: 'a', classify: answer({ action: 'quarantine' }) },
        { name: 'b', classify: answer({ action: 'accept' }) },
      ],
    });
    expect(await c(mailOf(PLAIN))).toMatchObject({ action: 'tag', score: 5 });
  });

  it('skips a failed member and says so; a slow one times out on its own limit', async () => {
    const c = createComposite({
      members: [
        { name: 'spamassassin', classify: broken },
        { name: 'rspamd', classify: never, timeoutMs: 100 },
        { name: 'rules', classify: answer({ action: 'accept', score: 1.2, reasons: ['MISSING_MID'] }) },
      ],
    });
    const started = Date.now();
    const v = await c(mailOf(PLAIN));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(v).toEqual({
      v: 1,
      action: 'accept',
      score: 1.2,
      spam: false,
      reasons: ['spamassassin:FAILED', 'rspamd:FAILED', 'rules:MISSING_MID'],
    });
  });

  it('the mail deadline bounds every member', async () => {
    const c = createComposite({
      members: [
        { name: 'slow', classify: never, timeoutMs: 60_000 },
        { name: 'rules', classify: answer({ action: 'accept', score: 0 }) },
      ],
      marginMs: 50,
    });
    const started = Date.now();
    const v = await c(mailOf(PLAIN, undefined, Date.now() + 250));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(v.reasons).toEqual(['slow:FAILED']);
  });

  it('fails when every member fails, naming each', async () => {
    const c = createComposite({
      members: [
        { name: 'spamassassin', classify: broken },
        { name: 'rspamd', classify: never, timeoutMs: 50 },
      ],
    });
    const err = await c(mailOf(PLAIN)).catch((e: unknown) => e);
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(
      /spamassassin: .*unreachable; rspamd: rspamd gave no verdict within 50 ms/,
    );
  });

  it('fails when a required member fails (a virus scanner down must not let mail through), else skips it', async () => {
    const members = (required: boolean) => [
      { name: 'rules', classify: answer({ action: 'accept', score: 1, reasons: ['MISSING_MID'] }) },
      { name: 'clamav', classify: broken, required },
    ];
    const err = await createComposite({ members: members(true) })(mailOf(PLAIN)).catch((e: unknown) => e);
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/^a required member failed: clamav: .*unreachable/);
    expect(await createComposite({ members: members(false) })(mailOf(PLAIN))).toMatchObject({
      action: 'accept',
      reasons: ['clamav:FAILED', 'rules:MISSING_MID'],
    });
  });

  it('refuses an empty member list', () => {
    expect(() => createComposite({ members: [] })).toThrow(/at least one member/);
  });
});

describe('composite learning', () => {
  const accept = answer({ action: 'accept', score: 0 });

  it('does not learn when no member does', () => {
    expect(createComposite({ members: [{ name: 'rules', classify: accept }] }).learn).toBeUndefined();
  });

  it('hands a correction to the members that learn, naming what each did or why it could not', async () => {
    const seen: string[] = [];
    const c = createComposite({
      members: [
        { name: 'rules', classify: accept },
        {
          name: 'bayes',
          classify: accept,
          learn: (mail, label, owner) => {
            seen.push(`${mail.id} ${label} ${owner}`);
            return { owner, times: 2, before: 0.3, after: 0.995 };
          },
        },
        {
          name: 'rspamd',
          classify: accept,
          learn: () => Promise.reject(new Error('rspamd at 127.0.0.1:11333: unreachable')),
        },
      ],
    });
    const outcome = await c.learn?.({ ...mailOf(PLAIN), id: 'l-1' }, 'spam', 'bob@example.org');
    expect(seen).toEqual(['l-1 spam bob@example.org']);
    expect(outcome).toEqual({
      members: {
        bayes: { times: 2, before: 0.3, after: 0.995 },
        rspamd: { error: 'rspamd at 127.0.0.1:11333: unreachable' },
      },
    });
  });

  it('fails when every learning member fails, naming each', async () => {
    const c = createComposite({
      members: [
        { name: 'a', classify: accept, learn: () => Promise.reject(new Error('disk full')) },
        {
          name: 'b',
          classify: accept,
          learn: () => {
            throw new Error('read-only model');
          },
        },
      ],
    });
    const err = await Promise.resolve()
      .then(() => c.learn?.(mailOf(PLAIN), 'ham', undefined))
      .catch((e: unknown) => e);
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toBe('a: disk full; b: read-only model');
  });
});
