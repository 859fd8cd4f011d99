import type { Summary } from './aggregate.js';

const when = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());
const ms = (v: number | undefined) => (v === undefined ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);

/** Statuses in the order people read them: what got through, what was caught, what went wrong. */
const COLUMNS = ['clean', 'spam', 'quarantined', 'discarded', 'rejected', 'unchecked', 'tempfail', 'dead'];

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)];
}

/** `psf stats` as people read it. */
export function formatSummary(s: Summary): string {
  const out = [
    `psf stats: ${when(s.from)} .. ${when(s.to)}`,
    `mails ${s.mails}; classification p50 ${ms(s.classifyMs.p50)}, p99 ${ms(s.classifyMs.p99)} (${s.classifyMs.count} verdicts)`,
    '',
    'recipients by owner (owner "" is the default classifier):',
  ];
  const cols = COLUMNS.filter((c) => s.recipients[c] !== undefined);
  const rows = s.owners.map((o) => [JSON.stringify(o.owner), ...cols.map((c) => String(o.counts[c] ?? 0))]);
  rows.push(['total', ...cols.map((c) => String(s.recipients[c] ?? 0))]);
  out.push(...table(['owner', ...cols], rows).map((l) => `  ${l}`), '');
  out.push('top senders of spam:');
  if (s.topSpamSenders.length === 0) out.push('  (none)');
  else
    out.push(
      ...table(
        ['sender', 'recipients'],
        // Senders come from outside: control characters (terminal escapes) shown as ?.
        s.topSpamSenders.map((t) => [t.sender.replace(/[\x00-\x1f\x7f]/g, '?'), String(t.recipients)]),
      ).map((l) => `  ${l}`),
    );
  out.push('', 'dead letters (requests no classifier answered):');
  if (s.deadLetters.length === 0) out.push('  (none)');
  else
    out.push(
      ...table(
        ['owner', 'reason', 'count'],
        s.deadLetters.map((d) => [JSON.stringify(d.owner), d.reason, String(d.count)]),
      ).map((l) => `  ${l}`),
    );
  return `${out.join('\n')}\n`;
}
