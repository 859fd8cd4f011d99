import { type LearnLabel, PsfError } from '@psf/protocol';
import { describe, expect, it } from 'vitest';
import type { ActivitySource, OwnerActivity } from './activity.js';
import { createTokenApi } from './app.js';
import type { Directory } from './directory.js';
import type { LearnSender } from './learn-sender.js';
import { LoginLimiter } from './login-limiter.js';
import type { QuarantineAccess, QuarantineItem } from './quarantine-access.js';
import { TokenSigner } from './tokens.js';

// The pages in-process (app.request) over in-memory sources; the real quarantine, LDAP and a
// browser are in test/e2e/self-service.test.ts.
const directory: Directory = {
  async authenticate(login, password) {
    if (password !== `${login}-pw`) return null;
    if (login === 'down') throw new Error('ldap down');
    return { login, owner: `${login}@example.org`, admin: login === 'carol' };
  },
};
const SECRET = 'y'.repeat(40);
const ORIGIN = 'http://localhost';

const item = (owner: string, id: string, mailFrom: string): QuarantineItem => ({
  id,
  owner,
  mailFrom,
  rcpt: [owner],
  verdict: { v: 1, action: 'quarantine', score: 12.5 },
  quarantinedAt: Date.UTC(2025, 0, 2, 3, 4),
  size: 100,
  subject: `subject of ${id}`,
});

/** The raw mail of a quarantined item in these tests. */
const rawOf = (id: string) => Buffer.from(`Subject: subject of ${id}\r\n\r\nbody\r\n`);

/** An in-memory quarantine that records what was released and deleted, and for whom. */
class MemoryQuarantine implements QuarantineAccess {
  readonly mails = new Map<string, QuarantineItem[]>();
  readonly released: Array<{ owner: string; id: string }> = [];
  failing = false;
  /** Only releases and deletions fail (the reinjection smtpd is down). */
  takeFailing = false;

  async list(owner: string) {
    if (this.failing) throw new Error('broker down');
    return this.mails.get(owner) ?? [];
  }
  async read(owner: string, id: string) {
    if (this.failing) throw new Error('broker down');
    return this.mails.get(owner)?.some((m) => m.id === id) ? rawOf(id) : undefined;
  }
  #take(owner: string, id: string): boolean {
    if (this.failing || this.takeFailing) throw new Error('broker down');
    const list = this.mails.get(owner) ?? [];
    const i = list.findIndex((m) => m.id === id);
    if (i === -1) return false;
    list.splice(i, 1);
    return true;
  }
  async release(owner: string, id: string) {
    const done = this.#take(owner, id);
    if (done) this.released.push({ owner, id });
    return done;
  }
  async delete(owner: string, id: string) {
    return this.#take(owner, id);
  }
}

/** Records the corrections it is sent; `failWith` makes the classifier fail. */
class FakeLearner implements LearnSender {
  readonly learnt: Array<{ owner: string; label: LearnLabel; mail: string }> = [];
  failWith: PsfError | undefined;

  async learn(owner: string, label: LearnLabel, mail: Buffer) {
    if (this.failWith) throw this.failWith;
    this.learnt.push({ owner, label, mail: mail.toString() });
    return { v: 1 as const, label, owner, times: 1, before: 0.2, after: 0.99 };
  }
}

const activityOf = (owner: string, counts: Record<string, number>): OwnerActivity => ({
  owner,
  counts,
  recent: [
    {
      at: Date.UTC(2025, 0, 2),
      id: 'm1',
      from: 'evil@<script>.test',
      messageId: '<m1@x>',
      status: 'spam',
      score: 8,
    },
  ],
});
const activity: ActivitySource = {
  owner: (o) =>
    o === 'alice@example.org' ? activityOf(o, { clean: 7, spam: 2, quarantined: 1 }) : undefined,
  owners: () => [
    activityOf('alice@example.org', { clean: 7, spam: 2, quarantined: 1 }),
    activityOf('bob@example.org', { clean: 3, dead: 1 }),
  ],
};

function site(opts: { secureCookie?: boolean; publicOrigin?: string; learn?: false } = {}) {
  const { learn: withLearner, ...options } = opts;
  const quarantine = new MemoryQuarantine();
  const learner = new FakeLearner();
  quarantine.mails.set('alice@example.org', [item('alice@example.org', 'a-1', 'spammer@example.net')]);
  quarantine.mails.set('bob@example.org', [item('bob@example.org', 'b-1', 'bobs-sender@example.net')]);
  const tokens = new TokenSigner(SECRET, 600);
  const app = createTokenApi({
    directory,
    tokens,
    amqp: { host: '127.0.0.1', port: 5672, vhost: 'psf' },
    limiter: new LoginLimiter(3, 60_000),
    quarantine,
    ...(withLearner === false ? {} : { learn: learner }),
    activity,
    ...options,
  });
  const request = (path: string, init: RequestInit & { cookie?: string; origin?: string | null } = {}) => {
    const { cookie, origin, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (cookie) headers.set('cookie', cookie);
    if (rest.method === 'POST' && origin !== null) headers.set('origin', origin ?? ORIGIN);
    return Promise.resolve(app.request(path, { ...rest, headers }));
  };
  const post = (
    path: string,
    fields: Record<string, string> = {},
    init: { cookie?: string; origin?: string | null; headers?: Record<string, string> } = {},
  ) => request(path, { method: 'POST', body: new URLSearchParams(fields), ...init });
  /** Logs in through the form; the session cookie as a Cookie header. */
  const login = async (name: string) => {
    const res = await post('/login', { username: name, password: `${name}-pw` });
    expect(res.status).toBe(303);
    return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  };
  return { app, tokens, quarantine, learner, request, post, login };
}

describe('self-service pages', () => {
  it('sends visitors without a session to an accessible login page with strict headers', async () => {
    const { request } = site();
    const home = await request('/');
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/login');
    const res = await request('/login');
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('<html lang="en">');
    expect(page).toMatch(/<label for="username">[\s\S]*<input id="username"/);
    expect(page).toMatch(/<label for="password">[\s\S]*<input id="password" name="password" type="password"/);
    expect(page).toContain('role="status"');
    expect(page).toContain('<button type="submit">Log in</button>');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(page).not.toMatch(/<(script|link|img)\b[^>]*\b(src|href)=/); // no external assets
  });

  it('refuses a wrong password in the status region, and logs in with an HttpOnly, SameSite=Strict cookie', async () => {
    const { post, request } = site();
    const wrong = await post('/login', { username: 'alice', password: 'secret-guess' });
    const page = await wrong.text();
    expect(wrong.status).toBe(401);
    expect(page).toMatch(/role="status" class="status error">Invalid user name or password\.</);
    expect(page).not.toContain('secret-guess');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const ok = await post('/login', { username: 'alice', password: 'alice-pw' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^psf-session=[\w.-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    const home = await request('/', { cookie: cookie.split(';')[0] });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Mail for alice@example.org');
  });

  it('makes the cookie Secure and __Host- when configured for TLS', async () => {
    const { post, request } = site({ secureCookie: true });
    const ok = await post('/login', { username: 'alice', password: 'alice-pw' });
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-psf-session=.*; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect((await request('/', { cookie: cookie.split(';')[0] })).status).toBe(200);
    // The plain name is not read when the cookie must be the secure one.
    expect((await request('/', { cookie: cookie.split(';')[0]?.replace('__Host-', '') })).status).toBe(303);
  });

  it('tells a throttled user and a directory outage apart from a wrong password', async () => {
    const { post } = site();
    for (let i = 0; i < 3; i++) await post('/login', { username: 'bob', password: 'nope' });
    const blocked = await post('/login', { username: 'bob', password: 'bob-pw' });
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toContain('Too many failed logins');
    expect((await post('/login', { username: 'down', password: 'down-pw' })).status).toBe(503);
  });

  it('refuses every cross-site POST (CSRF): login, release, delete, token, logout', async () => {
    const { post, login, quarantine, publicOriginSite } = {
      ...site(),
      publicOriginSite: site({ publicOrigin: 'https://mail.example.org' }),
    };
    const alice = await login('alice');
    const evil = { origin: 'https://evil.example', headers: { 'sec-fetch-site': 'cross-site' } };
    expect((await post('/login', { username: 'alice', password: 'alice-pw' }, evil)).status).toBe(403);
    for (const path of [
      '/quarantine/a-1/release',
      '/quarantine/a-1/delete',
      '/quarantine/a-1/not-spam',
      '/quarantine/a-1/spam',
      '/token',
      '/logout',
    ]) {
      const res = await post(path, {}, { ...evil, cookie: alice });
      expect(res.status, path).toBe(403);
      expect(res.headers.get('set-cookie'), path).toBeNull();
    }
    // Neither Origin nor Sec-Fetch-Site: refused too.
    expect((await post('/quarantine/a-1/delete', {}, { cookie: alice, origin: null })).status).toBe(403);
    expect(quarantine.mails.get('alice@example.org')).toHaveLength(1);
    // A browser's same-origin mark alone passes; so does the configured public origin behind a proxy.
    const sameSite = await post(
      '/quarantine/a-1/delete',
      {},
      {
        cookie: alice,
        origin: null,
        headers: { 'sec-fetch-site': 'same-origin' },
      },
    );
    expect(sameSite.headers.get('location')).toBe('/?m=deleted');
    const proxied = await publicOriginSite.post(
      '/login',
      { username: 'bob', password: 'bob-pw' },
      {
        origin: 'https://mail.example.org',
      },
    );
    expect(proxied.status).toBe(303);
    // RabbitMQ's auth backend posts forms without an Origin: not a page, not checked.
    expect((await post('/auth/topic', {}, { origin: null })).status).toBe(200);
  });

  it("shows alice her own quarantine only, and she can never release, delete or correct bob's mail", async () => {
    const { post, request, login, quarantine, learner } = site();
    const alice = await login('alice');
    const page = await (await request('/', { cookie: alice })).text();
    expect(page).toContain('spammer@example.net');
    expect(page).toContain('subject of a-1');
    expect(page).toContain('action="/quarantine/a-1/release"');
    expect(page).not.toContain('bobs-sender@example.net');
    expect(page).not.toContain('b-1');
    for (const action of ['release', 'delete', 'not-spam', 'spam']) {
      const res = await post(`/quarantine/b-1/${action}`, {}, { cookie: alice });
      expect(res.headers.get('location')).toBe('/?m=missing');
    }
    expect(quarantine.mails.get('bob@example.org')?.map((m) => m.id)).toEqual(['b-1']);
    expect(quarantine.released).toEqual([]);
    expect(learner.learnt).toEqual([]);
    const done = await post('/quarantine/a-1/release', {}, { cookie: alice });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/?m=released');
    expect(quarantine.released).toEqual([{ owner: 'alice@example.org', id: 'a-1' }]);
    const after = await (await request('/?m=released', { cookie: alice })).text();
    expect(after).toContain('role="status" class="status">The mail was released');
    expect(after).toContain('Your quarantine is empty.');
    // Without a session nothing happens at all.
    const anonymous = await post('/quarantine/b-1/delete');
    expect(anonymous.headers.get('location')).toBe('/login');
    expect(quarantine.mails.get('bob@example.org')).toHaveLength(1);
  });

  it('says so when the quarantine cannot be read or a release fails, and the mail stays', async () => {
    const { post, request, login, quarantine } = site();
    const alice = await login('alice');
    quarantine.failing = true;
    expect(await (await request('/', { cookie: alice })).text()).toContain('cannot be read right now');
    const res = await post('/quarantine/a-1/release', {}, { cookie: alice });
    expect(res.headers.get('location')).toBe('/?m=failed');
    quarantine.failing = false;
    expect(quarantine.mails.get('alice@example.org')).toHaveLength(1);
  });

  it('lists at most 200 quarantined mails and says how many more there are', async () => {
    const { request, login, quarantine } = site();
    const many = Array.from({ length: 205 }, (_, i) => item('alice@example.org', `m-${i}`, 'x@example.net'));
    quarantine.mails.set('alice@example.org', many);
    const page = await (await request('/', { cookie: await login('alice') })).text();
    expect(page.match(/\/release"/g)).toHaveLength(200);
    expect(page).toContain('And 5 more');
  });

  it('shows counts and recent verdicts escaped, the connection details, and a fresh token to copy', async () => {
    const { post, request, login, tokens } = site();
    const alice = await login('alice');
    const page = await (await request('/', { cookie: alice })).text();
    expect(page).toMatch(/<th scope="col" class="num">clean<\/th>/);
    expect(page).toContain('<td class="num">7</td>');
    expect(page).toContain('evil@&lt;script&gt;.test');
    expect(page).not.toContain('<script>.test');
    expect(page).toContain('amqp://127.0.0.1:5672/psf');
    expect(page).toContain('psf.user.alice@example.org');
    expect(page).not.toContain('id="token"');
    const res = await post('/token', {}, { cookie: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const withToken = await res.text();
    const token = /<input id="token" readonly value="([^"]+)"/.exec(withToken)?.[1] ?? '';
    expect(await tokens.verify(token)).toMatchObject({ owner: 'alice@example.org', admin: false });
    expect(withToken).toContain('<button type="button" id="copy" hidden>');
    // The inline script is the one the CSP's hash allows.
    const script = /<script>([\s\S]*?)<\/script>/.exec(withToken)?.[1] ?? '';
    const hash = (await import('node:crypto')).createHash('sha256').update(script).digest('base64');
    expect(res.headers.get('content-security-policy')).toContain(`'sha256-${hash}'`);
  });

  it('shows the admin page with totals per owner to admins only', async () => {
    const { request, login } = site();
    const alice = await login('alice');
    const denied = await request('/admin', { cookie: alice });
    expect(denied.status).toBe(403);
    expect(await denied.text()).not.toContain('bob@example.org');
    expect(await (await request('/', { cookie: alice })).text()).not.toContain('href="/admin"');
    const carol = await login('carol');
    const res = await request('/admin', { cookie: carol });
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toMatch(/<th scope="row">alice@example.org<\/th>[\s\S]*?<td class="num">10<\/td>/);
    expect(page).toMatch(/<th scope="row">bob@example.org<\/th>[\s\S]*?<td class="num">4<\/td>/);
    expect(await (await request('/', { cookie: carol })).text()).toContain('href="/admin"');
  });

  it('logs out: the cookie is cleared and the login page says so', async () => {
    const { post, request, login } = site();
    const alice = await login('alice');
    const res = await post('/logout', {}, { cookie: alice });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?m=logged-out');
    expect(res.headers.get('set-cookie')).toMatch(
      /^psf-session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    expect(await (await request('/login?m=logged-out')).text()).toContain('You are logged out.');
    expect((await request('/', { cookie: 'psf-session=forged.token.value' })).status).toBe(303);
  });
});

describe('corrections: "Not spam" and "Spam"', () => {
  it('offers both beside Release and Delete, as plain forms, only when learning is configured', async () => {
    const { request, login } = site();
    const page = await (await request('/', { cookie: await login('alice') })).text();
    expect(page).toMatch(
      /action="\/quarantine\/a-1\/not-spam"><button type="submit" class="secondary">Not spam<span class="vh"> mail from spammer@example.net/,
    );
    expect(page).toContain('action="/quarantine/a-1/spam"><button type="submit" class="danger">Spam<');
    expect(page).toContain('Not spam teaches your classifier');
    const without = site({ learn: false });
    const plain = await (await without.request('/', { cookie: await without.login('alice') })).text();
    expect(plain).toContain('action="/quarantine/a-1/release"');
    expect(plain).not.toContain('not-spam');
    expect(plain).not.toContain('Not spam teaches');
    const res = await without.post('/quarantine/a-1/spam', {}, { cookie: await without.login('alice') });
    expect(res.headers.get('location')).toBe('/?m=missing');
    expect(without.quarantine.mails.get('alice@example.org')).toHaveLength(1);
  });

  it('"Not spam": learns the mail as ham for the session\'s owner, then releases it', async () => {
    const { post, request, login, quarantine, learner } = site();
    const alice = await login('alice');
    const res = await post('/quarantine/a-1/not-spam', {}, { cookie: alice });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?m=ham-released');
    expect(learner.learnt).toEqual([
      { owner: 'alice@example.org', label: 'ham', mail: rawOf('a-1').toString() },
    ]);
    expect(quarantine.released).toEqual([{ owner: 'alice@example.org', id: 'a-1' }]);
    const page = await (await request('/?m=ham-released', { cookie: alice })).text();
    expect(page).toContain('role="status" class="status">Learnt as ham and released');
  });

  it('"Not spam" when learning fails: the mail is released all the same, and the page says learning failed', async () => {
    const { post, request, login, quarantine, learner } = site();
    const alice = await login('alice');
    learner.failWith = new PsfError('TIMEOUT', 'no answer from the classifier of psf.default in time');
    const res = await post('/quarantine/a-1/not-spam', {}, { cookie: alice });
    expect(res.headers.get('location')).toBe('/?m=unlearnt-released&r=timeout');
    expect(quarantine.released).toEqual([{ owner: 'alice@example.org', id: 'a-1' }]);
    const page = await (await request(res.headers.get('location') ?? '', { cookie: alice })).text();
    expect(page).toContain(
      'role="status" class="status error">Could not learn: the classifier did not answer in time; the mail was released',
    );
  });

  it('"Not spam" when learnt but the release fails: the mail stays, and the page says both', async () => {
    const { post, login, quarantine } = site();
    const alice = await login('alice');
    quarantine.takeFailing = true;
    const res = await post('/quarantine/a-1/not-spam', {}, { cookie: alice });
    expect(res.headers.get('location')).toBe('/?m=ham-kept');
    expect(quarantine.mails.get('alice@example.org')).toHaveLength(1);
  });

  it('"Spam": learns the mail as spam, then deletes it', async () => {
    const { post, request, login, quarantine, learner } = site();
    const alice = await login('alice');
    const res = await post('/quarantine/a-1/spam', {}, { cookie: alice });
    expect(res.headers.get('location')).toBe('/?m=spam-deleted');
    expect(learner.learnt).toEqual([
      { owner: 'alice@example.org', label: 'spam', mail: rawOf('a-1').toString() },
    ]);
    expect(quarantine.mails.get('alice@example.org')).toEqual([]);
    expect(quarantine.released).toEqual([]);
    const page = await (await request('/?m=spam-deleted', { cookie: alice })).text();
    expect(page).toContain('role="status" class="status">Learnt as spam and deleted.');
  });

  it('"Spam" when learning fails: the mail is not deleted, so the owner can try again', async () => {
    const { post, request, login, quarantine, learner } = site();
    const alice = await login('alice');
    learner.failWith = new PsfError('CLASSIFIER_FAILED', 'this classifier does not learn');
    const res = await post('/quarantine/a-1/spam', {}, { cookie: alice });
    expect(res.headers.get('location')).toBe('/?m=unlearnt-kept&r=refused');
    expect(quarantine.mails.get('alice@example.org')?.map((m) => m.id)).toEqual(['a-1']);
    const page = await (await request(res.headers.get('location') ?? '', { cookie: alice })).text();
    expect(page).toContain(
      'class="status error">Could not learn: the classifier could not learn it (not every classifier learns); the mail stays in quarantine.',
    );
    expect(page).toContain('action="/quarantine/a-1/spam"');
    learner.failWith = undefined;
    expect((await post('/quarantine/a-1/spam', {}, { cookie: alice })).headers.get('location')).toBe(
      '/?m=spam-deleted',
    );
  });

  it('says "failed" when the quarantine cannot be read, and asks no classifier', async () => {
    const { post, login, quarantine, learner } = site();
    const alice = await login('alice');
    quarantine.failing = true;
    for (const action of ['not-spam', 'spam']) {
      const res = await post(`/quarantine/a-1/${action}`, {}, { cookie: alice });
      expect(res.headers.get('location')).toBe('/?m=failed');
    }
    expect(learner.learnt).toEqual([]);
  });

  it('shows only its own texts, whatever the query says', async () => {
    const { request, login } = site();
    const alice = await login('alice');
    const status = async (query: string) =>
      /role="status"[^>]*>([^<]*)</.exec(await (await request(`/?${query}`, { cookie: alice })).text())?.[1];
    expect(await status('m=unlearnt-released&r=%3Cb%3Eforged')).toBe(
      'Could not learn: the classifier could not be asked; the mail was released: it is on its way to you.',
    );
    expect(await status('m=unlearnt-toString&r=timeout')).toBe('');
    expect(await status('m=toString')).toBe('');
    expect(await status('m=%3Cb%3E')).toBe('');
  });
});
