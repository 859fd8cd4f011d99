import { setTimeout as sleep } from 'node:timers/promises';
import { createVhost, type Vhost } from '@psf/testkit';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection } from './connection.js';
import { lockQueue, withQueueLock } from './queue-lock.js';

let vhost: Vhost;
const conns: BrokerConnection[] = [];

async function connection(): Promise<ChannelModel> {
  const conn = await BrokerConnection.open({ url: vhost.url });
  conns.push(conn);
  await conn.waitForConnect(10_000);
  return conn.model as ChannelModel;
}

beforeAll(async () => {
  vhost = await createVhost();
});

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => {});
  await vhost?.close();
});

/** Runs `n` holders at once (on the given connections in turn); returns the order they entered and left. */
async function contend(models: ChannelModel[], name: string, n: number): Promise<string[]> {
  const trace: string[] = [];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      withQueueLock(models[i % models.length] as ChannelModel, name, async () => {
        trace.push(`in ${i}`);
        await sleep(30);
        trace.push(`out ${i}`);
      }),
    ),
  );
  return trace;
}

/** Every holder left before the next one came in. */
const oneAtATime = (trace: string[]) =>
  trace.every((t, i) => (i % 2 === 1 ? t === trace[i - 1]?.replace('in', 'out') : t.startsWith('in ')));

describe('withQueueLock', () => {
  it('lets one holder in at a time, across connections (processes) and on one connection', async () => {
    const a = await connection();
    const b = await connection();
    const across = await contend([a, b], 'across', 6);
    expect(across).toHaveLength(12);
    expect(oneAtATime(across)).toBe(true);
    const shared = await contend([a], 'shared', 4);
    expect(oneAtATime(shared)).toBe(true);
    // The control: without the lock the same holders overlap, so the check above can fail.
    const trace: string[] = [];
    await Promise.all(
      [0, 1].map(async (i) => {
        trace.push(`in ${i}`);
        await sleep(30);
        trace.push(`out ${i}`);
      }),
    );
    expect(oneAtATime(trace)).toBe(false);
  });

  it('is freed by RabbitMQ when its holder connection dies, and gives up with TIMEOUT after waitMs', async () => {
    const doomed = await BrokerConnection.open({ url: vhost.url });
    await doomed.waitForConnect(10_000);
    const other = await connection();
    let entered!: () => void;
    let finish!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const held = withQueueLock(doomed.model as ChannelModel, 'crash', async () => {
      entered();
      await finished;
    });
    await inside;
    await expect(withQueueLock(other, 'crash', async () => 'late', 300)).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await doomed.close(); // as a crash would: the lock queue goes with the connection
    expect(await withQueueLock(other, 'crash', async () => 'after', 5000)).toBe('after');
    finish();
    await held;
  });

  it('names a lock queue for any queue name within AMQP limits', () => {
    const name = lockQueue(`psf.quarantine.${'x'.repeat(240)}`);
    expect(name).toMatch(/^psf\.lock\.[0-9a-f]{40}$/);
    expect(lockQueue('a')).not.toBe(lockQueue('b'));
  });
});
