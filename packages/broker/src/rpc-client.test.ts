import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  DEAD_QUEUE,
  DEFAULT_QUEUE,
  decodeScanRequest,
  encodeClassifierError,
  encodeVerdict,
  isPsfError,
  type ScanRequest,
} from '@psf/protocol';
import { createVhost, type Vhost } from '@psf/testkit';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection } from './connection.js';
import { RpcClient } from './rpc-client.js';
import { assertTopology, assertUserQueue } from './topology.js';

let vhost: Vhost;
let admin: ChannelModel;
let ch: Channel;
let conn: BrokerConnection;

function request(id: string, timeoutMs = 2000): ScanRequest {
  return {
    id,
    envelope: { mailFrom: 'a@example.org', rcpt: ['b@example.org'] },
    size: 20,
    truncated: false,
    deadline: Date.now() + timeoutMs,
    mail: Buffer.from('Subject: t\r\n\r\nhello\r\n'),
  };
}

/** A raw responder on `queue`: answers each request with what `reply` returns (or nothing). */
async function responder(
  queue: string,
  reply: (req: ScanRequest) => { content: Buffer; properties: object } | null,
) {
  const rch = await admin.createChannel();
  const seen: ScanRequest[] = [];
  await rch.consume(queue, (msg) => {
    if (!msg) return;
    const req = decodeScanRequest(msg);
    seen.push(req);
    const r = reply(req);
    if (r) rch.sendToQueue(msg.properties.replyTo, r.content, r.properties);
    rch.ack(msg);
  });
  return { seen, close: () => rch.close() };
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return isPsfError(err) ? err.code : String(err);
  }
}

beforeAll(async () => {
  vhost = await createVhost();
  admin = await amqp.connect(vhost.url);
  ch = await admin.createChannel();
  await assertTopology(ch);
  conn = await BrokerConnection.open({ url: vhost.url, reconnectDelayMs: 50 });
  await conn.waitForConnect(10_000);
});

afterAll(async () => {
  await conn?.close();
  await admin?.close();
  await vhost?.close();
});

describe('RpcClient over RabbitMQ', () => {
  for (const replyMode of ['direct', 'queue'] as const) {
    it(`gets the verdict of the owner's personal queue (${replyMode} reply)`, async () => {
      const queue = await assertUserQueue(ch, `alice-${replyMode}@example.org`);
      const r = await responder(queue, (req) => encodeVerdict({ v: 1, action: 'tag', score: 9 }, req.id));
      const rpc = new RpcClient({ connection: conn, replyMode });
      await rpc.waitReady(5000);
      const verdict = await rpc.call(`alice-${replyMode}@example.org`, request(`m-${replyMode}`));
      expect(verdict).toEqual({ v: 1, action: 'tag', score: 9 });
      expect(r.seen[0]?.envelope.rcpt).toEqual(['b@example.org']);
      await rpc.close();
      await r.close();
    });
  }

  it('routes owners without a personal queue to psf.default (alternate exchange)', async () => {
    const r = await responder(DEFAULT_QUEUE, (req) => encodeVerdict({ v: 1, action: 'accept' }, req.id));
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    expect(await rpc.call('nobody@example.org', request('m-default'))).toEqual({ v: 1, action: 'accept' });
    expect(r.seen.map((q) => q.id)).toEqual(['m-default']);
    await rpc.close();
    await r.close();
  });

  it('rejects with TIMEOUT at the deadline, and the unanswered request dead-letters to psf.dead', async () => {
    const queue = await assertUserQueue(ch, 'silent@example.org');
    await ch.purgeQueue(DEAD_QUEUE);
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    const started = Date.now();
    expect(await errorCode(rpc.call('silent@example.org', request('m-timeout', 300)))).toBe('TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // Expired at the queue's head once something looks at it.
    let dead = 0;
    for (let i = 0; i < 50 && dead === 0; i++) {
      await ch.checkQueue(queue);
      await ch.get(queue).then((m) => m && ch.nack(m, false, true));
      dead = (await ch.checkQueue(DEAD_QUEUE)).messageCount;
      if (!dead) await new Promise((r) => setTimeout(r, 100));
    }
    expect(dead).toBe(1);
    expect(rpc.inFlight).toBe(0);
    await rpc.close();
  });

  it('turns a bad reply into BAD_VERDICT and an error reply into CLASSIFIER_FAILED', async () => {
    const queue = await assertUserQueue(ch, 'broken@example.org');
    let n = 0;
    const r = await responder(queue, (req) =>
      n++ === 0
        ? { content: Buffer.from('not json'), properties: { correlationId: req.id, type: 'psf.verdict.v1' } }
        : encodeClassifierError('model missing', req.id),
    );
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    expect(await errorCode(rpc.call('broken@example.org', request('m-bad')))).toBe('BAD_VERDICT');
    expect(await errorCode(rpc.call('broken@example.org', request('m-err')))).toBe('CLASSIFIER_FAILED');
    await rpc.close();
    await r.close();
  });

  it('ignores a reply for an unknown correlation id and still gets the right one', async () => {
    const queue = await assertUserQueue(ch, 'stray@example.org');
    const rch = await admin.createChannel();
    await rch.consume(queue, (msg) => {
      if (!msg) return;
      const id = msg.properties.correlationId as string;
      const wrong = encodeVerdict({ v: 1, action: 'discard' }, 'no-such-id');
      rch.sendToQueue(msg.properties.replyTo, wrong.content, wrong.properties);
      const right = encodeVerdict({ v: 1, action: 'accept' }, id);
      rch.sendToQueue(msg.properties.replyTo, right.content, right.properties);
      rch.ack(msg);
    });
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    expect(await rpc.call('stray@example.org', request('m-stray'))).toEqual({ v: 1, action: 'accept' });
    await rpc.close();
    await rch.close();
  });

  it('rejects in-flight calls with BROKER_UNAVAILABLE when the connection drops, and recovers', async () => {
    await assertUserQueue(ch, 'slow@example.org');
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    const pending = errorCode(rpc.call('slow@example.org', request('m-drop', 20_000)));
    await new Promise((r) => setTimeout(r, 100));
    await promisify(execFile)('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhost.name, 'test: drop']);
    expect(await pending).toBe('BROKER_UNAVAILABLE');
    // The admin connection was closed too: reopen it, then the client recovers by itself.
    admin = await amqp.connect(vhost.url);
    ch = await admin.createChannel();
    const r = await responder(DEFAULT_QUEUE, (req) => encodeVerdict({ v: 1, action: 'accept' }, req.id));
    await rpc.waitReady(10_000);
    expect(await rpc.call('back@example.org', request('m-back'))).toEqual({ v: 1, action: 'accept' });
    await rpc.close();
    await r.close();
  });

  it('rejects with PUBLISH_REFUSED when the broker nacks the request (owner queue full)', async () => {
    await assertUserQueue(ch, 'full@example.org', { maxQueueLength: 0 });
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    expect(await errorCode(rpc.call('full@example.org', request('m-full')))).toBe('PUBLISH_REFUSED');
    await rpc.close();
  });

  it('after a nack, sends on a new channel and still gets the replies to calls sent on the old one', async () => {
    const queue = await assertUserQueue(ch, 'one@example.org', { maxQueueLength: 1 });
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    const first = rpc.call('one@example.org', request('m-one-1', 5000)); // fills the queue
    await new Promise((r) => setTimeout(r, 100)); // confirmed by then
    expect(await errorCode(rpc.call('one@example.org', request('m-one-2')))).toBe('PUBLISH_REFUSED');
    const r = await responder(queue, (req) => encodeVerdict({ v: 1, action: 'accept' }, req.id));
    expect(await first).toEqual({ v: 1, action: 'accept' });
    await rpc.waitReady(5000);
    expect(await rpc.call('one@example.org', request('m-one-3'))).toEqual({ v: 1, action: 'accept' });
    expect(r.seen.map((q) => q.id)).toEqual(['m-one-1', 'm-one-3']);
    await rpc.close();
    await r.close();
  });

  it('rejects with PUBLISH_REFUSED when even psf.default is missing (returned as unroutable)', async () => {
    await ch.deleteQueue(DEFAULT_QUEUE);
    const rpc = new RpcClient({ connection: conn });
    await rpc.waitReady(5000);
    try {
      const err = await rpc.call('nobody@example.org', request('m-return')).catch((e: Error) => e);
      expect(isPsfError(err, 'PUBLISH_REFUSED')).toBe(true);
      expect((err as Error).message).toMatch(/312 NO_ROUTE/);
    } finally {
      await assertTopology(ch);
      await rpc.close();
    }
  });

  it('refuses calls when not connected and after close', async () => {
    const idle = await BrokerConnection.open({
      url: 'amqp://guest:guest@127.0.0.1:1/none',
      reconnectDelayMs: 1000,
    });
    const rpc = new RpcClient({ connection: idle });
    expect(await errorCode(rpc.call('x@example.org', request('m-none')))).toBe('BROKER_UNAVAILABLE');
    await rpc.close();
    expect(await errorCode(rpc.call('x@example.org', request('m-closed')))).toBe('SHUTTING_DOWN');
    await idle.close();
  });
});
