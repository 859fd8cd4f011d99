import { describe, expect, it } from 'vitest';
import { rawMail } from './bayes/raw-mail.js';
import { classify, createRulesClassifier, RULES, ruleHits } from './rules.js';

const HEAD = 'Date: Mon, 2 Mar 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\n';
const mailOf = (raw: string) => rawMail(Buffer.from(raw.replace(/\n/g, '\r\n')));
const hits = async (raw: string) => (await ruleHits(mailOf(raw))).map((r) => r.name);

describe('rules', () => {
  it('tags an obvious spam with the rules it hit', async () => {
    const v = await classify(
      mailOf('From: x@spam.test\nSubject: WINNER OF THE CASH PRIZE\n\nYou have won the lottery, act now!\n'),
    );
    expect(v.action).toBe('tag');
    expect(v.spam).toBe(true);
    expect(v.reasons).toEqual(
      expect.arrayContaining(['SUBJ_MONEY', 'SUBJ_ALL_CAPS', 'LOTTERY', 'URGENT_ACTION', 'MISSING_DATE']),
    );
    expect(v.score).toBeGreaterThanOrEqual(5);
  });

  it('accepts an ordinary mail with score 0', async () => {
    const v = await classify(
      mailOf(
        `From: bob@example.org\nSubject: lunch tomorrow?\n${HEAD}\nShall we meet at noon? https://example.org/menu\n`,
      ),
    );
    expect(v).toEqual({ v: 1, action: 'accept', score: 0, spam: false, reasons: [] });
  });

  it('header rules: Reply-To elsewhere, display name with another address, missing Date and Message-ID', async () => {
    expect(
      await hits(
        'From: "support@bank.example" <x@evil.test>\nReply-To: y@other.test\nSubject: hi\n\nhello\n',
      ),
    ).toEqual(['FROM_REPLYTO_DIFFER', 'FROM_NAME_OTHER_ADDR', 'MISSING_DATE', 'MISSING_MID']);
    expect(
      await hits(`From: a@example.org\nReply-To: b@lists.example.org\nSubject: hi\n${HEAD}\nhello\n`),
    ).toEqual([]);
  });

  it('a Received line with a forged HELO', async () => {
    const forged = `Received: from 10.1.1.1 (unknown [192.0.2.7])\n\tby mx.example.org with ESMTP\nFrom: a@example.org\nSubject: hi\n${HEAD}\nhello\n`;
    const local = `Received: from localhost (unknown [192.0.2.7]) by mx.example.org\nFrom: a@example.org\nSubject: hi\n${HEAD}\nhello\n`;
    const honest = `Received: from mail.example.net (mail.example.net [192.0.2.7]) by mx.example.org\nReceived: from localhost (localhost [127.0.0.1]) by mail.example.net\nFrom: a@example.org\nSubject: hi\n${HEAD}\nhello\n`;
    expect(await hits(forged)).toEqual(['RCVD_FORGED']);
    expect(await hits(local)).toEqual(['RCVD_FORGED']);
    expect(await hits(honest)).toEqual([]);
  });

  it('HTML: hidden text, HTML only, link text showing another host, IP and shortener links', async () => {
    const html = [
      '<p>Your account: <a href="http://198.51.100.7/login">https://www.bank.example/login</a></p>',
      '<div style="display:none">bacon lettuce tomato</div>',
      '<a href="https://bit.ly/abc">here</a>',
    ].join('');
    const v = await hits(
      `From: a@example.org\nSubject: account\n${HEAD}MIME-Version: 1.0\nContent-Type: text/html\n\n${html}\n`,
    );
    expect(v).toEqual(['HTML_ONLY', 'HIDDEN_TEXT', 'URI_IP', 'URI_SHORTENER', 'URI_TEXT_MISMATCH']);
  });

  it('body rules read the HTML text too; many links count', async () => {
    const links = Array.from(
      { length: 25 },
      (_, i) => `<a href="https://shop.example/${i}">item ${i}</a>`,
    ).join(' ');
    const v = await hits(
      `From: a@example.org\nSubject: offer\n${HEAD}Content-Type: text/html\n\n<p>Cheap <b>viagra</b>, 100% free shipping</p>${links}\n`,
    );
    expect(v).toEqual(expect.arrayContaining(['PHARMA', 'MONEY_PHRASES', 'URI_MANY']));
    expect(v).not.toContain('URI_TEXT_MISMATCH');
  });

  it('quarantine and reject thresholds, custom rules', async () => {
    const spam = `From: x@spam.test\nSubject: WINNER OF THE CASH PRIZE\n\nYou have won the lottery, act now!\n`;
    const strict = createRulesClassifier({ thresholds: { tag: 3, quarantine: 8, reject: 12 } });
    expect((await strict(mailOf(spam))).action).toBe('quarantine');
    const own = createRulesClassifier({
      rules: [{ name: 'ANY', score: 20, description: 'everything', test: () => true }],
      thresholds: { reject: 15 },
    });
    expect(await own(mailOf('Subject: x\n\ny\n'))).toMatchObject({
      action: 'reject',
      score: 20,
      reasons: ['ANY'],
    });
  });

  it('every rule has an upper-case name, a description and a score below 5', () => {
    for (const r of RULES) {
      expect(r.name).toMatch(/^[A-Z0-9_]+$/);
      expect(r.description.length).toBeGreaterThan(5);
      expect(r.score).toBeLessThan(5);
    }
    expect(new Set(RULES.map((r) => r.name)).size).toBe(RULES.length);
  });
});
