import { createServer, type Socket } from 'node:net';
import { isPsfError } from '@psf/protocol';
import { type Clamd, EICAR, freePort, startClamd } from '@psf/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClamavClassifier, parseClamdReply } from './clamav.js';
import { createComposite } from './composite.js';
import { createRulesClassifier } from './rules.js';
import { mailOf, PLAIN, withAttachment } from './test-mails.js';

describe('parseClamdReply', () => {
  it('reads OK and FOUND, and refuses errors and silence', () => {
    expect(parseClamdReply('stream: OK\0')).toEqual({ infected: false });
    expect(parseClamdReply('stream: Win.Test.EICAR_HDB-1 FOUND\0')).toEqual({
      infected: true,
      name: 'Win.Test.EICAR_HDB-1',
    });
    expect(() => parseClamdReply('INSTREAM size limit exceeded. ERROR\0')).toThrow(/size limit exceeded/);
    expect(() => parseClamdReply('')).toThrow(/closed without a reply/);
  });
});

describe('ClamAV bridge against a real clamd', () => {
  let clamd: Clamd;
  beforeAll(async () => {
    clamd = await startClamd();
  });
  afterAll(async () => {
    await clamd?.[Symbol.asyncDispose]();
  });

  it('quarantines a mail with the EICAR test file attached and accepts a clean one', async () => {
    const clamav = createClamavClassifier({ host: clamd.host, port: clamd.port });
    expect(await clamav(mailOf(withAttachment(EICAR)))).toEqual({
      v: 1,
      action: 'quarantine',
      score: 100,
      spam: true,
      reasons: [`VIRUS:${clamd.eicarName}`],
    });
    expect(await clamav(mailOf(withAttachment('just a harmless file\n')))).toEqual({
      v: 1,
      action: 'accept',
      score: 0,
      spam: false,
      reasons: [],
    });
    // A mail bigger than one INSTREAM chunk, the virus near the end.
    const big = withAttachment(`${'padding line\n'.repeat(20_000)}${EICAR}`);
    expect(big.length).toBeGreaterThan(200_000);
    expect((await clamav(mailOf(big))).reasons).toEqual([`VIRUS:${clamd.eicarName}`]);
  });

  it('takes the configured action, and says when it saw only the first part of the mail', async () => {
    const rejecting = createClamavClassifier({ host: clamd.host, port: clamd.port, action: 'reject' });
    expect((await rejecting(mailOf(withAttachment(EICAR)))).action).toBe('reject');
    const partial = { ...mailOf(PLAIN), truncated: true };
    expect((await rejecting(partial)).reasons).toEqual(['CLAMAV_PARTIAL']);
  });

  it('in a composite, a virus outweighs everything: quarantined from the quarantine threshold', async () => {
    const composite = createComposite({
      members: [
        { name: 'rules', classify: createRulesClassifier() },
        { name: 'clamav', classify: createClamavClassifier({ host: clamd.host, port: clamd.port }) },
      ],
      thresholds: { tag: 5, quarantine: 50 },
    });
    const v = await composite(mailOf(withAttachment(EICAR)));
    expect(v.action).toBe('quarantine');
    expect(v.reasons).toContain(`clamav:VIRUS:${clamd.eicarName}`);
    expect((await composite(mailOf(PLAIN))).action).toBe('accept');
  });

  it('clamd unreachable, silent, or answering an error: CLASSIFIER_FAILED naming clamd', async () => {
    const down = createClamavClassifier({ host: '127.0.0.1', port: await freePort() });
    const refused = await down(mailOf(PLAIN)).catch((e: unknown) => e);
    expect(isPsfError(refused) && refused.code).toBe('CLASSIFIER_FAILED');
    expect((refused as Error).message).toMatch(/^clamd at 127\.0\.0\.1:\d+: unreachable/);

    // A clamd that reads and never answers (nor closes), then one that answers an error.
    const sockets: Socket[] = [];
    let reply: string | undefined;
    const fake = createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on('data', () => {
        if (reply) s.end(reply);
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as { port: number }).port;
    try {
      const slow = createClamavClassifier({ host: '127.0.0.1', port, timeoutMs: 200 });
      await expect(slow(mailOf(PLAIN))).rejects.toThrow(/no answer within 200 ms/);
      reply = 'INSTREAM size limit exceeded. ERROR\0';
      await expect(slow(mailOf(PLAIN))).rejects.toThrow(/clamd says "INSTREAM size limit exceeded. ERROR"/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });
});
