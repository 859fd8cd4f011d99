import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { assertTopology, assertUserQueue, BrokerConnection, RpcClient, rabbitLdapConfig } from '@psf/broker';
import { connect } from '@psf/client-sdk';
import { isPsfError, SCAN_EXCHANGE, type ScanRequest } from '@psf/protocol';
import { type RabbitNode, type Slapd, startRabbitNode, startSlapd } from '@psf/testkit';
import { createTokenApi, LdapDirectory, LoginLimiter, TokenSigner } from '@psf/token-api';
import amqp from 'amqplib';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Identity end to end: a real slapd, the token API on a real socket, and a RabbitMQ node of the
// test's own whose HTTP auth backend is that token API (the shared broker is left alone).
const SECRET = 'identity-test-secret-0123456789abcdef';
let slapd: Slapd;
let node: RabbitNode;
let api: string;
let server: ReturnType<typeof serve>;
let app: Hono | undefined;

beforeAll(async () => {
  slapd = await startSlapd();
  // The node needs the API's port in its config, and the API the node's port for its answers.
  server = serve({
    fetch: (req) => (app ? app.fetch(req) : new Response('starting', { status: 503 })),
    hostname: '127.0.0.1',
    port: 0,
  });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  api = `http://127.0.0.1:${port}`;
  const auth = (path: string) => `auth_http.${path}_path = ${api}/auth/${path}`;
  node = await startRabbitNode({
    plugins: ['rabbitmq_auth_backend_http', 'rabbitmq_auth_backend_cache'],
    extraConf: [
      'auth_backends.1 = internal',
      'auth_backends.2 = http',
      'auth_http.http_method = post',
      ...['user', 'vhost', 'resource', 'topic'].map(auth),
    ].join('\n'),
  });
  app = createTokenApi({
    directory: new LdapDirectory({
      url: slapd.url,
      userBase: slapd.peopleDn,
      adminGroupDn: slapd.adminGroupDn,
    }),
    tokens: new TokenSigner(SECRET, 600),
    amqp: { host: '127.0.0.1', port: node.amqpPort, vhost: 'psf' },
    limiter: new LoginLimiter(20, 60_000),
  });
  await node.ctl(['add_vhost', 'psf']);
  await node.ctl(['set_permissions', '-p', 'psf', 'guest', '.*', '.*', '.*']);
  const admin = await amqp.connect(`${node.url}/psf`);
  const ch = await admin.createChannel();
  await assertTopology(ch);
  await assertUserQueue(ch, 'alice@example.org');
  await assertUserQueue(ch, 'bob@example.org');
  await admin.close();
}, 120_000);

afterAll(async () => {
  await node?.[Symbol.asyncDispose]();
  await new Promise((r) => server?.close(r));
  await slapd?.[Symbol.asyncDispose]();
});

const login = (username: string, password: string) =>
  fetch(`${api}/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

/** The AMQP error code a refused operation ends with (403 ACCESS_REFUSED), or 'ok'. */
async function attempt(
  user: string,
  password: string,
  op: (ch: amqp.Channel) => unknown,
  port = node.amqpPort,
): Promise<number | 'ok'> {
  const conn = await amqp.connect(
    `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/psf`,
  );
  try {
    const ch = await conn.createChannel();
    let code: number | 'ok' = 'ok';
    ch.on('error', (err: { code?: number }) => {
      code = err.code ?? -1;
    });
    try {
      await op(ch);
    } catch (err) {
      code = (err as { code?: number }).code ?? -1;
    }
    await new Promise((r) => setTimeout(r, 300)); // a publish refusal arrives asynchronously
    return code;
  } finally {
    await conn.close().catch(() => {});
  }
}

describe('identity: LDAP, token API, RabbitMQ HTTP auth backend', () => {
  it('alice logs in, her classifier consumes her mail with the token and answers', async () => {
    const session = await connect({
      api,
      username: 'alice',
      password: slapd.users.alice,
      handler: () => ({ v: 1, action: 'tag', score: 9 }),
    });
    expect(session).toMatchObject({ owner: 'alice@example.org', queue: 'psf.user.alice@example.org' });
    const gw = await BrokerConnection.open({ url: `${node.url}/psf` });
    const rpc = new RpcClient({ connection: gw });
    await rpc.waitReady(10_000);
    const request: ScanRequest = {
      id: 'id-1',
      envelope: { mailFrom: 'x@example.net', rcpt: ['alice@example.org'] },
      size: 10,
      truncated: false,
      deadline: Date.now() + 5000,
      mail: Buffer.from('Subject: x\r\n\r\nx\r\n'),
    };
    expect(await rpc.call('alice@example.org', request)).toEqual({ v: 1, action: 'tag', score: 9 });
    await rpc.close();
    await gw.close();
    await session.close();
  });

  it("the broker refuses alice bob's queue, publishing to psf.scan, and declaring queues", async () => {
    const { token } = (await (await login('alice', slapd.users.alice)).json()) as { token: string };
    const alice = 'alice@example.org';
    expect(await attempt(alice, token, (ch) => ch.consume('psf.user.alice@example.org', () => {}))).toBe(
      'ok',
    );
    expect(await attempt(alice, token, (ch) => ch.consume('psf.user.bob@example.org', () => {}))).toBe(403);
    expect(
      await attempt(alice, token, (ch) => ch.publish(SCAN_EXCHANGE, 'bob@example.org', Buffer.from('x'))),
    ).toBe(403);
    expect(await attempt(alice, token, (ch) => ch.assertQueue('mine'))).toBe(403);
    expect(
      await attempt(alice, token, (ch) => ch.publish('', 'amq.rabbitmq.reply-to.x', Buffer.from('x'))),
    ).not.toBe(403);
    // Her LDAP password works for AMQP too; bob's token is not hers.
    expect(await attempt(alice, slapd.users.alice, (ch) => ch.checkQueue('psf.user.alice@example.org'))).toBe(
      'ok',
    );
  });

  it('refuses wrong passwords, unknown users, filter injection and forged tokens', async () => {
    expect((await login('alice', 'wrong')).status).toBe(401);
    expect((await login('mallory', 'x')).status).toBe(401);
    expect((await login('*)(uid=*', 'x')).status).toBe(401);
    expect((await login('alice', '')).status).toBe(401);
    expect((await login('carol', slapd.users.carol)).status).toBe(200);
    expect(((await (await login('carol', slapd.users.carol)).json()) as { admin: boolean }).admin).toBe(true);
    const forged = await new TokenSigner('another-secret-0123456789abcdef-xyz').issue(
      'alice@example.org',
      false,
    );
    let refused: unknown;
    await amqp
      .connect(`amqp://alice%40example.org:${forged.token}@127.0.0.1:${node.amqpPort}/psf`)
      .then((c) => c.close())
      .catch((err) => {
        refused = err;
      });
    expect(String(refused)).toMatch(/ACCESS_REFUSED|403/);
    expect(isPsfError(refused)).toBe(false);
  });
});

describe('identity: tokens expire, and the client SDK keeps its own fresh', () => {
  it('the broker refuses an expired token', async () => {
    const short = await new TokenSigner(SECRET, 1).issue('alice@example.org', false);
    await new Promise((r) => setTimeout(r, 2100));
    await expect(attempt('alice@example.org', short.token, () => {})).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('a classifier reconnects after its first token expired, with a refreshed one', async () => {
    const previous = app;
    app = createTokenApi({
      directory: new LdapDirectory({ url: slapd.url, userBase: slapd.peopleDn }),
      tokens: new TokenSigner(SECRET, 2), // refreshed about every second
      amqp: { host: '127.0.0.1', port: node.amqpPort, vhost: 'psf' },
      limiter: new LoginLimiter(20, 60_000),
    });
    const session = await connect({
      api,
      username: 'alice',
      password: slapd.users.alice,
      handler: () => ({ v: 1, action: 'accept' }),
    });
    try {
      await new Promise((r) => setTimeout(r, 3000)); // the login token has expired by now
      await node.ctl(['close_all_connections', '-p', 'psf', 'test: reconnect']);
      const gw = await BrokerConnection.open({ url: `${node.url}/psf` });
      const rpc = new RpcClient({ connection: gw });
      await rpc.waitReady(10_000);
      const request: ScanRequest = {
        id: 'id-2',
        envelope: { mailFrom: 'x@example.net', rcpt: ['alice@example.org'] },
        size: 10,
        truncated: false,
        deadline: Date.now() + 8000,
        mail: Buffer.from('Subject: x\r\n\r\nx\r\n'),
      };
      expect(await rpc.call('alice@example.org', request)).toEqual({ v: 1, action: 'accept' });
      await rpc.close();
      await gw.close();
    } finally {
      await session.close();
      app = previous;
    }
  });
});

describe("identity: RabbitMQ's own LDAP backend, configured by rabbitLdapConfig()", () => {
  it('lets alice read her queue with her LDAP password, and nothing else', async () => {
    const { conf, advanced } = rabbitLdapConfig({
      servers: ['127.0.0.1'],
      port: Number(new URL(slapd.url).port),
      userBase: slapd.peopleDn,
    });
    await using ldapNode = await startRabbitNode({
      plugins: ['rabbitmq_auth_backend_ldap', 'rabbitmq_auth_backend_cache'],
      extraConf: conf,
      advancedConfig: advanced,
    });
    await ldapNode.ctl(['add_vhost', 'psf']);
    await ldapNode.ctl(['set_permissions', '-p', 'psf', 'guest', '.*', '.*', '.*']);
    const admin = await amqp.connect(`${ldapNode.url}/psf`);
    const ch = await admin.createChannel();
    await assertTopology(ch);
    await assertUserQueue(ch, 'alice@example.org');
    await assertUserQueue(ch, 'bob@example.org');
    await admin.close();
    const as = (password: string, op: (ch: amqp.Channel) => unknown) =>
      attempt('alice@example.org', password, op, ldapNode.amqpPort);
    expect(await as(slapd.users.alice, (c) => c.consume('psf.user.alice@example.org', () => {}))).toBe('ok');
    expect(await as(slapd.users.alice, (c) => c.consume('psf.user.bob@example.org', () => {}))).toBe(403);
    expect(await as(slapd.users.alice, (c) => c.publish(SCAN_EXCHANGE, 'x', Buffer.from('x')))).toBe(403);
    await expect(as('wrong', () => {})).rejects.toThrow(/ACCESS_REFUSED|403/);
  });
});
