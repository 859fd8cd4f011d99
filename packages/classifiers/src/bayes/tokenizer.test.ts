import { describe, expect, it } from 'vitest';
import { rawMail } from './raw-mail.js';
import { tokenize } from './tokenizer.js';

const tokensOf = async (raw: string) =>
  tokenize(await rawMail(Buffer.from(raw.replace(/\n/g, '\r\n'))).parsed());

describe('tokenize', () => {
  it('prefixes header tokens and keeps body words bare, each once', async () => {
    const t = await tokensOf(
      [
        'From mbox-line@example.org Thu Aug 22 13:17:22 2002',
        'Received: from relay.spam-host.example (relay.spam-host.example [203.0.113.9]) by mx.example.org',
        'From: "Cheap Pills" <sales@pills.spam-host.example>',
        'To: alice@example.org, bob@example.org',
        'Subject: FREE money!!',
        'Content-Type: text/plain; charset=iso-8859-1',
        '',
        'Free money money money, visit http://www.cheap.pills.example/buy/now?x=1 today.',
        'x'.repeat(60),
        '',
      ].join('\n'),
    );
    expect(t).toEqual(
      expect.arrayContaining([
        'subject:free',
        'subject:money',
        'subject:punct:!!',
        'from:addr:sales@pills.spam-host.example',
        'from:domain:pills.spam-host.example',
        'from:domain:spam-host.example',
        'from:name:cheap',
        'to:count:2',
        'received:relay.spam-host.example',
        'received:ip:203.0',
        'charset:iso-8859-1',
        'ct:text/plain',
        'free',
        'money',
        'url:www.cheap.pills.example',
        'url:pills.example',
        'url:path:buy',
        'url:count:1',
        'skip:x:60',
      ]),
    );
    expect(t.filter((x) => x === 'money')).toHaveLength(1);
    expect(t).not.toContain('x'.repeat(60));
    // The mbox "From " line is not a header.
    expect(t.some((x) => x.includes('mbox-line'))).toBe(false);
  });

  it('reads the text of HTML-only mail and the hosts of its links', async () => {
    const t = await tokensOf(
      [
        'From: shop@example.net',
        'Subject: offer',
        'Content-Type: text/html',
        '',
        '<html><body><p>Unbelievable <b>discount</b></p><a href="http://deals.example.com/x">click</a></body></html>',
        '',
      ].join('\n'),
    );
    expect(t).toEqual(
      expect.arrayContaining([
        'html:yes',
        'unbelievable',
        'discount',
        'url:deals.example.com',
        'ct:text/html',
      ]),
    );
    expect(t.some((x) => x.includes('<'))).toBe(false);
  });
});
