import { html } from 'hono/html';
import type { OwnerActivity } from './activity.js';
import { copyScript, type Fragment, type LayoutOptions, layout } from './page-layout.js';
import type { QuarantineItem } from './quarantine-access.js';

/** The statuses the gateway counts recipients by, in the order the pages show them. */
export const STATUSES = [
  'clean',
  'spam',
  'quarantined',
  'discarded',
  'rejected',
  'unchecked',
  'tempfail',
  'dead',
] as const;

/** How many recent verdicts the owner's page lists. */
const RECENT_ROWS = 20;
/** How many quarantined mails it lists at most (about 0.6 KB each, 1.2 KB with the corrections): the page stays small. */
const QUARANTINE_ROWS = 200;

const when = (ms: number): Fragment =>
  html`<time datetime="${new Date(ms).toISOString()}">${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;
const score = (s: number | undefined) => (s === undefined ? '–' : s.toFixed(1));
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
/** The known statuses, then any other the source counts. */
const statusesOf = (counts: Record<string, number>[]) => [
  ...STATUSES,
  ...new Set(
    counts.flatMap((c) => Object.keys(c)).filter((s) => !(STATUSES as readonly string[]).includes(s)),
  ),
];

export function loginPage(o: { status?: LayoutOptions['status']; username?: string }): Fragment {
  return layout(
    { title: 'Log in', status: o.status },
    html`<section>
      <p>Log in with your mail account to see your mail, your quarantine and your classifier's details.</p>
      <form method="post" action="/login">
        <label for="username">User name or mail address</label>
        <input id="username" name="username" autocomplete="username" required value="${o.username ?? ''}" />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <p><button type="submit">Log in</button></p>
      </form>
    </section>`,
  );
}

export interface OwnerPageData {
  owner: string;
  admin: boolean;
  status?: LayoutOptions['status'];
  /** undefined: no activity source; null: nothing recorded yet. */
  activity: OwnerActivity | null | undefined;
  /** undefined: no quarantine configured; 'unavailable': it could not be read now. */
  quarantine: QuarantineItem[] | 'unavailable' | undefined;
  /** Offer "Not spam" and "Spam": learning is configured. */
  corrections: boolean;
  connect: { url: string; vhost: string; username: string; queue: string };
  /** A token just issued, shown once with its copy button. */
  fresh?: { token: string; expiresAt: number } | undefined;
}

function activitySection(activity: OwnerPageData['activity']): Fragment {
  if (activity === undefined) return html``;
  if (activity === null) {
    return html`<section aria-labelledby="activity-h"><h2 id="activity-h">Your mail</h2>
      <p class="muted">No mail recorded for you yet.</p></section>`;
  }
  const statuses = statusesOf([activity.counts]);
  const recent = activity.recent.slice(0, RECENT_ROWS);
  return html`<section aria-labelledby="activity-h">
    <h2 id="activity-h">Your mail</h2>
    <table>
      <caption class="vh">Recipients by status</caption>
      <thead><tr>${statuses.map((s) => html`<th scope="col" class="num">${s}</th>`)}</tr></thead>
      <tbody><tr>${statuses.map((s) => html`<td class="num">${activity.counts[s] ?? 0}</td>`)}</tr></tbody>
    </table>
    <h2>Recent verdicts</h2>
    ${
      recent.length === 0
        ? html`<p class="muted">None yet.</p>`
        : html`<table>
      <thead><tr><th scope="col">Date</th><th scope="col">Sender</th><th scope="col">Message-ID</th>
        <th scope="col">Status</th><th scope="col" class="num">Score</th></tr></thead>
      <tbody>${recent.map(
        (v) => html`<tr><td>${when(v.at)}</td><td>${v.from || '<>'}</td><td>${v.messageId ?? '–'}</td>
          <td>${v.status}</td><td class="num">${score(v.score)}</td></tr>`,
      )}</tbody>
    </table>`
    }
  </section>`;
}

function quarantineSection(quarantine: OwnerPageData['quarantine'], corrections: boolean): Fragment {
  if (quarantine === undefined) return html``;
  // The column only when the store gives subjects: an empty one would say nothing.
  const subjects = quarantine !== 'unavailable' && quarantine.some((q) => q.subject !== undefined);
  const body =
    quarantine === 'unavailable'
      ? html`<p>The quarantine cannot be read right now; try again in a minute.</p>`
      : quarantine.length === 0
        ? html`<p class="muted">Your quarantine is empty.</p>`
        : html`<table>
      <thead><tr><th scope="col">Date</th><th scope="col">Sender</th>${subjects ? html`<th scope="col">Subject</th>` : ''}
        <th scope="col" class="num">Score</th><th scope="col">Action</th></tr></thead>
      <tbody>${quarantine.slice(0, QUARANTINE_ROWS).map((q) => {
        const what = html`<span class="vh"> mail from ${q.mailFrom || '<>'} of ${when(q.quarantinedAt)}</span>`;
        const button = (verb: string, label: string, style = '') =>
          html`<form class="inline" method="post" action="/quarantine/${encodeURIComponent(q.id)}/${verb}"><button type="submit"${style ? html` class="${style}"` : ''}>${label}${what}</button></form>`;
        return html`<tr><td>${when(q.quarantinedAt)}</td><td>${q.mailFrom || '<>'}</td>
          ${subjects ? html`<td>${q.subject ?? ''}</td>` : ''}<td class="num">${score(q.verdict.score)}</td>
          <td><span class="buttons">${button('release', 'Release')}
            ${button('delete', 'Delete', 'danger')}</span>${
              corrections
                ? html`
            <span class="buttons">${button('not-spam', 'Not spam', 'secondary')}
            ${button('spam', 'Spam', 'danger')}</span>`
                : ''
            }</td></tr>`;
      })}</tbody>
    </table>
    ${quarantine.length > QUARANTINE_ROWS ? html`<p>And ${quarantine.length - QUARANTINE_ROWS} more, listed once these are dealt with.</p>` : ''}`;
  return html`<section aria-labelledby="quarantine-h">
    <h2 id="quarantine-h">Quarantine</h2>
    <p class="muted">Release delivers a mail to you; delete removes it for good.${
      corrections
        ? ' Not spam teaches your classifier that such mail is wanted, then releases it; Spam teaches it that such mail is spam, then deletes it.'
        : ''
    }</p>
    ${body}
  </section>`;
}

function classifierSection(connect: OwnerPageData['connect'], fresh: OwnerPageData['fresh']): Fragment {
  return html`<section aria-labelledby="classifier-h">
    <h2 id="classifier-h">Your classifier</h2>
    <p>Your classifier connects to RabbitMQ with these details, and a token as its password.</p>
    <dl>
      <dt>AMQP URL</dt><dd>${connect.url}</dd>
      <dt>Virtual host</dt><dd>${connect.vhost}</dd>
      <dt>User name</dt><dd>${connect.username}</dd>
      <dt>Queue</dt><dd>${connect.queue}</dd>
    </dl>
    ${
      fresh
        ? html`<label for="token">Token, valid until ${when(fresh.expiresAt)}</label>
      <input id="token" readonly value="${fresh.token}" />
      <p><button type="button" id="copy" hidden>Copy the token</button></p>
      ${copyScript()}`
        : ''
    }
    <form method="post" action="/token"><p><button type="submit" class="secondary">Get a fresh token</button></p></form>
  </section>`;
}

export function ownerPage(d: OwnerPageData): Fragment {
  return layout(
    { title: `Mail for ${d.owner}`, owner: d.owner, admin: d.admin, status: d.status },
    html`${activitySection(d.activity)}${quarantineSection(d.quarantine, d.corrections)}${classifierSection(d.connect, d.fresh)}`,
  );
}

export function adminPage(o: { owner: string; owners: OwnerActivity[] | undefined }): Fragment {
  const owners = [...(o.owners ?? [])].sort((a, b) => a.owner.localeCompare(b.owner));
  const statuses = statusesOf(owners.map((a) => a.counts));
  const body =
    o.owners === undefined
      ? html`<p class="muted">No activity source is configured.</p>`
      : owners.length === 0
        ? html`<p class="muted">No mail recorded yet.</p>`
        : html`<table>
      <thead><tr><th scope="col">Owner</th>${statuses.map((s) => html`<th scope="col" class="num">${s}</th>`)}
        <th scope="col" class="num">total</th></tr></thead>
      <tbody>${owners.map(
        (
          a,
        ) => html`<tr><th scope="row">${a.owner}</th>${statuses.map((s) => html`<td class="num">${a.counts[s] ?? 0}</td>`)}
          <td class="num">${sum(a.counts)}</td></tr>`,
      )}</tbody>
    </table>`;
  return layout(
    { title: 'All owners', owner: o.owner, admin: true },
    html`<section aria-labelledby="totals-h"><h2 id="totals-h">Recipients by owner and status</h2>${body}</section>`,
  );
}

export function forbiddenPage(o: { owner: string; admin: boolean }): Fragment {
  return layout(
    {
      title: 'Not allowed',
      owner: o.owner,
      admin: o.admin,
      status: { text: 'This page is for admins.', error: true },
    },
    html`<p><a href="/">Back to your mail</a></p>`,
  );
}
