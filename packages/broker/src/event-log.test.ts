import type { MailEvent, PsfEvent } from '@psf/protocol';
import { createVhost, startTcpProxy } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { BrokerConnection } from './connection.js';
import { EventFollower, EventPublisher, readEvents } from './event-log.js';
import { topologySetup } from './topology.js';

const mail = (i: number): MailEvent => ({
  v: 1,
  kind: 'mail',
  at: Date.now(),
  id: `m${i}`,
  owner: 'alice',
  from: 'x@example.net',
  rcpt: ['alice@example.org'],
  status: 'clean',
  size: 10,
});

describe('psf.events', () => {
  it('batches: many events in one message, flushed after flushMs or at maxBatch', async () => {
    await using vhost = await createVhost();
    const connection = await BrokerConnection.open({ url: vhost.url, setup: topologySetup() });
    const publisher = new EventPublisher({ connection, flushMs: 50, maxBatch: 10 });
    try {
      await vi.waitFor(() => expect(connection.connected).toBe(true));
      await new Promise((r) => setTimeout(r, 100)); // the publisher's channel
      for (let i = 0; i < 25; i++) publisher.publish(mail(i)); // two full batches, then 5 wait
      const model = await amqp.connect(vhost.url);
      const ch = await model.createChannel();
      await ch.prefetch(100);
      const sizes: number[] = [];
      await ch.consume(
        'psf.events',
        (msg) => {
          if (!msg) return;
          sizes.push((JSON.parse(msg.content.toString()) as unknown[]).length);
          ch.ack(msg);
        },
        { arguments: { 'x-stream-offset': 'first' } },
      );
      await vi.waitFor(() => expect(sizes).toEqual([10, 10, 5]));
      await model.close();
    } finally {
      await publisher.close();
      await connection.close();
    }
  });

  it('a reader gets what was published up to its mark; a follower resumes after an outage without repeats', async () => {
    await using vhost = await createVhost();
    await using proxy = await startTcpProxy(5672);
    const url = vhost.url.replace(':5672/', `:${proxy.port}/`);
    const connection = await BrokerConnection.open({ url, reconnectDelayMs: 50, setup: topologySetup() });
    const publisher = new EventPublisher({ connection });
    const followed: PsfEvent[] = [];
    const follower = new EventFollower({ connection, onEvent: (e) => followed.push(e) });
    try {
      await vi.waitFor(() => {
        publisher.publish(mail(-1));
        expect(followed.length).toBeGreaterThan(0);
      });
      const numbered = () => followed.filter((e) => e.kind === 'mail' && /^m\d{1,2}$/.test(e.id));
      for (let i = 0; i < 100; i++) publisher.publish(mail(i));
      await vi.waitFor(() => expect(numbered()).toHaveLength(100));

      proxy.cut();
      await vi.waitFor(() => expect(connection.connected).toBe(false));
      publisher.publish(mail(1000)); // the broker is away: dropped, counted, never blocking
      publisher.flush();
      expect(publisher.dropped).toBeGreaterThanOrEqual(1);
      proxy.restore();
      await vi.waitFor(() => expect(connection.connected).toBe(true), { timeout: 10_000 });
      await vi.waitFor(
        () => {
          publisher.publish(mail(2000));
          expect(followed.some((e) => e.kind === 'mail' && e.id === 'm2000')).toBe(true);
        },
        { timeout: 10_000 },
      );
      // Resumed after the last offset read: m0..m99 each exactly once, not read again.
      expect(new Set(numbered().map((e) => (e.kind === 'mail' ? e.id : '')))).toHaveProperty('size', 100);
      expect(numbered()).toHaveLength(100);

      const model = await amqp.connect(vhost.url);
      const read: PsfEvent[] = [];
      await readEvents(model, { onEvent: (e) => read.push(e) });
      await model.close();
      // Everything published while connected, and not the reader's own mark.
      expect(read.filter((e) => e.kind === 'mail' && /^m\d{1,2}$/.test(e.id))).toHaveLength(100);
      expect(read.some((e) => e.kind === 'mark')).toBe(false);
      expect(read.some((e) => e.kind === 'mail' && e.id === 'm1000')).toBe(false);
    } finally {
      await follower.close();
      await publisher.close();
      await connection.close();
    }
  });

  it('a reader starting at a time skips older events', async () => {
    await using vhost = await createVhost();
    const connection = await BrokerConnection.open({ url: vhost.url, setup: topologySetup() });
    const publisher = new EventPublisher({ connection });
    try {
      await vi.waitFor(() => expect(connection.connected).toBe(true));
      const model = await amqp.connect(vhost.url);
      // Streams keep a timestamp per chunk: wait for the clock to pass a whole second.
      publisher.publish({ ...mail(1), id: 'old' });
      publisher.flush();
      await new Promise((r) => setTimeout(r, 2100));
      const since = Date.now();
      publisher.publish({ ...mail(2), id: 'new' });
      publisher.flush();
      const read: PsfEvent[] = [];
      await readEvents(model, { since, onEvent: (e) => read.push(e) });
      await model.close();
      expect(read.map((e) => (e.kind === 'mail' ? e.id : e.kind))).toEqual(['new']);
    } finally {
      await publisher.close();
      await connection.close();
    }
  });
});
