import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { BrokerConnection, OwnerDirectory, Quarantine } from '@psf/broker';
import { BayesStore, OWNERS_DIR, rawMail } from '@psf/classifiers';
import { Reinjector } from '@psf/gateway';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { ActivityFeed } from '@psf/stats';
import { openSmtp, type Slapd, startSlapd } from '@psf/testkit';
import {
  BrokerLearnSender,
  BrokerQuarantineAccess,
  createTokenApi,
  LdapDirectory,
  TokenSigner,
} from '@psf/token-api';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Chain, header, SPAM, startChain } from './chain.js';

// The self-service pages in a real headless Chromium (Debian's; no browser is downloaded), over
// a real slapd, gateway, RabbitMQ quarantine and SMTP sink; corrections reach a real psf-classify
// (Bayes, built dist/) on psf.default. PSF_SCREENSHOTS=1 rewrites the screenshots in docs/.
const CHROMIUM = process.env.PSF_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.PSF_SCREENSHOTS === '1';
const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
const tokens = new TokenSigner('self-service-test-secret-0123456789', 600);
const CLASSIFY = fileURLToPath(new URL('../../packages/classifiers/dist/cli.js', import.meta.url));
const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
// carol has no queue of her own: the central classifier (psf.default) judges her mail.
const CAROL = 'carol@example.org';

const text = (to: string, subject: string, body: string) =>
  `From: someone@example.net\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\n\r\n${body}\r\n`;
/** What the central classifier's global model is trained on. */
const TRAINING = {
  ham: [
    text('x', 'meeting tomorrow', 'shall we meet for the project review at noon'),
    text('x', 'project review notes', 'notes from the review meeting attached, see the project plan'),
    text('x', 'lunch', 'lunch at noon after the meeting with the project team'),
  ],
  spam: [
    text('x', 'cheap pills', 'buy cheap pills now, limited offer, click here'),
    text('x', 'you won', 'you won the lottery prize, claim your cash now, click here'),
    text('x', 'cash offer', 'limited cash offer, act now and claim your prize'),
  ],
};
// Spam to the global model; carol did win the club's raffle.
const RAFFLE = text(CAROL, 'cash prize', 'claim your cash prize now, click here');
const PILLS = text(CAROL, 'pills offer', 'buy cheap pills now, limited offer, click here');

let slapd: Slapd;
let chain: Chain;
let broker: BrokerConnection;
let activity: ActivityFeed;
let reinjector: Reinjector;
let server: ReturnType<typeof serve>;
let site: string;
let profile: string;
let browser: BrowserContext;
let page: Page;
let models: string;
let classifier: ChildProcessWithoutNullStreams;

/** psf-classify, Bayes on psf.default, quarantining what it calls spam; resolves once it consumes. */
async function startCentralClassifier(dir: string, url: string): Promise<ChildProcessWithoutNullStreams> {
  models = join(dir, 'models');
  const store = await BayesStore.open({ models, allowMissing: true });
  for (const label of ['ham', 'spam'] as const)
    for (const m of TRAINING[label]) await store.learn(rawMail(Buffer.from(m)), label);
  const config = join(dir, 'classify.json');
  // The token API's broker user must be trusted to ask for learning; here every part is guest.
  await writeFile(
    config,
    JSON.stringify({
      kind: 'bayes',
      bayes: { models, quarantineAt: 0.95 },
      amqpUrl: url,
      queue: DEFAULT_QUEUE,
      trustedPublishers: ['guest'], // the gateway's user
      learnPublishers: ['guest'], // the token API's (all one user here)
    }),
  );
  const child = spawn(process.execPath, [CLASSIFY, '-c', config]);
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  await vi.waitFor(() => expect(out).toMatch(/"event":"ready"/), { timeout: 15_000, interval: 50 });
  return child;
}

beforeAll(async () => {
  slapd = await startSlapd();
  chain = await startChain({
    owners: {
      [ALICE]: () => ({ v: 1, action: 'quarantine', score: 14.2, reasons: ['LOTTERY'] }),
      [BOB]: () => ({ v: 1, action: 'accept', score: 0.4 }),
    },
    noDefault: true,
    gateway: { quarantine: { retentionMs: 86_400_000 }, policy: { default: { quarantineAbove: 10 } } },
  });
  broker = await BrokerConnection.open({ url: chain.vhost.url });
  await broker.waitForConnect(10_000);
  profile = await mkdtemp(join(tmpdir(), 'psf-chromium-'));
  classifier = await startCentralClassifier(profile, chain.vhost.url);
  // The real source: the gateway's events in psf.events, as psf-token-api wires it.
  activity = new ActivityFeed({ connection: broker });
  reinjector = new Reinjector({ host: '127.0.0.1', port: chain.sink.port, poolSize: 1 });
  const app = createTokenApi({
    directory: new LdapDirectory({
      url: slapd.url,
      userBase: slapd.peopleDn,
      adminGroupDn: slapd.adminGroupDn,
    }),
    tokens,
    amqp: { host: '127.0.0.1', port: 5672, vhost: 'psf' },
    quarantine: new BrokerQuarantineAccess({
      quarantine: new Quarantine({ connection: broker }),
      reinjector,
    }),
    learn: new BrokerLearnSender({
      url: chain.vhost.url,
      owners: new OwnerDirectory({ connection: broker }),
      timeoutMs: 5000,
    }),
    activity,
  });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launchPersistentContext(join(profile, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1000, height: 700 },
  });
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(10_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (classifier?.exitCode === null) {
    classifier.kill('SIGTERM');
    await new Promise((r) => classifier.once('exit', r));
  }
  if (profile) await rm(profile, { recursive: true, force: true });
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await reinjector?.close();
  await activity?.close();
  await broker?.close();
  await chain?.[Symbol.asyncDispose]();
  await slapd?.[Symbol.asyncDispose]();
});

async function logIn(user: string, password: string) {
  await page.goto(`${site}/login`);
  await page.getByLabel('User name or mail address').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const shoot = async (name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: docs(name) });
};

describe('self-service pages in Chromium', () => {
  it('sends a visitor to the login page and shows a wrong password in the status region', async () => {
    await page.goto(site);
    expect(new URL(page.url()).pathname).toBe('/login');
    await logIn('alice', 'not-her-password');
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Invalid user name or password.');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.getByLabel('User name or mail address').inputValue()).toBe('alice');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await shoot('self-service-login.png');
  });

  it("lists alice's quarantined mail; Release delivers it to her alone through the sink", async () => {
    await using smtp = await openSmtp(chain.gateway.address.port);
    const reply = await smtp.send({ from: 'win@lottery.test', to: [ALICE], raw: SPAM(ALICE) });
    expect(reply.code).toBe(250);
    expect(chain.sink.mails).toHaveLength(0);
    await logIn('alice', slapd.users.alice);
    expect(new URL(page.url()).pathname).toBe('/');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(`Mail for ${ALICE}`);
    const rows = page.getByRole('region', { name: 'Quarantine' }).getByRole('row');
    expect(await rows.count()).toBe(2); // the header and alice's mail
    expect(await rows.nth(1).textContent()).toContain('win@lottery.test');
    expect(await rows.nth(1).getByRole('cell').nth(2).textContent()).toBe('WINNER OF THE CASH PRIZE');
    expect(await rows.nth(1).getByRole('cell').nth(3).textContent()).toBe('14.2');
    expect(await page.getByRole('region', { name: 'Your classifier' }).textContent()).toContain(
      `psf.user.${ALICE}`,
    );
    // Counts and recent verdicts come from the gateway's events (psf.events), followed live.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByRole('region', { name: 'Your mail' }).textContent();
        },
        { timeout: 10_000 },
      )
      .toMatch(/win@lottery\.test.*<spam-1@lottery\.test>.*quarantined.*14\.2/s);
    await shoot('self-service-owner.png');
    await rows
      .nth(1)
      .getByRole('button', { name: /^Release/ })
      .click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/released/);
    expect(await page.getByText('Your quarantine is empty.').count()).toBe(1);
    const [mail] = await chain.sink.waitFor(1, 10_000);
    expect(mail?.rcpt).toEqual([ALICE]);
    expect(header(mail!.raw, 'X-PSF-Status')).toBe('released; action=quarantine');
    expect(header(mail!.raw, 'Subject')).toBe('WINNER OF THE CASH PRIZE');
  });

  it('hands alice a fresh token, copied with the copy button', async () => {
    await page.getByRole('button', { name: 'Get a fresh token' }).click();
    await page.getByRole('button', { name: 'Copy the token' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Token copied to the clipboard.');
    // A string: the test's types have no DOM.
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(copied).toBe(await page.getByLabel(/^Token, valid until/).inputValue());
    expect(await tokens.verify(copied)).toMatchObject({ owner: ALICE, admin: false });
  });

  it('shows the admin page to carol only, with totals per owner', async () => {
    await using smtp = await openSmtp(chain.gateway.address.port);
    for (const to of [BOB, BOB, ALICE])
      expect((await smtp.send({ from: 'friend@example.net', to: [to], raw: SPAM(to) })).code).toBe(250);
    expect((await page.goto(`${site}/admin`))?.status()).toBe(403);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('You are logged out.');
    expect((await page.goto(`${site}/admin`))?.url()).toBe(`${site}/login`);
    await logIn('carol', slapd.users.carol);
    await page.getByRole('link', { name: 'All owners' }).click();
    const total = (owner: string) =>
      page
        .getByRole('row', { name: new RegExp(`^${owner}`) })
        .getByRole('cell')
        .last();
    await expect
      .poll(
        async () => {
          await page.reload();
          return [await total(ALICE).textContent(), await total(BOB).textContent()];
        },
        { timeout: 10_000 },
      )
      .toEqual(['2', '2']);
    expect(await page.getByRole('row').count()).toBe(3); // the header, alice and bob
    await shoot('self-service-admin.png');
  });

  it('"Spam" on carol\'s mail: the central classifier learns it into her own model, then it is deleted', async () => {
    await using smtp = await openSmtp(chain.gateway.address.port);
    const before = chain.sink.mails.length;
    expect((await smtp.send({ from: 'someone@example.net', to: [CAROL], raw: PILLS })).code).toBe(250);
    await page.goto(site);
    const quarantine = page.getByRole('region', { name: 'Quarantine' });
    await quarantine
      .getByRole('row', { name: /pills offer/ })
      .getByRole('button', { name: /^Spam/ })
      .click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Learnt as spam and deleted.');
    expect(await quarantine.getByText('Your quarantine is empty.').count()).toBe(1);
    expect(await readdir(join(models, OWNERS_DIR))).toEqual(['carol%40example.org.psfbayes']);
    expect(chain.sink.mails).toHaveLength(before);
  });

  it('"Not spam" on carol\'s mail: learnt into her model, then released, and the same mail is no longer quarantined', async () => {
    await using smtp = await openSmtp(chain.gateway.address.port);
    const model = join(models, OWNERS_DIR, 'carol%40example.org.psfbayes');
    const learnt = (await stat(model)).mtimeMs;
    const before = chain.sink.mails.length;
    expect((await smtp.send({ from: 'someone@example.net', to: [CAROL], raw: RAFFLE })).code).toBe(250);
    await page.goto(site);
    const quarantine = page.getByRole('region', { name: 'Quarantine' });
    const row = quarantine.getByRole('row', { name: /cash prize/ });
    await row.getByRole('button', { name: /^Not spam/ }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe('Learnt as ham and released: the mail is on its way to you.');
    expect(await quarantine.getByText('Your quarantine is empty.').count()).toBe(1);
    const released = (await chain.sink.waitFor(before + 1, 10_000))[before];
    expect(released?.rcpt).toEqual([CAROL]);
    expect(header(released!.raw, 'X-PSF-Status')).toBe('released; action=quarantine');
    expect((await stat(model)).mtimeMs).toBeGreaterThan(learnt);
    // The same mail again: carol's model now lets it through.
    expect((await smtp.send({ from: 'someone@example.net', to: [CAROL], raw: RAFFLE })).code).toBe(250);
    const again = (await chain.sink.waitFor(before + 2, 10_000))[before + 1];
    expect(again?.rcpt).toEqual([CAROL]);
    expect(header(again!.raw, 'X-PSF-Status')).toMatch(/^clean\b/);
  });

  it('"Not spam" where the classifier cannot learn (alice\'s own answers verdicts only): released all the same, and the page says so', async () => {
    const before = chain.sink.mails.length;
    await page.getByRole('button', { name: 'Log out' }).click();
    await logIn('alice', slapd.users.alice);
    // The mail the admin test sent her: her classifier quarantines everything.
    const quarantine = page.getByRole('region', { name: 'Quarantine' });
    await quarantine
      .getByRole('row', { name: /friend@example\.net/ })
      .getByRole('button', { name: /^Not spam/ })
      .click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe(
        'Could not learn: the classifier could not learn it (not every classifier learns); the mail was released: it is on its way to you.',
      );
    const released = (await chain.sink.waitFor(before + 1, 10_000))[before];
    expect(released?.rcpt).toEqual([ALICE]);
    expect(header(released!.raw, 'X-PSF-Status')).toBe('released; action=quarantine');
  });
});
