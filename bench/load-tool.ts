// psf-send-loop against Postfix's smtp-source, the reference load generator, into the same
// smtp-sink: do they agree on what was delivered, and how fast does each send?
//   npx tsx bench/load-tool.ts [--n 5000] [--sessions 10] [--size 4096] [--runs 3]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generatedMails, runLoad } from '@psf/example-send-loop';
import { startSmtpSink } from '@psf/testkit';
import { fmt, machine, median, min, numberOption } from './lib.js';

const n = numberOption('n', 5000);
const sessions = numberOption('sessions', 10);
const size = numberOption('size', 4096);
const runs = numberOption('runs', 3);
const watchdog = setTimeout(() => {
  console.error('load-tool: hard cap of 10 minutes reached');
  process.exit(2);
}, 10 * 60_000);

const sink = await startSmtpSink();
try {
  type Tool = 'smtp-source' | 'psf-send-loop';
  const rates: Record<Tool, number[]> = { 'smtp-source': [], 'psf-send-loop': [] };
  const send: Record<Tool, () => Promise<void>> = {
    // -m messages, -s parallel sessions, -l message size, -d: keep each session for the next
    // mail, as psf-send-loop does.
    'smtp-source': async () => {
      await promisify(execFile)('/usr/sbin/smtp-source', [
        ...[
          '-d',
          '-m',
          `${n}`,
          '-s',
          `${sessions}`,
          '-l',
          `${size}`,
          '-f',
          'load@example.net',
          '-t',
          'load@example.org',
        ],
        `127.0.0.1:${sink.port}`,
      ]);
    },
    'psf-send-loop': async () => {
      const r = await runLoad({
        host: '127.0.0.1',
        port: sink.port,
        count: n,
        sessions,
        mails: generatedMails(size),
        from: 'load@example.net',
        to: ['load@example.org'],
      });
      if (r.accepted !== n) throw new Error(`psf-send-loop: ${JSON.stringify(r)}`);
    },
  };
  console.log(
    `# load tools: N=${n} mails of ${size} B over ${sessions} sessions into smtp-sink, ${runs} runs\n# ${machine()}`,
  );
  for (let r = 0; r < runs; r++) {
    for (const tool of (r % 2
      ? ['psf-send-loop', 'smtp-source']
      : ['smtp-source', 'psf-send-loop']) as Tool[]) {
      const before = sink.count();
      const t0 = performance.now();
      await send[tool]();
      await sink.waitFor(before + n, 60_000);
      const rate = n / ((performance.now() - t0) / 1000);
      rates[tool].push(rate);
      console.error(`run ${r + 1} ${tool}: ${fmt(rate)} mails/s, smtp-sink counted ${sink.count() - before}`);
    }
  }
  for (const tool of ['smtp-source', 'psf-send-loop'] as Tool[])
    console.log(`${tool}: ${fmt(min(rates[tool]))} / ${fmt(median(rates[tool]))} mails/s (min / median)`);
  console.log(
    `psf-send-loop / smtp-source: ${fmt(median(rates['psf-send-loop']) / median(rates['smtp-source']), 2)} (median)`,
  );
} finally {
  await sink.stop();
  clearTimeout(watchdog);
}
