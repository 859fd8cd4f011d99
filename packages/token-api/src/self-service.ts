import type { Logger } from '@psf/broker';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import type { ActivitySource } from './activity.js';
import type { Identity } from './directory.js';
import { type Fragment, PAGE_HEADERS } from './page-layout.js';
import type { QuarantineAccess, QuarantineItem } from './quarantine-access.js';
import { adminPage, forbiddenPage, loginPage, ownerPage } from './self-service-pages.js';
import { SessionCookie } from './session-cookie.js';
import type { TokenClaims, TokenSigner } from './tokens.js';

/** What the self-service pages need of the token API. */
export interface SelfServiceDeps {
  /** The API's throttled, counted and logged login. */
  login(name: string, password: string): Promise<Identity | 'refused' | 'blocked' | 'error'>;
  tokens: TokenSigner;
  connectInfo(owner: string): { url: string; vhost: string; username: string; queue: string };
  quarantine?: QuarantineAccess | undefined;
  activity?: ActivitySource | undefined;
  secureCookie: boolean;
  /** Where browsers see the API when a proxy in front changes the address (e.g. https://mail.example.org). */
  publicOrigin?: string | undefined;
  logger: Logger;
}

/** Fixed texts a redirect may ask the next page to show (`?m=`): nothing from the request is echoed. */
const MESSAGES = {
  released: { text: 'The mail was released: it is on its way to you.' },
  deleted: { text: 'The mail was deleted.' },
  missing: { text: 'That mail is no longer in your quarantine.', error: true },
  failed: { text: 'That did not work just now; the mail stays in quarantine. Try again later.', error: true },
  'logged-out': { text: 'You are logged out.' },
} as const;
const message = (c: Context) => MESSAGES[c.req.query('m') as keyof typeof MESSAGES];

const LOGIN_REFUSED = {
  refused: [401, 'Invalid user name or password.'],
  blocked: [429, 'Too many failed logins: wait a minute and try again.'],
  error: [503, 'The directory cannot be reached right now; try again later.'],
} as const;

/** Longest quarantine id taken from a path: gateway ids are far shorter. */
const MAX_ID = 200;

/**
 * The self-service pages: server-rendered HTML and plain forms (POST, then a 303 redirect), so they
 * work without JavaScript. Every POST passes hono's CSRF check (the Origin, or Sec-Fetch-Site,
 * must be this site) on top of the SameSite=Strict session cookie. The owner a page acts for is
 * always the session's, never a value from the request.
 */
export function selfService(deps: SelfServiceDeps): Hono<{ Variables: { claims: TokenClaims } }> {
  const { tokens, quarantine, activity, logger: log } = deps;
  const session = new SessionCookie(tokens, deps.secureCookie);
  const page = new Hono<{ Variables: { claims: TokenClaims } }>();

  const render = async (c: Context, body: Fragment, status: 200 | 401 | 403 | 429 | 503 = 200) =>
    c.html(await body, status, PAGE_HEADERS);
  const sameOrigin = csrf({
    origin: (origin, c) => origin === new URL(c.req.url).origin || origin === deps.publicOrigin,
  });
  const posts = [bodyLimit({ maxSize: 16 * 1024 }), sameOrigin] as const;
  const loggedIn: MiddlewareHandler<{ Variables: { claims: TokenClaims } }> = async (c, next) => {
    const claims = await session.read(c);
    if (!claims) return c.redirect('/login', 303);
    c.set('claims', claims);
    await next();
  };

  async function ownerView(c: Context, claims: TokenClaims, fresh?: { token: string; expiresAt: number }) {
    let items: QuarantineItem[] | 'unavailable' | undefined;
    if (quarantine) {
      items = await quarantine.list(claims.owner).catch((err: Error) => {
        log.warn(
          { event: 'quarantine-unavailable', owner: claims.owner, err: err.message },
          'quarantine unreadable',
        );
        return 'unavailable' as const;
      });
    }
    return render(
      c,
      ownerPage({
        owner: claims.owner,
        admin: claims.admin,
        status: fresh ? { text: 'A fresh token is below.' } : message(c),
        activity: activity ? (activity.owner(claims.owner) ?? null) : undefined,
        quarantine: items,
        connect: deps.connectInfo(claims.owner),
        fresh,
      }),
    );
  }

  page.get('/login', async (c) =>
    (await session.read(c)) ? c.redirect('/', 303) : render(c, loginPage({ status: message(c) })),
  );

  page.post('/login', ...posts, async (c) => {
    const form = await c.req.parseBody();
    const username = typeof form.username === 'string' ? form.username.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const identity = await deps.login(username, password);
    if (typeof identity === 'string') {
      const [status, text] = LOGIN_REFUSED[identity];
      return render(c, loginPage({ status: { text, error: true }, username }), status);
    }
    const { token, expiresAt } = await tokens.issue(identity.owner, identity.admin);
    session.set(c, token, expiresAt);
    return c.redirect('/', 303);
  });

  page.post('/logout', ...posts, (c) => {
    session.clear(c);
    return c.redirect('/login?m=logged-out', 303);
  });

  page.get('/', loggedIn, (c) => ownerView(c, c.get('claims')));

  page.post('/token', ...posts, loggedIn, async (c) => {
    const claims = c.get('claims');
    log.info({ event: 'token-issued', owner: claims.owner, via: 'self-service' }, 'fresh token');
    return ownerView(c, claims, await tokens.issue(claims.owner, false));
  });

  page.post('/quarantine/:id/:action{release|delete}', ...posts, loggedIn, async (c) => {
    const { owner } = c.get('claims');
    const id = c.req.param('id');
    const action = c.req.param('action') as 'release' | 'delete';
    if (!quarantine || id.length > MAX_ID) return c.redirect('/?m=missing', 303);
    try {
      const done = await quarantine[action](owner, id);
      log.info({ event: `quarantine-${action}`, owner, id, done }, `quarantine ${action}`);
      return c.redirect(`/?m=${done ? `${action}d` : 'missing'}`, 303);
    } catch (err) {
      log.warn({ event: `quarantine-${action}-failed`, owner, id, err: (err as Error).message }, 'failed');
      return c.redirect('/?m=failed', 303);
    }
  });

  page.get('/admin', loggedIn, async (c) => {
    const { owner, admin } = c.get('claims');
    if (!admin) return render(c, forbiddenPage({ owner, admin }), 403);
    return render(c, adminPage({ owner, owners: activity?.owners() }));
  });

  return page;
}
