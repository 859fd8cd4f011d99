import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { BrokerConnection, Quarantine } from '@psf/broker';
import { Reinjector } from '@psf/gateway';
import { ActivityFeed } from '@psf/stats';
import { openSmtp, type Slapd, startSlapd } from '@psf/testkit';
import { BrokerQuarantineAccess, createTokenApi, LdapDirectory, TokenSigner } from '@psf/token-api';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, header, SPAM, startChain } from './chain.js';

// The self-service pages in a real headless Chromium (Debian's; no browser is downloaded), over
// a real slapd, gateway, RabbitMQ quarantine and SMTP sink. PSF_SCREENSHOTS=1 rewrites the
// screenshots in docs/.
const CHROMIUM = process.env.PSF_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.PSF_SCREENSHOTS === '1';
const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
const tokens = new TokenSigner('self-service-test-secret-0123456789', 600);
const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

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
    activity,
  });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = await mkdtemp(join(tmpdir(), 'psf-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
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
});
