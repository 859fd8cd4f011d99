import { BrokerConnection, Quarantine } from '@psf/broker';
import { Reinjector } from '@psf/gateway';
import type { QuarantinedMail } from '@psf/protocol';
import { createVhost, startSink } from '@psf/testkit';
import { describe, expect, it } from 'vitest';
import { BrokerQuarantineAccess } from './quarantine-access.js';

const mail = (id: string, owner: string): QuarantinedMail => ({
  id,
  owner,
  mailFrom: 'spammer@example.net',
  rcpt: [owner],
  verdict: { v: 1, action: 'quarantine', score: 12 },
  quarantinedAt: 1_800_000_000_000,
  mail: Buffer.from(`Subject: ${id}\r\n\r\nbody\r\n`),
});

// Over a real RabbitMQ vhost and a real SMTP sink standing in for the reinjection smtpd.
describe('BrokerQuarantineAccess', () => {
  it("lists, reads, releases and deletes one owner's mail only; a release reaches only their recipients", async () => {
    await using vhost = await createVhost();
    await using sink = await startSink();
    const connection = await BrokerConnection.open({ url: vhost.url });
    const reinjector = new Reinjector({ host: '127.0.0.1', port: sink.port, poolSize: 1 });
    try {
      await connection.waitForConnect(10_000);
      const quarantine = new Quarantine({ connection });
      for (const m of [
        mail('a1', 'alice@example.org'),
        mail('a2', 'alice@example.org'),
        mail('b1', 'bob@example.org'),
      ])
        await quarantine.store(m);
      const access = new BrokerQuarantineAccess({ quarantine, reinjector });
      expect((await access.list('alice@example.org')).map((e) => e.id)).toEqual(['a1', 'a2']);
      expect(await access.release('alice@example.org', 'b1')).toBe(false);
      expect(await access.delete('alice@example.org', 'b1')).toBe(false);
      expect(await access.read('alice@example.org', 'b1')).toBeUndefined();
      // Reading leaves the mail where it was, in its place.
      expect((await access.read('alice@example.org', 'a2'))?.toString()).toBe('Subject: a2\r\n\r\nbody\r\n');
      expect((await access.list('alice@example.org')).map((e) => e.id)).toEqual(['a1', 'a2']);
      expect((await access.list('bob@example.org')).map((e) => e.id)).toEqual(['b1']);
      expect(await access.release('alice@example.org', 'a1')).toBe(true);
      const [released] = await sink.waitFor(1, 5000);
      expect(released?.rcpt).toEqual(['alice@example.org']);
      expect(released?.raw.toString()).toMatch(/^X-PSF-Status: released; action=quarantine\r$/m);
      expect(await access.delete('alice@example.org', 'a2')).toBe(true);
      expect(await access.list('alice@example.org')).toEqual([]);
      expect(sink.mails).toHaveLength(1);
    } finally {
      await reinjector.close();
      await connection.close();
    }
  });
});
