import { type Logger, silentLogger } from '@psf/broker';
import { DEFAULT_EXCHANGE, userQueue } from '@psf/protocol';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { Counter, Registry } from 'prom-client';
import type { ActivitySource } from './activity.js';
import type { Directory, Identity } from './directory.js';
import type { LearnSender } from './learn-sender.js';
import { LoginLimiter } from './login-limiter.js';
import type { QuarantineAccess } from './quarantine-access.js';
import { selfService } from './self-service.js';
import { type TokenClaims, TokenError, type TokenSigner } from './tokens.js';

/** Creates and removes an owner's queue and broker rights (psf-broker's functions). */
export interface Provisioner {
  addUser(owner: string): Promise<void>;
  removeUser(owner: string): Promise<void>;
}

export interface TokenApiOptions {
  directory: Directory;
  tokens: TokenSigner;
  /** Where classifiers connect: handed to users with their queue. */
  amqp: { host: string; port: number; vhost: string; tls?: boolean };
  /** For the admin endpoints that add and remove users. */
  provisioner?: Provisioner;
  limiter?: LoginLimiter;
  /** The owner's quarantine on the self-service pages (list, release, delete); hidden without it. */
  quarantine?: QuarantineAccess;
  /**
   * "Not spam" / "Spam" on the quarantine list: learn requests to the owner's classifier
   * (`BrokerLearnSender`), then release or delete; not offered without it.
   */
  learn?: LearnSender;
  /** Counts and recent verdicts on the self-service pages, totals on the admin page. */
  activity?: ActivitySource;
  /** Mark the session cookie Secure (`__Host-` name): set it whenever browsers reach the API over HTTPS. */
  secureCookie?: boolean;
  /** The origin browsers use when a proxy in front changes it (e.g. https://mail.example.org), for the CSRF check. */
  publicOrigin?: string;
  /** Reported by /healthz. */
  name?: string;
  logger?: Logger;
}

const allow = (c: Context, yes: boolean) => c.text(yes ? 'allow' : 'deny');

/**
 * The token API (hono): users log in with their LDAP password and get a short-lived token, their
 * queue and the broker's address; RabbitMQ's HTTP auth backend asks it who may do what
 * (`/auth/*`, loopback only: see docs/security.md). Passwords and tokens are never logged.
 */
export function createTokenApi(options: TokenApiOptions): Hono {
  const { directory, tokens, amqp } = options;
  const limiter = options.limiter ?? new LoginLimiter();
  const log = options.logger ?? silentLogger;
  const app = new Hono();
  const registry = new Registry();
  const logins = new Counter({
    name: 'psf_logins_total',
    help: 'Logins by outcome (ok, refused, blocked, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const authChecks = new Counter({
    name: 'psf_auth_checks_total',
    help: "RabbitMQ's HTTP auth backend questions by kind (user, vhost, resource, topic) and answer",
    labelNames: ['kind', 'answer'] as const,
    registers: [registry],
  });
  const answer = (c: Context, kind: string, yes: boolean) => {
    authChecks.inc({ kind, answer: yes ? 'allow' : 'deny' });
    return allow(c, yes);
  };

  const connectInfo = (owner: string) => ({
    url: `${amqp.tls ? 'amqps' : 'amqp'}://${amqp.host}:${amqp.port}/${encodeURIComponent(amqp.vhost)}`,
    vhost: amqp.vhost,
    username: owner,
    queue: userQueue(owner),
  });

  /** Login with a password, throttled per login name (HTTP and AMQP logins count together). */
  async function login(
    name: string,
    password: string,
  ): Promise<'blocked' | Awaited<ReturnType<Directory['authenticate']>>> {
    const key = name.toLowerCase();
    if (limiter.blocked(key)) return 'blocked';
    const identity = await directory.authenticate(name, password);
    if (!identity) limiter.failed(key);
    return identity;
  }

  /** A login from /v1/login or the login page: counted and logged (never the password). */
  async function userLogin(
    name: string,
    password: string,
  ): Promise<Identity | 'refused' | 'blocked' | 'error'> {
    let identity: Awaited<ReturnType<typeof login>>;
    try {
      identity = await login(name, password);
    } catch (err) {
      logins.inc({ outcome: 'error' });
      log.error({ event: 'login-directory-error', err: (err as Error).message }, 'directory unavailable');
      return 'error';
    }
    logins.inc({ outcome: identity === 'blocked' ? 'blocked' : identity ? 'ok' : 'refused' });
    if (identity === 'blocked') {
      log.warn({ event: 'login-blocked', login: name }, 'too many failed logins');
      return 'blocked';
    }
    if (!identity) {
      log.info({ event: 'login-failed', login: name }, 'login refused');
      return 'refused';
    }
    log.info(
      { event: 'login', login: identity.login, owner: identity.owner, admin: identity.admin },
      'logged in',
    );
    return identity;
  }

  async function bearer(c: Context): Promise<TokenClaims | Response> {
    const token = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (!token) return c.json({ error: 'missing bearer token' }, 401);
    try {
      return await tokens.verify(token);
    } catch (err) {
      return c.json({ error: err instanceof TokenError ? err.message : 'invalid token' }, 401);
    }
  }

  app.get('/healthz', (c) => c.json({ ok: true, service: options.name ?? 'psf-token-api' }));

  app.post('/v1/login', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { username?: unknown; password?: unknown } | null;
    if (typeof body?.username !== 'string' || typeof body.password !== 'string') {
      return c.json({ error: 'expected JSON { "username": string, "password": string }' }, 400);
    }
    const identity = await userLogin(body.username, body.password);
    if (identity === 'error') return c.json({ error: 'directory unavailable, try again later' }, 503);
    if (identity === 'blocked') return c.json({ error: 'too many failed logins, try again later' }, 429);
    if (identity === 'refused') return c.json({ error: 'invalid username or password' }, 401);
    const { token, expiresAt } = await tokens.issue(identity.owner, identity.admin);
    return c.json({
      token,
      expiresAt,
      owner: identity.owner,
      admin: identity.admin,
      amqp: connectInfo(identity.owner),
    });
  });

  app.get('/v1/me', async (c) => {
    const claims = await bearer(c);
    if (claims instanceof Response) return claims;
    return c.json({
      owner: claims.owner,
      admin: claims.admin,
      expiresAt: claims.exp * 1000,
      amqp: connectInfo(claims.owner),
    });
  });

  app.post('/v1/token', async (c) => {
    const claims = await bearer(c);
    if (claims instanceof Response) return claims;
    return c.json(await tokens.issue(claims.owner, claims.admin));
  });

  const admin = new Hono();
  admin.use(async (c, next) => {
    const claims = await bearer(c);
    if (claims instanceof Response) return claims;
    if (!claims.admin) return c.json({ error: 'admin only' }, 403);
    await next();
  });
  admin.post('/users/:owner', async (c) => {
    if (!options.provisioner) return c.json({ error: 'no provisioning configured' }, 501);
    await options.provisioner.addUser(c.req.param('owner'));
    return c.json({ owner: c.req.param('owner'), queue: userQueue(c.req.param('owner')) }, 201);
  });
  admin.delete('/users/:owner', async (c) => {
    if (!options.provisioner) return c.json({ error: 'no provisioning configured' }, 501);
    await options.provisioner.removeUser(c.req.param('owner'));
    return c.body(null, 204);
  });
  // The seed's get_key: a token an admin hands to a user's classifier.
  admin.post('/users/:owner/token', async (c) => c.json(await tokens.issue(c.req.param('owner'), false)));
  app.route('/v1/admin', admin);

  // RabbitMQ's rabbitmq_auth_backend_http (auth_http.http_method = post: form bodies).
  const form = async (c: Context) => Object.fromEntries(new URLSearchParams(await c.req.text()));
  app.post('/auth/user', async (c) => {
    const { username = '', password = '' } = await form(c);
    const claims = await tokens.verify(password).catch(() => undefined);
    if (claims) return answer(c, 'user', claims.owner === username);
    const identity = await login(username, password).catch(() => null);
    return answer(c, 'user', identity !== null && identity !== 'blocked' && identity.owner === username);
  });
  app.post('/auth/vhost', async (c) => answer(c, 'vhost', (await form(c)).vhost === amqp.vhost));
  app.post('/auth/resource', async (c) => {
    const p = await form(c);
    const own = p.resource === 'queue' && p.permission === 'read' && p.name === userQueue(p.username ?? '');
    // Replies go to the default exchange (direct reply-to); nothing else may be written or declared.
    const reply = p.resource === 'exchange' && p.permission === 'write' && p.name === DEFAULT_EXCHANGE;
    return answer(c, 'resource', p.vhost === amqp.vhost && (own || reply));
  });
  app.post('/auth/topic', (c) => answer(c, 'topic', false));
  // Prometheus text; like /auth/*, for the local network only (docs/security.md).
  app.get('/metrics', async (c) =>
    c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );

  app.route(
    '/',
    selfService({
      login: userLogin,
      tokens,
      connectInfo,
      quarantine: options.quarantine,
      learn: options.learn,
      activity: options.activity,
      secureCookie: options.secureCookie ?? false,
      publicOrigin: options.publicOrigin,
      logger: log,
    }),
  );

  app.onError((err, c) => {
    // hono's own refusals (the CSRF check's 403, a body over the limit's 413) keep their answer.
    if (err instanceof HTTPException) return err.getResponse();
    log.error({ event: 'token-api-error', err: err.message }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
