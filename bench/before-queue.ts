// What the gateway adds to each mail in before-queue mode, where the sending client waits for it:
// one SMTP session sends N mails one after the other, each timed from MAIL FROM to the reply after
// the data, to plain Postfix (the baseline) and to Postfix with the gateway as smtpd_proxy_filter
// (RabbitMQ, a no-op classifier in its own process), taking turns. Postfix's smtpd opens a new
// connection to the proxy filter for every mail, so the filter's greeting counts too.
//   npx tsx bench/before-queue.ts [--n 200] [--runs 3] [--size 4096]
import { type Gateway, startGateway } from '@psf/gateway';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { createVhost, freePort, openSmtp, startPostfix, startSink } from '@psf/testkit';
import { fmt, machine, makeMail, median, numberOption, quantile, startChildClassifier } from './lib.js';

const n = numberOption('n', 200);
const runs = numberOption('runs', 3);
const size = numberOption('size', 4096);

const cleanups: Array<() => Promise<void>> = [];
const watchdog = setTimeout(() => {
  console.error('before-queue: hard cap of 10 minutes reached');
  process.exit(2);
}, 10 * 60_000);
try {
  const sink = await startSink();
  cleanups.push(() => sink.close());
  const plain = await startPostfix({ mode: 'plain', sinkPort: sink.port });
  cleanups.push(() => plain[Symbol.asyncDispose]());
  const vhost = await createVhost();
  cleanups.push(() => vhost.close());
  const filterPort = await freePort();
  const proxied = await startPostfix({ mode: 'before-queue', sinkPort: sink.port, filterPort });
  cleanups.push(() => proxied[Symbol.asyncDispose]());
  const gateway: Gateway = await startGateway({
    amqpUrl: vhost.url,
    mode: 'before-queue',
    listen: { port: filterPort },
    reinject: { port: proxied.reinjectPort },
  });
  cleanups.push(() => gateway.close());
  await gateway.ready(10_000);
  const classifier = await startChildClassifier(vhost.url, DEFAULT_QUEUE, 'noop', 16);
  cleanups.push(() => classifier.stop());

  const targets = { postfix: plain.publicPort, psf: proxied.publicPort } as const;
  type Target = keyof typeof targets;
  /** Per-mail milliseconds of `count` mails over one session. */
  async function measure(target: Target, count: number, tag: string): Promise<number[]> {
    const session = await openSmtp(targets[target], 'client.bench');
    const times: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const raw = makeMail(size, `${tag}.${i}`);
        const t0 = performance.now();
        const r = await session.send({ from: 'bench@example.test', to: ['rcpt@example.test'], raw });
        times.push(performance.now() - t0);
        if (r.code !== 250) throw new Error(`${target}: ${r.code} ${r.text}`);
      }
    } finally {
      await session.close();
    }
    return times;
  }

  for (const t of ['postfix', 'psf'] as const) await measure(t, 20, `warm-${t}`);
  console.log(
    `# before-queue: ${n} mails of ${size} B one after the other, ${runs} runs each\n# ${machine()}`,
  );
  const all: Record<Target, number[]> = { postfix: [], psf: [] };
  const medians: Record<Target, number[]> = { postfix: [], psf: [] };
  for (let r = 0; r < runs; r++) {
    for (const t of (r % 2 ? ['psf', 'postfix'] : ['postfix', 'psf']) as Target[]) {
      const times = await measure(t, n, `r${r}-${t}`);
      all[t].push(...times);
      medians[t].push(median(times));
      console.error(
        `run ${r + 1} ${t}: p50 ${fmt(median(times), 2)} ms, p99 ${fmt(quantile(times, 0.99), 2)} ms`,
      );
    }
  }
  console.log('\n| path | per mail p50 / p90 / p99 (ms, all runs) | p50 per run |');
  console.log('|---|---|---|');
  for (const t of ['postfix', 'psf'] as const)
    console.log(
      `| ${t} | ${[0.5, 0.9, 0.99].map((q) => fmt(quantile(all[t], q), 2)).join(' / ')} | ${medians[t].map((m) => fmt(m, 2)).join(', ')} |`,
    );
  console.log(
    `\npsf adds ${fmt(median(all.psf) - median(all.postfix), 2)} ms per mail at the median (psf / postfix: ${fmt(median(all.psf) / median(all.postfix), 2)})`,
  );
} finally {
  clearTimeout(watchdog);
  for (const c of cleanups.reverse()) await c().catch((err: Error) => console.error(err.message));
}
