import { createVhost, freePort, startTcpProxy } from '@psf/testkit';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { BrokerConnection } from './connection.js';

// Two "nodes" of one broker: TCP proxies to the shared RabbitMQ that a test can cut.
describe('BrokerConnection with several nodes', () => {
  it('connects to the next node when one is down, and moves on when its node goes away', async () => {
    await using vhost = await createVhost();
    await using a = await startTcpProxy(5672);
    await using b = await startTcpProxy(5672);
    const path = new URL(vhost.url).pathname;
    const at = (port: number) => `amqp://guest:guest@127.0.0.1:${port}${path}`;
    a.cut();
    const conn = await BrokerConnection.open({ url: `${at(a.port)},${at(b.port)}`, reconnectDelayMs: 20 });
    try {
      await conn.waitForConnect(10_000);
      expect(conn.node).toBe(`127.0.0.1:${b.port}`);
      a.restore();
      const reconnected = new Promise((resolve) => conn.once('connect', resolve));
      b.cut();
      await reconnected;
      expect(conn.node).toBe(`127.0.0.1:${a.port}`);
      // In the URL's vhost: a queue declared through the connection is seen there.
      const ch = await (await conn.waitForConnect()).createChannel();
      await ch.assertQueue('psf.test.failover', { durable: false });
      const direct = await amqp.connect(vhost.url);
      const check = await direct.createChannel();
      expect((await check.checkQueue('psf.test.failover')).queue).toBe('psf.test.failover');
      await direct.close();
      await ch.close();
    } finally {
      await conn.close();
    }
  });

  it('takes an array of URLs as well, and the single-URL form stays as it was', async () => {
    await using vhost = await createVhost();
    const dead = `amqp://guest:guest@127.0.0.1:${await freePort()}/${vhost.name}`;
    const list = await BrokerConnection.open({ url: [dead, vhost.url] });
    const single = await BrokerConnection.open({ url: vhost.url });
    try {
      await Promise.all([list.waitForConnect(10_000), single.waitForConnect(10_000)]);
      expect(list.node).toBe('127.0.0.1:5672');
      expect(single.node).toBe('127.0.0.1:5672');
      expect(list.username).toBe('guest');
    } finally {
      await list.close();
      await single.close();
    }
  });

  it('refuses a list with an entry that is not an AMQP URL', async () => {
    await expect(BrokerConnection.open({ url: 'amqp://127.0.0.1,http://127.0.0.1' })).rejects.toThrow(
      /expected amqp: or amqps:/,
    );
    await expect(BrokerConnection.open({ url: 'amqp://127.0.0.1,' })).rejects.toThrow(/separated by commas/);
  });
});

describe('BrokerConnection setup', () => {
  it('retries when the connection dies during setup (a node going down as it boots)', async () => {
    await using vhost = await createVhost();
    let calls = 0;
    const conn = await BrokerConnection.open({
      url: vhost.url,
      reconnectDelayMs: 20,
      setup: async (model) => {
        if (++calls > 1) return;
        const socket = (model as unknown as { connection: { stream: { destroy(e: Error): void } } })
          .connection.stream;
        socket.destroy(new Error('node went down'));
        await (await model.createChannel()).assertQueue('psf.test.never', { durable: false });
      },
    });
    try {
      await conn.waitForConnect(10_000);
      expect(calls).toBe(2);
    } finally {
      await conn.close();
    }
  });

  it('retries when setup hangs instead of waiting for it forever', async () => {
    await using vhost = await createVhost();
    let calls = 0;
    const conn = await BrokerConnection.open({
      url: vhost.url,
      reconnectDelayMs: 20,
      setupTimeoutMs: 300,
      // A declaration a booting node never answers, on the first attempt only.
      setup: () => (++calls === 1 ? new Promise<void>(() => {}) : Promise.resolve()),
    });
    try {
      await conn.waitForConnect(10_000);
      expect(calls).toBe(2);
    } finally {
      await conn.close();
    }
  });
});
