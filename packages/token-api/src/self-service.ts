import type { Logger } from '@psf/broker';
import { isPsfError, type LearnLabel, type PsfErrorCode } from '@psf/protocol';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import type { ActivitySource } from './activity.js';
import type { Identity } from './directory.js';
import type { LearnSender } from './learn-sender.js';
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
  /** The "Not spam" and "Spam" corrections on quarantined mail; not offered without it. */
  learn?: LearnSender | undefined;
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
  'ham-released': { text: 'Learnt as ham and released: the mail is on its way to you.' },
  'ham-kept': {
    text: 'Learnt as ham, but the release did not work just now; the mail stays in quarantine. Release it later.',
    error: true,
  },
  'spam-deleted': { text: 'Learnt as spam and deleted.' },
  'spam-kept': {
    text: 'Learnt as spam, but the deletion did not work just now; the mail stays in quarantine.',
    error: true,
  },
  'logged-out': { text: 'You are logged out.' },
} as const;

/** Why learning failed, by error code: fixed texts again, the details go to the log. */
const LEARN_FAILURES = {
  timeout: 'the classifier did not answer in time',
  refused: 'the classifier could not learn it (not every classifier learns)',
  broker: 'the broker cannot be reached',
  mail: 'this mail cannot be sent to the classifier',
  error: 'the classifier could not be asked',
} as const;
type LearnFailure = keyof typeof LEARN_FAILURES;
const FAILURE_OF: Partial<Record<PsfErrorCode, LearnFailure>> = {
  TIMEOUT: 'timeout',
  CLASSIFIER_FAILED: 'refused',
  BROKER_UNAVAILABLE: 'broker',
  BAD_REQUEST: 'mail',
};
/** What became of the mail when learning failed (`?m=unlearnt-<key>&r=<failure>`). */
const AFTER_FAILURE = {
  released: { text: 'the mail was released: it is on its way to you.', error: true },
  kept: { text: 'the mail stays in quarantine. Try again later.', error: true },
  failed: {
    text: 'the release did not work either; the mail stays in quarantine. Try again later.',
    error: true,
  },
} as const;
const lookup = <T extends object>(table: T, key: string | undefined): T[keyof T] | undefined =>
  key !== undefined && Object.hasOwn(table, key) ? table[key as keyof T] : undefined;

function message(c: Context): { text: string; error?: boolean } | undefined {
  const m = c.req.query('m');
  const after = m?.startsWith('unlearnt-') ? lookup(AFTER_FAILURE, m.slice('unlearnt-'.length)) : undefined;
  if (!after) return lookup(MESSAGES, m);
  const why = lookup(LEARN_FAILURES, c.req.query('r')) ?? LEARN_FAILURES.error;
  return { ...after, text: `Could not learn: ${why}; ${after.text}` };
}

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
  const { tokens, quarantine, learn, activity, logger: log } = deps;
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
        corrections: learn !== undefined,
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

  /** Releases or deletes: whether the mail was there, or 'failed' (logged). */
  async function settle(q: QuarantineAccess, owner: string, id: string, action: 'release' | 'delete') {
    try {
      const done = await q[action](owner, id);
      log.info({ event: `quarantine-${action}`, owner, id, done }, `quarantine ${action}`);
      return done;
    } catch (err) {
      log.warn({ event: `quarantine-${action}-failed`, owner, id, err: (err as Error).message }, 'failed');
      return 'failed' as const;
    }
  }

  /**
   * A correction: learn, then release ham or delete spam; answers the redirect's query. Ham is
   * released even when learning failed (the owner wants the mail, the page says learning failed);
   * spam is deleted only once learnt, so the mail stays for another try.
   */
  async function correct(q: QuarantineAccess, l: LearnSender, owner: string, id: string, label: LearnLabel) {
    let mail: Buffer | undefined;
    try {
      mail = await q.read(owner, id);
    } catch (err) {
      log.warn({ event: 'quarantine-read-failed', owner, id, err: (err as Error).message }, 'failed');
      return 'm=failed';
    }
    if (!mail) return 'm=missing';
    let failure: LearnFailure | undefined;
    try {
      const r = await l.learn(owner, label, mail);
      log.info(
        { event: 'quarantine-learnt', owner, id, label, times: r.times, before: r.before, after: r.after },
        'learnt',
      );
    } catch (err) {
      failure = (isPsfError(err) && FAILURE_OF[err.code]) || 'error';
      const code = isPsfError(err) ? err.code : undefined;
      log.warn(
        { event: 'quarantine-learn-failed', owner, id, label, code, err: (err as Error).message },
        'could not learn',
      );
      if (label === 'spam') return `m=unlearnt-kept&r=${failure}`;
    }
    const done = await settle(q, owner, id, label === 'ham' ? 'release' : 'delete');
    if (done === false) return 'm=missing';
    if (failure) return `m=unlearnt-${done === 'failed' ? 'failed' : 'released'}&r=${failure}`;
    if (label === 'ham') return done === 'failed' ? 'm=ham-kept' : 'm=ham-released';
    return done === 'failed' ? 'm=spam-kept' : 'm=spam-deleted';
  }

  page.post('/quarantine/:id/:action{release|delete}', ...posts, loggedIn, async (c) => {
    const id = c.req.param('id');
    const action = c.req.param('action') as 'release' | 'delete';
    if (!quarantine || id.length > MAX_ID) return c.redirect('/?m=missing', 303);
    const done = await settle(quarantine, c.get('claims').owner, id, action);
    return c.redirect(`/?m=${done === 'failed' ? 'failed' : done ? `${action}d` : 'missing'}`, 303);
  });

  page.post('/quarantine/:id/:label{not-spam|spam}', ...posts, loggedIn, async (c) => {
    const id = c.req.param('id');
    const label = c.req.param('label') === 'spam' ? 'spam' : 'ham';
    if (!quarantine || !learn || id.length > MAX_ID) return c.redirect('/?m=missing', 303);
    return c.redirect(`/?${await correct(quarantine, learn, c.get('claims').owner, id, label)}`, 303);
  });

  page.get('/admin', loggedIn, async (c) => {
    const { owner, admin } = c.get('claims');
    if (!admin) return render(c, forbiddenPage({ owner, admin }), 403);
    return render(c, adminPage({ owner, owners: activity?.owners() }));
  });

  return page;
}
