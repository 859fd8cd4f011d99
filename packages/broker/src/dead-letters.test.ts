import { encodeLearnRequest, encodeScanRequest, SCAN_EXCHANGE } from '@psf/protocol';
import { createVhost } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { BrokerConnection } from './connection.js';
import { type DeadLetter, DeadLetterWatcher } from './dead-letters.js';
import { assertTopology, assertUserQueue } from './topology.js';

describe('DeadLetterWatcher', () => {
  it('reports why requests died (queue full, refused) with their owner, and keeps nothing', async () => {
    await using vhost = await createVhost();
    const admin = await amqp.connect(vhost.url);
    const ch = await admin.createConfirmChannel();
    await assertTopology(ch);
    await assertUserQueue(ch, 'full@example.org', { maxQueueLength: 0 });
    await assertUserQueue(ch, 'picky@example.org');
    const conn = await BrokerConnection.open({ url: vhost.url });
    const seen: DeadLetter[] = [];
    const watcher = new DeadLetterWatcher({ connection: conn, onDeadLetter: (d) => seen.push(d) });
    try {
      const request = (id: string) =>
        encodeScanRequest({
          id,
          envelope: { mailFrom: 'a@example.net', rcpt: ['x@example.org'] },
          size: 1,
          truncated: false,
          deadline: Date.now() + 60_000,
          mail: Buffer.from('x'),
        });
      const learn = encodeLearnRequest({ id: 'l-1', label: 'spam', mail: Buffer.from('x') });
      ch.sendToQueue('psf.user.picky@example.org', learn.content, learn.properties);
      const full = request('r-full');
      ch.publish(SCAN_EXCHANGE, 'full@example.org', full.content, full.properties);
      const picky = request('r-picky');
      ch.publish(SCAN_EXCHANGE, 'picky@example.org', picky.content, picky.properties);
      await ch.waitForConfirms().catch(() => {}); // the full queue nacks its publish
      // A learn request refused (an untrusted sender) is no dead mail: not reported. It dies
      // first, from the same queue, so it is read before the refused mail.
      const refused = await ch.get('psf.user.picky@example.org');
      expect(refused ? refused.properties.correlationId : undefined).toBe('l-1');
      if (refused) ch.nack(refused, false, false);
      const msg = await ch.get('psf.user.picky@example.org');
      if (msg) ch.nack(msg, false, false); // a classifier refusing it
      await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 10_000 });
      expect(seen).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            owner: 'full@example.org',
            reason: 'maxlen',
            queue: 'psf.user.full@example.org',
            id: 'r-full',
          }),
          {
            owner: 'picky@example.org',
            reason: 'rejected',
            queue: 'psf.user.picky@example.org',
            id: 'r-picky',
            // The envelope comes from the request's headers: what an owner's digest lists.
            from: 'a@example.net',
            rcpt: ['x@example.org'],
          },
        ]),
      );
      await vi.waitFor(async () => expect((await ch.checkQueue('psf.dead')).messageCount).toBe(0));
      expect(seen).toHaveLength(2); // the learn request was taken and not reported
    } finally {
      await watcher.close();
      await conn.close();
      await admin.close();
    }
  });
});
