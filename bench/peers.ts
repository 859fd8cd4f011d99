// psf and its peers on one harness, in one run (issue 7, item 5): the same load through private
// Postfix instances with no filter, amavisd-new (checks bypassed; embedded SpamAssassin), rspamd's
// milter, psf with a no-op classifier and psf with its SpamAssassin bridge. Rates and CPU are
// reported as ratios to the no-filter baseline of the same run.
//   npx tsc -b && npx tsx bench/peers.ts [--n 300] [--n-sa 60] [--sessions 10] [--size 4096] [--runs 3]
//     [--mails both|generated|corpus] [--children 4] [--cap-ms 90000] [--budget-s 840]
//     [--targets baseline,amavisd,amavisd-sa,rspamd-milter,psf-noop,psf-sa]
// --n-sa: mails per run through SpamAssassin (amavisd-sa, psf-sa), 20-50 times slower than the rest.
// Bounded: no run starts after --budget-s, and a watchdog ends everything a minute later.
import { generatedMails, type MailSource, runLoad } from '@psf/example-send-loop';
import { ensureAmavisdInstalled } from './amavisd.js';
import {
  fmt,
  machine,
  machineCpuMs,
  median,
  min,
  numberOption,
  option,
  postfixCpuMs,
  processCpuMs,
  treeCpuMs,
} from './lib.js';
import { type Rig, type RigPids, startRig, TARGETS, type Target } from './peer-rigs.js';
import { FOLDERS, loadCorpus } from './spam-corpus-split.js';

const n = numberOption('n', 300);
const nSa = numberOption('n-sa', 60);
const WARM_UP = 20;
const sessions = numberOption('sessions', 10);
const size = numberOption('size', 4096);
const runs = numberOption('runs', 3);
const children = numberOption('children', 4);
const capMs = numberOption('cap-ms', 90_000);
const budgetMs = numberOption('budget-s', 840) * 1000;
const mailsOption = option('mails', 'both');
const targets = option('targets', TARGETS.join(','))
  .split(',')
  .map((t) => {
    if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`--targets: unknown ${t}`);
    return t as Target;
  });
if (!targets.includes('baseline')) targets.unshift('baseline'); // ratios need it
const started = Date.now();
const overBudget = () => Date.now() - started > budgetMs;

/** Corpus mails, the five folders dealt in turn (3 ham : 2 spam), CRLF line ends as SMTP wants. */
function corpusMails(): MailSource {
  const corpus = loadCorpus();
  const byFolder = FOLDERS.map((f) => corpus.filter((m) => m.folder === f));
  const mails: Buffer[] = [];
  for (let i = 0; mails.length < corpus.length; i++)
    for (const f of byFolder) {
      const m = f[i];
      if (m) mails.push(Buffer.from(m.raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    }
  return {
    averageSize: Math.round(mails.reduce((s, m) => s + m.length, 0) / mails.length),
    next: (i) => mails[i % mails.length] as Buffer,
  };
}

const GROUPS = ['bench', 'postfix', 'filter', 'spamd', 'broker'] as const;
type Group = (typeof GROUPS)[number];

/** CPU ms of each process group so far, and the machine's. */
function sample(rig: Rig) {
  const own = process.cpuUsage();
  const pids: RigPids = rig.pids;
  const m = machineCpuMs();
  const cpu: Record<Group, number> = {
    bench: (own.user + own.system) / 1000,
    postfix: postfixCpuMs(rig.postfix.dir),
    filter: pids.filter ? treeCpuMs(pids.filter) : 0,
    spamd: pids.spamd ? treeCpuMs(pids.spamd) : 0,
    broker: pids.broker ? processCpuMs(pids.broker) : 0,
  };
  return { cpu, busy: m.busy, total: m.total };
}

interface Run {
  target: Target;
  rate: number;
  accepted: number;
  refused: number;
  errors: number;
  /** Seconds until Postfix accepted all (submission), and until the sink held them. */
  submitted: number;
  delivered: number;
  /** Submission latency per mail, p50 ms (a milter scans inside it). */
  submitP50: number;
  /** CPU ms per mail by process group. */
  cpu: Record<Group, number>;
  busyPct: number;
  otherPct: number;
}

async function measure(rig: Rig, count: number, mails: MailSource): Promise<Run> {
  const before = rig.sink.mails.length;
  const s0 = sample(rig);
  const t0 = performance.now();
  const load = await runLoad({
    host: '127.0.0.1',
    port: rig.postfix.publicPort,
    count,
    sessions,
    mails,
    from: 'load@example.net',
    to: ['rcpt@example.test'],
  });
  const submitted = (performance.now() - t0) / 1000;
  await rig.sink.waitFor(before + load.accepted, capMs);
  const delivered = (performance.now() - t0) / 1000;
  const s1 = sample(rig);
  const cpu = Object.fromEntries(GROUPS.map((g) => [g, (s1.cpu[g] - s0.cpu[g]) / count])) as Record<
    Group,
    number
  >;
  const busy = s1.busy - s0.busy;
  const total = s1.total - s0.total || 1;
  const tracked = GROUPS.reduce((sum, g) => sum + cpu[g] * count, 0);
  return {
    target: rig.target,
    rate: count / delivered,
    accepted: load.accepted,
    refused: load.refused,
    errors: load.errors,
    submitted,
    delivered,
    submitP50: load.latencyMs.p50,
    cpu,
    busyPct: (100 * busy) / total,
    otherPct: (100 * Math.max(0, busy - tracked)) / total,
  };
}

/** How each target marked the mails its sink got: header name and first word of its value. */
function marks(rig: Rig, from: number): string {
  const counts = new Map<string, number>();
  for (const m of rig.sink.mails.slice(from)) {
    const head = m.raw.toString('latin1').split('\r\n\r\n', 1)[0] ?? '';
    for (const h of ['X-PSF-Status', 'X-Spam-Flag', 'X-Spam-Status', 'X-Spam']) {
      const v = new RegExp(`^${h}:\\s*([^;,\\s]*)`, 'im').exec(head)?.[1];
      if (v !== undefined) counts.set(`${h}: ${v}`, (counts.get(`${h}: ${v}`) ?? 0) + 1);
    }
  }
  return [...counts].map(([k, v]) => `${k} ×${v}`).join(', ') || 'no marks';
}

function report(title: string, results: Run[], rigs: Rig[], marksOf: Map<Target, string>): void {
  const of = (t: Target) => results.filter((r) => r.target === t);
  const med = (t: Target, f: (r: Run) => number) => median(of(t).map(f));
  const base = (f: (r: Run) => number) => med('baseline', f);
  // The broker is shared with other engineers' runs: its CPU is shown, not added up.
  const total = (r: Run) => GROUPS.reduce((s, g) => (g === 'broker' ? s : s + r.cpu[g]), 0);
  console.log(`\n### ${title}\n`);
  console.log(
    '| target | mails/s min / med | × baseline (min / med) | submit p50 ms | CPU ms/mail bench / postfix / filter / spamd / broker (med) | CPU total w/o broker ms/mail (× baseline) | busy (others) | refused / errors |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const rig of rigs) {
    const t = rig.target;
    if (of(t).length === 0) continue;
    const rates = of(t).map((r) => r.rate);
    const baseRates = of('baseline').map((r) => r.rate);
    const cpu = GROUPS.map((g) =>
      fmt(
        med(t, (r) => r.cpu[g]),
        2,
      ),
    ).join(' / ');
    console.log(
      `| ${t} | ${fmt(min(rates))} / ${fmt(median(rates))} | ${fmt(min(rates) / min(baseRates), 2)} / ${fmt(median(rates) / median(baseRates), 2)} | ` +
        `${fmt(
          med(t, (r) => r.submitP50),
          1,
        )} | ${cpu} | ${fmt(med(t, total), 2)} (${fmt(med(t, total) / base(total), 1)}) | ` +
        `${fmt(med(t, (r) => r.busyPct))}% (${fmt(med(t, (r) => r.otherPct))}%) | ` +
        `${of(t).reduce((s, r) => s + r.refused, 0)} / ${of(t).reduce((s, r) => s + r.errors, 0)} |`,
    );
  }
  console.log('');
  for (const rig of rigs) console.log(`- ${rig.target}: ${marksOf.get(rig.target) ?? 'not measured'}`);
}

const cleanups: Array<() => Promise<void>> = [];
const cleanup = async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch((err: Error) => console.error(err.message));
};
const watchdog = setTimeout(() => {
  console.error(`peers: over budget by a minute, giving up`);
  void cleanup().finally(() => process.exit(2));
}, budgetMs + 60_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

try {
  if (targets.some((t) => t.startsWith('amavisd'))) ensureAmavisdInstalled();
  const rigs: Rig[] = [];
  for (const t of targets) {
    const t0 = Date.now();
    rigs.push(await startRig(t, { children, cleanups }));
    console.error(`peers: ${t} up in ${fmt((Date.now() - t0) / 1000, 1)} s`);
  }
  console.log(
    `# peers: N=${n} per run (${nSa} through SpamAssassin) over ${sessions} sessions, ${runs} runs, ${children} amavisd children / 4 spamd children\n# ${machine()}`,
  );
  const sources: Array<[string, () => MailSource]> = [];
  if (mailsOption !== 'corpus') sources.push([`${size} B generated mails`, () => generatedMails(size)]);
  if (mailsOption !== 'generated') sources.push(['SpamAssassin corpus mails', corpusMails]);
  for (const [title, source] of sources) {
    if (overBudget()) {
      console.log(`\n### ${title}\n\nskipped: the time budget (--budget-s) was spent`);
      continue;
    }
    const mails = source();
    const failed = new Set<Target>();
    const results: Run[] = [];
    // Warm-up: Postfix's processes, prefork children, the JIT, the broker channels.
    for (const rig of rigs) await measure(rig, WARM_UP, mails);
    const from = new Map(rigs.map((r) => [r.target, r.sink.mails.length]));
    for (let r = 0; r < runs && !overBudget(); r++) {
      // Rotate who goes first: a machine that grows busier or quieter during the run hits all.
      for (let i = 0; i < rigs.length && !overBudget(); i++) {
        const rig = rigs[(i + r) % rigs.length] as Rig;
        if (failed.has(rig.target)) continue;
        try {
          const run = await measure(rig, rig.target.endsWith('-sa') ? nSa : n, mails);
          results.push(run);
          console.error(
            `${title}, run ${r + 1} ${rig.target.padEnd(13)}: ${fmt(run.rate)} mails/s (submitted ${fmt(run.submitted, 1)} s, ` +
              `delivered ${fmt(run.delivered, 1)} s), busy ${fmt(run.busyPct)}% (others ${fmt(run.otherPct)}%)`,
          );
        } catch (err) {
          failed.add(rig.target);
          console.error(`${title}, run ${r + 1} ${rig.target}: failed, dropped: ${(err as Error).message}`);
        }
      }
    }
    const marksOf = new Map(rigs.map((r) => [r.target, marks(r, from.get(r.target) ?? 0)]));
    report(`${title} (average ${mails.averageSize} B)`, results, rigs, marksOf);
    if (failed.size) console.log(`\nfailed and dropped: ${[...failed].join(', ')}`);
    if (overBudget()) console.log('\nstopped early: the time budget (--budget-s) was spent');
  }
  const warned = await Promise.all(rigs.map(async (r) => `${r.target} ${await r.warnings()}`));
  console.log(`\nwarnings/errors logged by psf (gateway, classifier): ${warned.join(', ')}`);
  console.log(`peers: done in ${fmt((Date.now() - started) / 1000)} s`);
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
