#!/usr/bin/env node
// psf-send-loop: the seed's send_loop. Sends N mails over S parallel SMTP sessions, flat out or at
// a target rate, from generated mails or a folder of real ones, and prints what came back.
//   psf-send-loop [--server host:port] [-n N] [-s S] [--rate R] [--size B | --folder DIR]
//                 [--from addr] [--to addr]... [--lmtp] [--json]
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';
import { folderMails, generatedMails } from './mail-source.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1:25' },
    count: { type: 'string', short: 'n', default: '1000' },
    sessions: { type: 'string', short: 's', default: '10' },
    rate: { type: 'string' },
    size: { type: 'string', default: '4096' },
    folder: { type: 'string' },
    from: { type: 'string', default: 'load@example.net' },
    to: { type: 'string', multiple: true, default: ['load@example.org'] },
    lmtp: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const num = (name: string, text: string | undefined) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`psf-send-loop: --${name} must be a positive number, got ${text}`);
    process.exit(64);
  }
  return n;
};
const [host = '127.0.0.1', port = '25'] = (values.server ?? '').split(':');
const report = await runLoad({
  host,
  port: num('server port', port),
  count: Math.floor(num('count', values.count)),
  sessions: Math.floor(num('sessions', values.sessions)),
  ...(values.rate ? { rate: num('rate', values.rate) } : {}),
  mails: values.folder ? await folderMails(values.folder) : generatedMails(num('size', values.size)),
  from: values.from ?? '',
  to: values.to ?? [],
  lmtp: values.lmtp ?? false,
  onProgress: (p) =>
    process.stderr.write(
      `\r${p.done} done, ${p.accepted} accepted, ${p.refused} refused, ${p.errors} errors, ${p.seconds.toFixed(0)} s`,
    ),
});
process.stderr.write('\n');
if (values.json) console.log(JSON.stringify(report));
else {
  const l = report.latencyMs;
  console.log(
    `sent ${report.sent}, accepted ${report.accepted}, refused ${report.refused}` +
      `${
        report.refused
          ? ` (${Object.entries(report.refusedBy)
              .map(([c, n]) => `${c}: ${n}`)
              .join(', ')})`
          : ''
      }` +
      `, errors ${report.errors}\n${report.mailsPerSecond.toFixed(1)} mails/s over ${report.seconds.toFixed(2)} s, ` +
      `~${report.averageSize} bytes each\nlatency ms: p50 ${l.p50.toFixed(1)}, p90 ${l.p90.toFixed(1)}, ` +
      `p99 ${l.p99.toFixed(1)}, max ${l.max.toFixed(1)}`,
  );
  for (const e of report.errorSamples) console.log(`error: ${e}`);
}
process.exit(report.errors || report.refused ? 1 : 0);
