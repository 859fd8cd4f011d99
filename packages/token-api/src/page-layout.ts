import { createHash } from 'node:crypto';
import { html, raw } from 'hono/html';

/** A rendered fragment of the self-service pages (hono's `html` escapes every value put in). */
export type Fragment = ReturnType<typeof html>;

// One small stylesheet inline: no external assets, nothing to fetch after the page itself.
const CSS = `
:root{color-scheme:light;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f6f7f9}
body{margin:0}
header{background:#1d3557;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header .brand{font-weight:700;margin-right:auto}
header a{color:#fff}
header nav{display:flex;gap:1rem}
main{max-width:62rem;margin:0 auto;padding:1rem 1.2rem 2rem}
h1{font-size:1.5rem;margin:.6rem 0}
h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
section>h2:first-child{margin-top:.8rem}
section{background:#fff;border:1px solid #d6dae0;border-radius:6px;padding:.2rem 1rem 1rem;margin-top:1rem}
table{border-collapse:collapse;width:100%;font-size:.93rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:middle}
th{background:#eef1f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.5rem 0}
dt{font-weight:600}
dd{margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin-top:.8rem}
input{font:inherit;padding:.4rem .5rem;border:1px solid #8a94a3;border-radius:4px;width:100%;max-width:22rem;box-sizing:border-box}
input[readonly]{max-width:100%;font-family:ui-monospace,monospace;font-size:.85rem}
button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #1d3557;background:#1d3557;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1d3557}
button.danger{background:#fff;color:#a4161a;border-color:#a4161a}
form.inline{display:inline}
.buttons{display:inline-block;white-space:nowrap;margin:.15rem 0}
:focus-visible{outline:3px solid #e76f00;outline-offset:2px}
.status:not(:empty){border-left:4px solid #1d3557;background:#e8eef7;padding:.5rem .8rem;margin:.8rem 0}
.status.error:not(:empty){border-color:#a4161a;background:#fbeaea}
.muted{color:#5a6472}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
`;

/** The copy button's whole script: shown only when scripts run, it copies the fresh token. */
const COPY_SCRIPT =
  "const b=document.getElementById('copy'),t=document.getElementById('token'),s=document.getElementById('status');" +
  'b.hidden=false;b.onclick=async()=>{try{await navigator.clipboard.writeText(t.value);' +
  "s.textContent='Token copied to the clipboard.'}catch{t.select();s.textContent='Select the token and copy it.'}}";
const COPY_SCRIPT_HASH = createHash('sha256').update(COPY_SCRIPT).digest('base64');

/** Response headers of every page: nothing cached, nothing framed, no script but the copy button's. */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy':
    `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${COPY_SCRIPT_HASH}'; ` +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

export const copyScript = (): Fragment => html`<script>${raw(COPY_SCRIPT)}</script>`;

export interface LayoutOptions {
  title: string;
  /** The logged-in owner: the header shows them and a logout button. */
  owner?: string | undefined;
  admin?: boolean | undefined;
  /** A message for the role=status region; `error` styles it as a failure. */
  status?: { text: string; error?: boolean } | undefined;
}

export function layout(o: LayoutOptions, body: Fragment): Fragment {
  const nav = o.owner
    ? html`<nav aria-label="Account">
          <a href="/">My mail</a>${o.admin ? html`<a href="/admin">All owners</a>` : ''}
        </nav>
        <span>${o.owner}</span>
        <form class="inline" method="post" action="/logout">
          <button type="submit" class="secondary">Log out</button>
        </form>`
    : '';
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${o.title} · psf</title>
    <style>${raw(CSS)}</style>
  </head>
  <body>
    <header><span class="brand">psf · Postfix Spammer Filter</span>${nav}</header>
    <main>
      <h1>${o.title}</h1>
      <div id="status" role="status" class="status${o.status?.error ? ' error' : ''}">${o.status?.text ?? ''}</div>
      ${body}
    </main>
  </body>
</html>`;
}
