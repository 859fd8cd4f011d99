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

  it('refuses an empty member list', () => {
    expect(() => createComposite({ members: [] })).toThrow(/at least one member/);
  });
});
