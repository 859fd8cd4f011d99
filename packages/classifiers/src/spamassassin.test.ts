import { createServer, type Socket } from 'node:net';
import { isPsfError } from '@psf/protocol';
import { freePort, startSpamd, startTcpProxy } from '@psf/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpamAssassinClassifier, parseSpamdResponse } from './spamassassin.js';
import { GTUBE, mailOf, PLAIN } from './test-mails.js';

describe('parseSpamdResponse', () => {
  it('reads the status, the Spam header and the symbols', () => {
    const r = parseSpamdResponse(
      'SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS',
      'SYMBOLS',
    );
    expect(r).toEqual({
      spam: true,
      score: 1000,
      required: 5,
      symbols: [{ name: 'GTUBE' }, { name: 'NO_RECEIVED' }, { name: 'NO_RELAYS' }],
    });
  });

  it('reads the REPORT table with points, negative ones too', () => {
    const body =
      ' pts rule name              description\n---- ---------------------- ----\n1000 GTUBE                  BODY: Generic Test\n-0.0 NO_RELAYS              Informational\n';
    const r = parseSpamdResponse(`SPAMD/1.1 0 EX_OK\r\nSpam: Yes ; 1000.0 / 5.0\r\n\r\n${body}`, 'REPORT');
    expect(r.symbols).toEqual([
      { name: 'GTUBE', points: 1000 },
      { name: 'NO_RELAYS', points: -0 },
    ]);
  });

  it('refuses error statuses and answers without a Spam header', () => {
    expect(() => parseSpamdResponse('SPAMD/1.0 76 Bad header line: x\r\n\r\n', 'CHECK')).toThrow(/error 76/);
    expect(() => parseSpamdResponse('SPAMD/1.1 0 EX_OK\r\n\r\n', 'CHECK')).toThrow(/no Spam: header/);
    expect(() => parseSpamdResponse('HTTP/1.1 200 OK\r\n\r\n', 'CHECK')).toThrow(/not a spamd answer/);
  });
});

describe('SpamAssassin bridge against a real spamd', () => {
  let spamd: Awaited<ReturnType<typeof startSpamd>>;
  beforeAll(async () => {
    spamd = await startSpamd();
  });
  afterAll(async () => {
    await spamd?.[Symbol.asyncDispose]();
  });

  it('GTUBE is spam with a high score, the rules that hit as reasons', async () => {
    const sa = createSpamAssassinClassifier({ host: spamd.host, port: spamd.port });
    const v = await sa(mailOf(GTUBE));
    expect(v).toMatchObject({ v: 1, action: 'tag', spam: true });
    expect(v.score).toBeGreaterThanOrEqual(100);
    expect(v.reasons).toContain('GTUBE');
  });

  it('works through a TCP proxy that does not pass a half-close (as some load balancers)', async () => {
    await using proxy = await startTcpProxy(spamd.port);
    const sa = createSpamAssassinClassifier({ host: '127.0.0.1', port: proxy.port, timeoutMs: 5000 });
    expect((await sa(mailOf(GTUBE))).reasons).toContain('GTUBE');
  });

  it('a plain mail is ham', async () => {
    const sa = createSpamAssassinClassifier({ host: spamd.host, port: spamd.port });
    const v = await sa(mailOf(PLAIN));
    expect(v).toMatchObject({ action: 'accept', spam: false });
    expect(v.score).toBeLessThan(5);
  });

  it('REPORT gives points; opt-in thresholds quarantine or reject', async () => {
    const sa = createSpamAssassinClassifier({
      host: spamd.host,
      port: spamd.port,
      command: 'REPORT',
      thresholds: { quarantine: 20, reject: 500 },
    });
    const v = await sa(mailOf(GTUBE));
    expect(v.action).toBe('reject');
    expect(v.reasons).toContain('GTUBE=1000');
  });

  it("the User: header selects that user's preferences (strict: required_score 1)", async () => {
    // A mail without Date and Message-ID scores a few points: ham by default, spam for strict.
    const bare = 'From: a@example.net\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello there\r\n';
    const byDefault = await createSpamAssassinClassifier({ host: spamd.host, port: spamd.port })(
      mailOf(bare),
    );
    const strict = await createSpamAssassinClassifier({
      host: spamd.host,
      port: spamd.port,
      user: () => spamd.strictUser,
    })(mailOf(bare));
    expect(byDefault.score).toBeGreaterThanOrEqual(1);
    expect(byDefault.score).toBe(strict.score);
    expect(byDefault.action).toBe('accept');
    expect(strict.action).toBe('tag');
  });
});

describe('SpamAssassin bridge failures', () => {
  it('spamd down: CLASSIFIER_FAILED naming it', async () => {
    const port = await freePort();
    const sa = createSpamAssassinClassifier({ host: '127.0.0.1', port });
    const err = await sa(mailOf(PLAIN)).catch((e: unknown) => e);
    expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`spamd at 127.0.0.1:${port}: unreachable`));
  });

  it('spamd silent: CLASSIFIER_FAILED after the timeout, bounded by the deadline', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    try {
      const sa = createSpamAssassinClassifier({ host: '127.0.0.1', port, timeoutMs: 5000 });
      const started = Date.now();
      const err = await sa(mailOf(PLAIN, undefined, Date.now() + 300)).catch((e: unknown) => e);
      expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/no answer within/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
