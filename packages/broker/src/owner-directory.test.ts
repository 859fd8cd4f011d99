import { createVhost } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { BrokerConnection } from './connection.js';
import { OwnerDirectory } from './owner-directory.js';
import { assertTopology, assertUserQueue, deleteUserQueue } from './topology.js';

describe('OwnerDirectory', () => {
  it('tells owners with a personal queue from the others, and caches the answer for its TTL', async () => {
    await using vhost = await createVhost();
    const admin = await amqp.connect(vhost.url);
    const ch = await admin.createChannel();
    await assertTopology(ch);
    await assertUserQueue(ch, 'alice@example.org');
    const conn = await BrokerConnection.open({ url: vhost.url });
    await conn.waitForConnect(10_000);
    try {
      const dir = new OwnerDirectory({ connection: conn, ttlMs: 300 });
      const [alice, bob] = await Promise.all([
        dir.hasPersonalQueue('alice@example.org'),
        dir.hasPersonalQueue('bob@example.org'),
      ]);
      expect([alice, bob]).toEqual([true, false]);
      await deleteUserQueue(ch, 'alice@example.org');
      expect(await dir.hasPersonalQueue('alice@example.org')).toBe(true); // cached
      await new Promise((r) => setTimeout(r, 350));
      expect(await dir.hasPersonalQueue('alice@example.org')).toBe(false);
    } finally {
      await conn.close();
      await admin.close();
    }
  });

  it('fails with BROKER_UNAVAILABLE when not connected (the mail is then deferred)', async () => {
    const conn = await BrokerConnection.open({
      url: 'amqp://guest:guest@127.0.0.1:1/none',
      reconnectDelayMs: 1000,
    });
    const dir = new OwnerDirectory({ connection: conn });
    await expect(dir.hasPersonalQueue('x@example.org')).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    await conn.close();
  });
});
