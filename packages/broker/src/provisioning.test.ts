import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  DEAD_LETTER_EXCHANGE,
  DEAD_QUEUE,
  DEFAULT_QUEUE,
  EVENTS_STREAM,
  SCAN_EXCHANGE,
  UNROUTED_EXCHANGE,
  userQueue,
} from '@psf/protocol';
import { freePort, type RabbitNode, startRabbitNode } from '@psf/testkit';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Management } from './management.js';
import { addUser, install, listUsers, removeUser } from './provisioning.js';

// One node for the file (boot ~7 s, stop ~6 s with management). Its second auth backend takes
// logins from a tiny HTTP server and permissions from RabbitMQ's own database, as for owners
// added without a password.
let node: RabbitNode;
let authServer: Server;
let management: Management;
let amqpUrl: string;
const vhost = 'psf';
const HTTP_USER = 'carol@example.org';
const HTTP_PASSWORD = 'from-the-directory';

const amqpAs = (user: string, password: string) =>
  `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${node.amqpPort}/${vhost}`;

/** 'ok', or the AMQP code that refused `use` (one channel per check: a refusal closes it). */
async function attempt(conn: ChannelModel, use: (ch: ConfirmChannel) => Promise<unknown>) {
  const ch = await conn.createConfirmChannel();
  let code: number | undefined;
  ch.on('error', (err: { code?: number }) => {
    code = err.code;
  });
  try {
    await use(ch);
    await ch.waitForConfirms(); // a refused publish closes the channel, failing its confirm
    await ch.close();
    return 'ok';
  } catch (err) {
    return code ?? (err as Error).message;
  }
}

// Management statistics (list-users counts) are sampled every 5 s.
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  authServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      res.end(p.get('username') === HTTP_USER && p.get('password') === HTTP_PASSWORD ? 'allow' : 'deny');
    });
  });
  await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', r));
  node = await startRabbitNode({
    management: true,
    plugins: ['rabbitmq_auth_backend_http'],
    extraConf: [
      'auth_backends.1 = internal',
      'auth_backends.2.authn = http',
      'auth_backends.2.authz = internal',
      'auth_http.http_method = post',
      `auth_http.user_path = http://127.0.0.1:${(authServer.address() as AddressInfo).port}/auth/user`,
    ].join('\n'),
  });
  management = new Management({
    url: `http://127.0.0.1:${node.managementPort}`,
    username: 'guest',
    password: 'guest',
  });
  amqpUrl = node.url;
});

afterAll(async () => {
  await node?.[Symbol.asyncDispose]();
  authServer?.close();
});

describe('install', () => {
  it('creates the vhost and the topology; a second run finds everything in place', async () => {
    const topology = [
      `exchange ${DEAD_LETTER_EXCHANGE}`,
      `queue ${DEAD_QUEUE}`,
      `exchange ${UNROUTED_EXCHANGE}`,
      `queue ${DEFAULT_QUEUE}`,
      `exchange ${SCAN_EXCHANGE}`,
      `queue ${EVENTS_STREAM}`,
    ];
    expect(await install({ management, amqpUrl, vhost })).toEqual({
      created: [`vhost ${vhost}`, ...topology],
      existing: [],
      different: [],
    });
    expect(await install({ management, amqpUrl, vhost })).toEqual({
      created: [],
      existing: [`vhost ${vhost}`, ...topology],
      different: [],
    });
  });

  it('reports a queue with other arguments as different, and declares the rest around it', async () => {
    await management.putVhost('psf-args');
    const admin = await amqp.connect(`${amqpUrl}/psf-args`);
    try {
      const ch = await admin.createConfirmChannel();
      await ch.assertQueue(DEFAULT_QUEUE, { durable: true, arguments: { 'x-max-length': 5 } });
      expect(await install({ management, amqpUrl, vhost: 'psf-args' })).toEqual({
        created: [
          `exchange ${DEAD_LETTER_EXCHANGE}`,
          `queue ${DEAD_QUEUE}`,
          `exchange ${UNROUTED_EXCHANGE}`,
          `exchange ${SCAN_EXCHANGE}`,
          `queue ${EVENTS_STREAM}`,
        ],
        existing: ['vhost psf-args'],
        different: [`queue ${DEFAULT_QUEUE}`],
      });
      // Still bound: unrouted requests reach it.
      ch.publish(SCAN_EXCHANGE, 'nobody@example.org', Buffer.from('x'));
      await ch.waitForConfirms();
      expect((await ch.checkQueue(DEFAULT_QUEUE)).messageCount).toBe(1);
    } finally {
      await admin.close();
    }
  });
});

describe('users', () => {
  const alice = 'alice@example.org';
  // Matched by alice's read permission if the owner id were not escaped ('.' matches '-').
  const lookalike = 'alice@example-org';

  it('add-user: the owner may consume their queue and publish replies, nothing else', async () => {
    expect(await addUser({ management, amqpUrl, vhost, owner: alice, password: 's3cret' })).toEqual({
      created: [`user ${alice}`, `queue ${userQueue(alice)}`],
      existing: [],
      different: [],
      permissions: {
        configure: '^$',
        write: '^amq\\.default$',
        read: '^psf\\.user\\.alice@example\\.org$',
      },
    });
    await addUser({ management, amqpUrl, vhost, owner: lookalike });

    const admin = await amqp.connect(`${amqpUrl}/${vhost}`);
    const conn = await amqp.connect(amqpAs(alice, 's3cret'));
    try {
      const own = await conn.createChannel();
      const next = async () => {
        const msg = await until(() => own.get(userQueue(alice), { noAck: true }), Boolean);
        return msg ? msg.content.toString() : 'nothing';
      };
      // The gateway's request reaches alice's queue through psf.scan.
      const ach = await admin.createConfirmChannel();
      ach.publish(SCAN_EXCHANGE, alice, Buffer.from('request'));
      await ach.waitForConfirms();
      expect(await next()).toBe('request');
      expect(await attempt(conn, (ch) => ch.consume(userQueue(alice), () => {}))).toBe('ok');
      expect(await attempt(conn, (ch) => ch.consume(userQueue(lookalike), () => {}))).toBe(403);
      expect(await attempt(conn, async (ch) => ch.publish(SCAN_EXCHANGE, lookalike, Buffer.from('x')))).toBe(
        403,
      );
      expect(await attempt(conn, (ch) => ch.assertQueue('mine'))).toBe(403);
      // A reply goes to the default exchange, as to a direct reply-to address.
      expect(await attempt(conn, async (ch) => ch.sendToQueue(userQueue(alice), Buffer.from('reply')))).toBe(
        'ok',
      );
      expect(await next()).toBe('reply');
      await expect(amqp.connect(amqpAs(alice, 'wrong'))).rejects.toThrow(/ACCESS.REFUSED/);
    } finally {
      await conn.close().catch(() => {});
      await admin.close();
    }
  });

  it('add-user without a password: logins come from another backend, permissions from add-user', async () => {
    const report = await addUser({ management, amqpUrl, vhost, owner: HTTP_USER });
    expect(report.created).toEqual([`user ${HTTP_USER}`, `queue ${userQueue(HTTP_USER)}`]);
    await expect(amqp.connect(amqpAs(HTTP_USER, 'guessed'))).rejects.toThrow(/ACCESS.REFUSED/);
    const conn = await amqp.connect(amqpAs(HTTP_USER, HTTP_PASSWORD));
    try {
      expect(await attempt(conn, (ch) => ch.consume(userQueue(HTTP_USER), () => {}))).toBe('ok');
      expect(await attempt(conn, (ch) => ch.consume(userQueue(alice), () => {}))).toBe(403);
    } finally {
      await conn.close();
    }
    // Rerun: the same user and queue, nothing new.
    expect(await addUser({ management, amqpUrl, vhost, owner: HTTP_USER })).toMatchObject({
      created: [],
      existing: [`user ${HTTP_USER}`, `queue ${userQueue(HTTP_USER)}`],
    });
  });

  it('list-users: owners with their message and consumer counts', async () => {
    const admin = await amqp.connect(`${amqpUrl}/${vhost}`);
    const conn = await amqp.connect(amqpAs(alice, 's3cret'));
    try {
      const ch = await admin.createConfirmChannel();
      for (const n of [1, 2]) ch.publish(SCAN_EXCHANGE, lookalike, Buffer.from(`m${n}`));
      await ch.waitForConfirms();
      await (await conn.createChannel()).consume(userQueue(alice), () => {});
      const users = await until(
        () => listUsers({ management, vhost }),
        (l) => l.some((u) => u.owner === lookalike && u.messages === 2) && l.some((u) => u.consumers === 1),
      );
      expect(users).toHaveLength(3);
      expect(users).toEqual(
        expect.arrayContaining([
          { owner: alice, queue: userQueue(alice), messages: 0, consumers: 1 },
          { owner: lookalike, queue: userQueue(lookalike), messages: 2, consumers: 0 },
          { owner: HTTP_USER, queue: userQueue(HTTP_USER), messages: 0, consumers: 0 },
        ]),
      );
    } finally {
      await conn.close();
      await admin.close();
    }
  });

  it('remove-user: deletes the user (closing their connections) and queue; mail goes to psf.default', async () => {
    const conn = await amqp.connect(amqpAs(alice, 's3cret'));
    const closed = new Promise((r) => conn.once('close', r));
    conn.on('error', () => {});
    expect(await removeUser({ management, vhost, owner: alice })).toEqual({
      removed: [`user ${alice}`, `queue ${userQueue(alice)}`],
      missing: [],
    });
    await closed;
    const admin = await amqp.connect(`${amqpUrl}/${vhost}`);
    try {
      const ch = await admin.createConfirmChannel();
      await ch.purgeQueue(DEFAULT_QUEUE);
      ch.publish(SCAN_EXCHANGE, alice, Buffer.from('fallback'));
      await ch.waitForConfirms();
      expect((await ch.checkQueue(DEFAULT_QUEUE)).messageCount).toBe(1);
    } finally {
      await admin.close();
    }
    expect((await listUsers({ management, vhost })).map((u) => u.owner)).not.toContain(alice);
    expect(await removeUser({ management, vhost, owner: alice })).toEqual({
      removed: [],
      missing: [`user ${alice}`, `queue ${userQueue(alice)}`],
    });
  });

  it('refuses an owner id that cannot be a queue name, and a vhost that is not installed', async () => {
    await expect(addUser({ management, amqpUrl, vhost, owner: 'a b' })).rejects.toMatchObject({
      code: 'CONFIG',
    });
    await expect(addUser({ management, amqpUrl, vhost: 'nowhere', owner: alice })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/vhost nowhere does not exist/),
    });
  });
});

describe('management API errors', () => {
  it('nothing listening: BROKER_UNAVAILABLE, naming the plugin to enable', async () => {
    const m = new Management({
      url: `http://127.0.0.1:${await freePort()}`,
      username: 'guest',
      password: 'guest',
    });
    await expect(listUsers({ management: m, vhost })).rejects.toMatchObject({
      code: 'BROKER_UNAVAILABLE',
      message: expect.stringMatching(/not reachable .*rabbitmq-plugins enable rabbitmq_management/),
    });
  });

  it('bad admin credentials: CONFIG', async () => {
    const m = new Management({
      url: `http://127.0.0.1:${node.managementPort}`,
      username: 'guest',
      password: 'nope',
    });
    await expect(install({ management: m, amqpUrl, vhost })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/refused user guest \(401/),
    });
  });
});

describe('psf-broker CLI (built dist/cli.js)', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const run = (args: string[], input = '', env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], {
        env: {
          ...process.env,
          PSF_AMQP_URL: `${amqpUrl}/${vhost}`,
          PSF_MANAGEMENT_URL: `http://127.0.0.1:${node.managementPort}`,
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });

  it('explains itself with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: psf-broker/);
    expect(r.stdout).toMatch(/PSF_MANAGEMENT_URL/);
    expect(r.stdout).toMatch(/install[\s\S]*add-user \[options\] <owner>[\s\S]*remove-user[\s\S]*list-users/);
  });

  it('add-user --password-stdin, then list-users; the password is never printed', async () => {
    const added = await run(['add-user', 'dave@example.org', '--password-stdin'], 'dave-pw\n');
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toMatch(/^created\tuser dave@example\.org$/m);
    expect(added.stdout).not.toMatch(/dave-pw/);
    const conn = await amqp.connect(amqpAs('dave@example.org', 'dave-pw'));
    await conn.close();
    const listed = await run(['list-users']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^dave@example\.org\t0\t0$/m);
  });

  it('exits 78 on a bad configuration, 69 when the management API is unreachable', async () => {
    const bad = await run(['--config', '/nonexistent/psf-broker.json', 'list-users']);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/^psf-broker: cannot read config file/);
    const down = await run(['list-users'], '', {
      PSF_MANAGEMENT_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(/^psf-broker: management API not reachable/);
  });
});
