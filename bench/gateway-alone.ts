// The gateway alone vs Postfix relaying, same run (issue 7, items 2 and 3).
//   npx tsx bench/gateway-alone.ts [--n 3000] [--sessions 20] [--size 4096] [--runs 3] [--warmup 2000] [--settle-ms 3000]
//                                  [--steady-rate 100] [--steady-n 3000] [--profile] [--syscalls]
// postfix: psf-send-loop -> Postfix (no filter) -> smtp-sink. gateway: psf-send-loop -> gateway
// (own process) -> RabbitMQ -> no-op classifier (own process) -> smtp-sink. The gateway answers
// 250 only after reinjection, so its rate counts delivered mail; Postfix's counts what reached the
// sink. Then the gateway at a steady rate: per-mail latency from each mail's scheduled start.
// --profile: the gateway runs with --cpu-prof; its hottest functions and packages are printed.
// --syscalls: a last phase of 1,000 mails under strace -c: system calls per mail of the gateway and
// the classifier (counts hold still on a busy machine where seconds do not).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedMails, type LoadReport, runLoad } from '@psf/example-send-loop';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { createVhost, startPostfix, startSmtpSink } from '@psf/testkit';
import {
  cpuMeter,
  fmt,
  histogramBuckets,
  machine,
  median,
  min,
  numberOption,
  option,
  rabbitPid,
  startChildClassifier,
  startGatewayChild,
  stopChild,
  syscallCounter,
} from './lib.js';

const n = numberOption('n', 3000);
const sessions = numberOption('sessions', 20);
const size = numberOption('size', 4096);
const runs = numberOption('runs', 3);
const warmup = numberOption('warmup', 2000);
const settleMs = numberOption('settle-ms', 3000);
const steadyRate = numberOption('steady-rate', 100);
const steadyN = numberOption('steady-n', 3000);
const profile = option('profile', 'no') !== 'no' || process.argv.includes('--profile');
const syscalls = process.argv.includes('--syscalls');

const watchdog = setTimeout(() => {
  console.error('gateway-alone: hard cap of 15 minutes reached');
  process.exit(2);
}, 15 * 60_000);

const cleanups: Array<() => Promise<void>> = [];
const profDir = mkdtempSync(join(tmpdir(), 'psf-prof-'));
try {
  const sink = await startSmtpSink();
  cleanups.push(() => sink.stop());
  const pf = await startPostfix({ mode: 'plain', sinkPort: sink.port });
  cleanups.push(() => pf[Symbol.asyncDispose]());
  const vhost = await createVhost();
  cleanups.push(() => vhost.close());
  const gw = await startGatewayChild(
    vhost.url,
    sink.port,
    profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    // As docs/postfix.md asks of an admin: a reinjection connection for each concurrent session.
    sessions,
  );
  cleanups.push(() => stopChild(gw.child));
  const classifier = await startChildClassifier(vhost.url, DEFAULT_QUEUE, 'noop', 32);
  cleanups.push(() => classifier.stop());
  const mails = generatedMails(size);
  const pids = { gateway: gw.pid, classifier: classifier.pid, broker: rabbitPid() };

  type Target = 'postfix' | 'gateway';
  const results: Array<{ target: Target; rate: number; report: LoadReport; cpu: Record<string, number> }> =
    [];
  async function measure(target: Target, count: number) {
    // Each target starts on a settled machine: Postfix goes on working (queue files, logging,
    // process exits) for a moment after the sink has the last mail, which would be charged to
    // whichever target runs next.
    await new Promise((r) => setTimeout(r, settleMs));
    const before = sink.count();
    const meter = cpuMeter(pids, pf.dir);
    const t0 = performance.now();
    const report = await runLoad({
      host: '127.0.0.1',
      port: target === 'postfix' ? pf.publicPort : gw.port,
      count,
      sessions,
      mails,
      from: 'bench@example.test',
      to: ['rcpt@example.test'],
    });
    if (report.accepted !== count) throw new Error(`${target}: ${JSON.stringify(report)}`);
    await sink.waitFor(before + count, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    const d = meter.delta();
    const cpu = Object.fromEntries(
      ['bench', 'postfix', 'gateway', 'classifier', 'broker', 'other'].map((k) => [k, (d[k] ?? 0) / count]),
    );
    return { target, rate: count / seconds, report, cpu };
  }

  // Warm-up: V8 goes on optimizing the gateway's hot path for the first thousand mails or so
  // (--trace-opt), and a gateway runs for days.
  for (const t of ['postfix', 'gateway'] as const) await measure(t, warmup);
  console.log(
    `# gateway alone: N=${n} mails of ${size} B over ${sessions} sessions, ${runs} runs each\n# ${machine()}`,
  );
  for (let r = 0; r < runs; r++) {
    for (const t of (r % 2 ? ['gateway', 'postfix'] : ['postfix', 'gateway']) as Target[]) {
      const res = await measure(t, n);
      results.push(res);
      console.error(
        `run ${r + 1} ${t.padEnd(7)}: ${fmt(res.rate)} mails/s, p50 ${fmt(res.report.latencyMs.p50, 1)} ms, p99 ${fmt(res.report.latencyMs.p99, 1)} ms`,
      );
    }
  }
  const rates = (t: Target) => results.filter((x) => x.target === t).map((x) => x.rate);
  const cpuMed = (t: Target, k: string) =>
    median(results.filter((x) => x.target === t).map((x) => x.cpu[k] ?? 0));
  console.log(
    '\n| path | mails/s min / med | CPU ms/mail: postfix / gateway / classifier / broker / load tool / others |',
  );
  console.log('|---|---|---|');
  for (const t of ['postfix', 'gateway'] as const)
    console.log(
      `| ${t} | ${fmt(min(rates(t)))} / ${fmt(median(rates(t)))} | ${['postfix', 'gateway', 'classifier', 'broker', 'bench', 'other'].map((k) => fmt(cpuMed(t, k), 2)).join(' / ')} |`,
    );
  console.log(
    `\nratio gateway/postfix: min ${fmt(min(rates('gateway')) / min(rates('postfix')), 2)}, median ${fmt(median(rates('gateway')) / median(rates('postfix')), 2)} (target >= 4)`,
  );

  // Steady load: latency as a sender sees it, from each mail's scheduled start; and the gateway's
  // own time per mail (end of DATA to its reply: classification and reinjection), from the
  // difference of its psf_mail_seconds histogram over the steady phase.
  const histBefore = await histogramBuckets(gw.metricsPort, 'psf_mail_seconds');
  const steady = await runLoad({
    host: '127.0.0.1',
    port: gw.port,
    count: steadyN,
    sessions,
    rate: steadyRate,
    mails,
    from: 'bench@example.test',
    to: ['rcpt@example.test'],
  });
  const l = steady.latencyMs;
  console.log(
    `\nsteady ${steadyRate} mails/s x ${steadyN}: accepted ${steady.accepted}, p50 ${fmt(l.p50, 2)} ms, p90 ${fmt(l.p90, 2)} ms, ` +
      `p99 ${fmt(l.p99, 2)} ms, max ${fmt(l.max, 1)} ms (target p99 <= 10 ms)`,
  );
  const histAfter = await histogramBuckets(gw.metricsPort, 'psf_mail_seconds');
  const total =
    (histAfter.get(Number.POSITIVE_INFINITY) ?? 0) - (histBefore.get(Number.POSITIVE_INFINITY) ?? 0);
  const within = [...histAfter]
    .filter(([le]) => le <= 0.05)
    .map(([le, n]) => `<= ${le * 1000} ms ${fmt((100 * (n - (histBefore.get(le) ?? 0))) / total, 2)}%`);
  console.log(`gateway's own time per mail over the steady phase (${total} mails): ${within.join(', ')}`);
  if (syscalls) {
    const count = 1000;
    const counters = await Promise.all([syscallCounter(gw.pid), syscallCounter(classifier.pid)]);
    await measure('gateway', count);
    const counts = await Promise.all(counters.map((c) => c.stop()));
    for (const [i, who] of ['gateway', 'classifier'].entries()) {
      const calls = counts[i] ?? new Map<string, number>();
      const total = [...calls.values()].reduce((a, b) => a + b, 0);
      const top = [...calls]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, c]) => `${name} ${fmt(c / count, 2)}`);
      console.log(
        `${who} system calls per mail (${count} mails): ${fmt(total / count, 2)}: ${top.join(', ')}`,
      );
    }
  }
  if (gw.warnings.length) console.log(`gateway warnings: ${gw.warnings.slice(0, 5).join('; ')}`);
} finally {
  for (const c of cleanups.reverse()) await c().catch((err: Error) => console.error(err.message));
  if (profile) summarizeProfile(profDir);
  rmSync(profDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time by function and by package from the gateway's .cpuprofile. */
function summarizeProfile(dir: string) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return console.log('no profile written');
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[] };
  const total = prof.nodes.reduce((s, x) => s + (x.hitCount ?? 0), 0);
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const node of prof.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^file:\/\//, '');
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
      /packages\/([^/]+)\//.exec(where)?.[1]?.replace(/^/, '@psf/') ??
      (where.startsWith('node:') ? 'node core' : where ? 'other' : `(${functionName || 'native'})`);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + hits);
    const key = `${functionName || '(anonymous)'} ${where.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, h]) => `  ${((100 * h) / total).toFixed(1).padStart(5)}%  ${name}`);
  console.log(
    `\ngateway CPU profile (${total} samples), self time by package:\n${top(byPkg, 12).join('\n')}`,
  );
  console.log(`by function:\n${top(byFn, 25).join('\n')}`);
}
