import { describe, expect, it } from 'vitest';
import { createTokenApi } from './app.js';
import type { Directory } from './directory.js';
import { LoginLimiter } from './login-limiter.js';
import { TokenSigner } from './tokens.js';

// A directory of two users; the LDAP one is tested against a real slapd in test/e2e.
const directory: Directory = {
  async authenticate(login, password) {
    if (login === 'alice' && password === 'alice-pw')
      return { login, owner: 'alice@example.org', admin: false };
    if (login === 'carol' && password === 'carol-pw')
      return { login, owner: 'carol@example.org', admin: true };
    return null;
  },
};
const SECRET = 'x'.repeat(40);
const amqp = { host: '127.0.0.1', port: 5672, vhost: 'psf' };

function api(opts: { ttl?: number; limiter?: LoginLimiter } = {}) {
  const added: string[] = [];
  const app = createTokenApi({
    directory,
    tokens: new TokenSigner(SECRET, opts.ttl ?? 3600),
    amqp,
    limiter: opts.limiter ?? new LoginLimiter(3, 60_000),
    provisioner: {
      addUser: async (o) => void added.push(o),
      removeUser: async () => {},
    },
  });
  const post = (path: string, body: unknown, token?: string) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const form = (path: string, fields: Record<string, string>) =>
    Promise.resolve(app.request(path, { method: 'POST', body: new URLSearchParams(fields) })).then((r) =>
      r.text(),
    );
  return { app, post, form, added };
}

async function loginToken(post: ReturnType<typeof api>['post'], username: string, password: string) {
  const res = await post('/v1/login', { username, password });
  return ((await res.json()) as { token: string }).token;
}

describe('token API', () => {
  it('logs a user in and hands over a token, their queue and the broker address', async () => {
    const { post, app } = api();
    const res = await post('/v1/login', { username: 'alice', password: 'alice-pw' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      owner: 'alice@example.org',
      admin: false,
      amqp: {
        url: 'amqp://127.0.0.1:5672/psf',
        vhost: 'psf',
        username: 'alice@example.org',
        queue: 'psf.user.alice@example.org',
      },
    });
    const me = await app.request('/v1/me', { headers: { authorization: `Bearer ${body.token}` } });
    expect(await me.json()).toMatchObject({ owner: 'alice@example.org', admin: false });
  });

  it('refuses a wrong password, an unknown user and a malformed body with clear errors', async () => {
    const { post } = api();
    expect((await post('/v1/login', { username: 'alice', password: 'nope' })).status).toBe(401);
    const unknown = await post('/v1/login', { username: 'mallory', password: 'x' });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({ error: 'invalid username or password' });
    expect((await post('/v1/login', { username: 'alice' })).status).toBe(400);
  });

  it('rate-limits failed logins per user name (429), without locking out other users', async () => {
    const { post } = api({ limiter: new LoginLimiter(3, 60_000) });
    for (let i = 0; i < 3; i++)
      expect((await post('/v1/login', { username: 'alice', password: 'bad' })).status).toBe(401);
    expect((await post('/v1/login', { username: 'alice', password: 'alice-pw' })).status).toBe(429);
    expect((await post('/v1/login', { username: 'carol', password: 'carol-pw' })).status).toBe(200);
  });

  it('refuses forged and expired tokens, and refreshes valid ones', async () => {
    const { post, app } = api({ ttl: 1 });
    const token = await loginToken(post, 'alice', 'alice-pw');
    const forged = await new TokenSigner('y'.repeat(40)).issue('alice@example.org', true);
    const me = (t: string) => app.request('/v1/me', { headers: { authorization: `Bearer ${t}` } });
    expect((await me(forged.token)).status).toBe(401);
    const refreshed = await post('/v1/token', {}, token);
    expect(refreshed.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await me(token);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ error: 'token expired' });
  });

  it('lets only admins provision users and issue their tokens', async () => {
    const { post, added } = api();
    const alice = await loginToken(post, 'alice', 'alice-pw');
    const carol = await loginToken(post, 'carol', 'carol-pw');
    expect((await post('/v1/admin/users/bob@example.org', {}, alice)).status).toBe(403);
    expect((await post('/v1/admin/users/bob@example.org', {})).status).toBe(401);
    expect((await post('/v1/admin/users/bob@example.org', {}, carol)).status).toBe(201);
    expect(added).toEqual(['bob@example.org']);
    const issued = (await (await post('/v1/admin/users/bob@example.org/token', {}, carol)).json()) as {
      token: string;
    };
    expect(await new TokenSigner(SECRET).verify(issued.token)).toMatchObject({
      owner: 'bob@example.org',
      admin: false,
    });
  });

  it("answers RabbitMQ's HTTP auth backend: a user reads only their queue and writes only replies", async () => {
    const { post, form } = api();
    const token = await loginToken(post, 'alice', 'alice-pw');
    const user = 'alice@example.org';
    expect(await form('/auth/user', { username: user, password: token })).toBe('allow');
    expect(await form('/auth/user', { username: 'bob@example.org', password: token })).toBe('deny');
    expect(await form('/auth/user', { username: user, password: 'forged' })).toBe('deny');
    expect(await form('/auth/vhost', { username: user, vhost: 'psf' })).toBe('allow');
    expect(await form('/auth/vhost', { username: user, vhost: '/' })).toBe('deny');
    const resource = (resource: string, name: string, permission: string) =>
      form('/auth/resource', { username: user, vhost: 'psf', resource, name, permission });
    expect(await resource('queue', 'psf.user.alice@example.org', 'read')).toBe('allow');
    expect(await resource('queue', 'psf.user.bob@example.org', 'read')).toBe('deny');
    expect(await resource('queue', 'psf.user.alice@example.org', 'configure')).toBe('deny');
    expect(await resource('exchange', 'amq.default', 'write')).toBe('allow');
    expect(await resource('exchange', 'psf.scan', 'write')).toBe('deny');
    expect(await form('/auth/topic', { username: user })).toBe('deny');
  });

  it('counts logins and auth backend answers at /metrics', async () => {
    const { post, form, app } = api();
    await post('/v1/login', { username: 'alice', password: 'alice-pw' });
    await post('/v1/login', { username: 'alice', password: 'nope' });
    await form('/auth/topic', { username: 'alice@example.org' });
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/^psf_logins_total\{outcome="ok"\} 1$/m);
    expect(text).toMatch(/^psf_logins_total\{outcome="refused"\} 1$/m);
    expect(text).toMatch(/^psf_auth_checks_total\{kind="topic",answer="deny"\} 1$/m);
  });
});
