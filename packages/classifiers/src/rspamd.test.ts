import { isPsfError } from '@psf/protocol';
import { freePort, startRspamd } from '@psf/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRspamdClassifier, DEFAULT_RSPAMD_MAPPING, envelopeHeaders, rspamdVerdict } from './rspamd.js';
import { GTUBE, mailOf, PLAIN } from './test-mails.js';

describe('rspamd action mapping', () => {
  const answer = (action: string, score = 7) => ({ score, required_score: 15, action, symbols: {} });
  it('maps every rspamd action by default', () => {
    expect(rspamdVerdict(answer('no action', 1), DEFAULT_RSPAMD_MAPPING)).toMatchObject({
      action: 'accept',
      spam: false,
    });
    expect(rspamdVerdict(answer('greylist', 4), DEFAULT_RSPAMD_MAPPING).action).toBe('accept');
    expect(rspamdVerdict(answer('add header'), DEFAULT_RSPAMD_MAPPING)).toMatchObject({
      action: 'tag',
      spam: true,
    });
    expect(rspamdVerdict(answer('rewrite subject'), DEFAULT_RSPAMD_MAPPING).action).toBe('tag');
    expect(rspamdVerdict(answer('reject', 20), DEFAULT_RSPAMD_MAPPING).action).toBe('reject');
    expect(rspamdVerdict(answer('discard'), DEFAULT_RSPAMD_MAPPING).action).toBe('discard');
    expect(rspamdVerdict(answer('quarantine'), DEFAULT_RSPAMD_MAPPING).action).toBe('quarantine');
  });

  it('soft reject and unknown actions are failures (the gateway applies its timeout policy)', () => {
    expect(() => rspamdVerdict(answer('soft reject'), DEFAULT_RSPAMD_MAPPING)).toThrow(/soft reject/);
    expect(() => rspamdVerdict(answer('explode'), DEFAULT_RSPAMD_MAPPING)).toThrow(/unknown action/);
  });

  it('lists symbols strongest first', () => {
    const v = rspamdVerdict(
      {
        score: 3,
        required_score: 15,
        action: 'no action',
        symbols: { A: { score: 0 }, B: { score: 2.5 }, C: { score: -1 } },
      },
      DEFAULT_RSPAMD_MAPPING,
    );
    expect(v.reasons).toEqual(['B', 'C', 'A']);
  });

  it('passes the envelope as rspamd headers, one Rcpt per recipient', () => {
    const h = envelopeHeaders(
      mailOf(PLAIN, {
        mailFrom: '',
        rcpt: ['a@example.org', 'b@example.org'],
        clientAddr: '192.0.2.1',
        helo: 'mx.example.net',
        queueId: 'ABC',
      }),
      'alice',
    );
    expect(h).toMatchObject({
      From: '<>',
      Rcpt: ['a@example.org', 'b@example.org'],
      IP: '192.0.2.1',
      Helo: 'mx.example.net',
      'Queue-Id': 'ABC',
      User: 'alice',
    });
  });
});

describe('rspamd bridge against a real rspamd', () => {
  let rspamd: Awaited<ReturnType<typeof startRspamd>>;
  beforeAll(async () => {
    rspamd = await startRspamd();
  }, 90_000);
  afterAll(async () => {
    await rspamd?.[Symbol.asyncDispose]();
  });

  it('GTUBE is spam with a high score (rspamd says reject)', async () => {
    const classify = createRspamdClassifier({ url: rspamd.url });
    try {
      const v = await classify(mailOf(GTUBE));
      expect(v).toMatchObject({ v: 1, action: 'reject', spam: true });
      expect(v.score).toBeGreaterThanOrEqual(15);
      expect(v.reasons).toContain('GTUBE');
    } finally {
      classify.close();
    }
  });

  it('a plain mail is ham; the envelope reaches rspamd (To: bob is the second Rcpt: TO_MATCH_ENVRCPT_ALL)', async () => {
    const classify = createRspamdClassifier({ url: rspamd.url });
    try {
      const envelope = {
        mailFrom: 'alice@example.net',
        rcpt: ['carol@example.org', 'bob@example.org'],
        clientAddr: '192.0.2.10',
        helo: 'mail.example.net',
      };
      const v = await classify(mailOf(PLAIN, envelope));
      expect(v).toMatchObject({ action: 'accept', spam: false });
      expect(v.score).toBeLessThan(6);
      expect(v.reasons).toContain('TO_MATCH_ENVRCPT_ALL');
    } finally {
      classify.close();
    }
  });

  it('a changed mapping applies: reject becomes quarantine', async () => {
    const classify = createRspamdClassifier({ url: rspamd.url, actions: { reject: 'quarantine' } });
    try {
      expect((await classify(mailOf(GTUBE))).action).toBe('quarantine');
    } finally {
      classify.close();
    }
  });

  it('an error status is a failure naming it', async () => {
    const classify = createRspamdClassifier({ url: `${rspamd.url}/nowhere/` });
    try {
      const err = await classify(mailOf(PLAIN)).catch((e: unknown) => e);
      expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/HTTP 500: .*invalid command/);
    } finally {
      classify.close();
    }
  });
});

it('rspamd down: CLASSIFIER_FAILED naming it', async () => {
  const port = await freePort();
  const classify = createRspamdClassifier({ url: `http://127.0.0.1:${port}` });
  const err = await classify(mailOf(PLAIN)).catch((e: unknown) => e);
  classify.close();
  expect(isPsfError(err, 'CLASSIFIER_FAILED')).toBe(true);
  expect((err as Error).message).toMatch(/rspamd at http:\/\/127.0.0.1:\d+: unreachable/);
});
