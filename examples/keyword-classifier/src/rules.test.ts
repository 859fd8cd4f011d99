import type { Mail } from '@psf/client-sdk';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { classify } from './rules.js';

function mailOf(raw: string): Mail {
  const buf = Buffer.from(raw.replace(/\n/g, '\r\n'));
  return {
    id: 't',
    envelope: { mailFrom: 'a@example.org', rcpt: ['b@example.org'] },
    size: buf.length,
    truncated: false,
    deadline: Date.now() + 1000,
    raw: buf,
    parsed: () => simpleParser(buf),
  };
}

describe('keyword rules', () => {
  it('tags an obvious spam with the rules it hit', async () => {
    const v = await classify(
      mailOf('From: x@spam.test\nSubject: WINNER OF THE CASH PRIZE\n\nYou have won the lottery, act now!\n'),
    );
    expect(v.action).toBe('tag');
    expect(v.reasons).toEqual(
      expect.arrayContaining(['SUBJ_MONEY', 'SUBJ_ALL_CAPS', 'LOTTERY', 'URGENT_ACTION']),
    );
    expect(v.score).toBeGreaterThanOrEqual(5);
  });

  it('accepts an ordinary mail with score 0', async () => {
    const v = await classify(
      mailOf('From: bob@example.org\nSubject: lunch tomorrow?\n\nShall we meet at noon?\n'),
    );
    expect(v).toEqual({ v: 1, action: 'accept', score: 0, spam: false, reasons: [] });
  });
});
