// Mails/s through the whole chain vs Postfix relaying with no filter, and vs Postfix with a
// minimal pass-through filter in the same 10025/10026 loop, in the same run.
//   npx tsx bench/chain.ts [--n 500] [--sessions 10] [--size 4096] [--runs 3] [--classifier noop|keyword]
//                          [--reply-mode direct|queue] [--cap-ms 60000]
//                          [--broker shared|private] [--erl-args "+sbwt none"]
// baseline: plain Postfix -> sink. passthrough: Postfix (content_filter) -> a pass-through filter
// (smtp-server + psf's Reinjector, bench/passthrough-filter.ts) -> Postfix reinjection smtpd -> sink.
// psf: Postfix (content_filter) -> gateway -> RabbitMQ -> classifier (own process, psf.default) ->
// gateway -> Postfix reinjection smtpd -> sink. The three take turns, so noise hits all. The clock runs from the first submit until the sink has all N.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplyMode } from '@psf/broker';
import { type Gateway, startGateway } from '@psf/gateway';
import { DEFAULT_QUEUE } from '@psf/protocol';
import {
  createVhost,
  freePort,
  openSmtp,
  type PostfixInstance,
  type Sink,
  startPostfix,
  startRabbitNode,
  startSink,
  type Vhost,
} from '@psf/testkit';
import {
  type ChildClassifier,
  cpuMeter,
  fmt,
  machine,
  makeMail,
  max,
  median,
  min,
  numberOption,
  option,
  quantile,
  rabbitPid,
  startChildClassifier,
} from './lib.js';
import { startPassthrough } from './passthrough-filter.js';

const n = numberOption('n', 500);
const sessions = numberOption('sessions', 10);
const size = numberOption('size', 4096);
const runs = numberOption('runs', 3);
const capMs = numberOption('cap-ms', 60_000);
const kind = option('classifier', 'noop') === 'keyword' ? 'keyword' : 'noop';
const replyMode = (option('reply-mode', 'direct') === 'queue' ? 'queue' : 'direct') satisfies ReplyMode;
// --broker private: RabbitMQ on a private node (with --erl-args added to its Erlang VM's) instead
// of the shared broker.
const privateBroker = option('broker', 'shared') === 'private';
const erlArgs = option('erl-args', '');
const hardCapMs = 3 * (runs + 1) * (capMs + 5000) + 60_000;

type Target = 'baseline' | 'passthrough' | 'psf';
const TARGETS: Target[] = ['baseline', 'passthrough', 'psf'];

interface Run {
  target: Target;
  rate: number;
  /** Seconds until Postfix had accepted all N (submission), and until the sink had them all. */
  submitted: number;
  delivered: number;
  /** CPU ms per mail of each process group, and how busy the machine was. */
  cpu: Record<string, number>;
  busyPct: number;
  otherPct: number;
  rssMb: number;
  /** Gateway: per-mail time (p50) and the classifier RPC part of it, ms. */
  gwMs: number;
  rpcMs: number;
  /** SMTP sessions Postfix opened to the filter per 100 mails (connection reuse); NaN for the baseline. */
  filterSessions: number;
}

/** S SMTP sessions share N mails (many transactions per session, as a relay would). */
async function submit(port: number, count: number, parallel: number, tag: string): Promise<void> {
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      const s = await openSmtp(port, 'client.bench');
      try {
        while (next < count && failures.length < 10) {
          const id = `${tag}.${next++}`;
          const raw = makeMail(size, id);
          const r = await s.send({ from: 'bench@example.test', to: ['rcpt@example.test'], raw });
          if (r.code !== 250) failures.push(`${id}: ${r.code} ${r.text}`);
        }
      } finally {
        await s.close();
      }
    }),
  );
  if (failures.length) throw new Error(`submission failed:\n${failures.join('\n')}`);
}

// Filled by the gateway's logger: one 'mail settled' line per mail, with timings.
const gwLines: Array<{ ms: number; rpc: number }> = [];
let gwWarnings = 0;
const gwLogger = {
  debug() {},
  error() {
    gwWarnings++;
  },
  warn() {
    gwWarnings++;
  },
  info(obj: object) {
    const o = obj as { ms?: number; owners?: Array<{ ms: number }> };
    if (typeof o.ms === 'number') gwLines.push({ ms: o.ms, rpc: o.owners?.[0]?.ms ?? Number.NaN });
  },
};

let vhost: Vhost | undefined;
let classifier: ChildClassifier | undefined;
let gateway: Gateway | undefined;
const cleanups: Array<() => Promise<void>> = [];
const cleanup = async () => {
  for (const c of cleanups.reverse()) await c().catch((err: Error) => console.error(err.message));
};
const watchdog = setTimeout(() => {
  console.error(`chain: hard cap of ${hardCapMs} ms reached, giving up`);
  void cleanup().finally(() => process.exit(2));
}, hardCapMs);

try {
  const sinks: Record<Target, Sink> = {
    baseline: await startSink(),
    passthrough: await startSink(),
    psf: await startSink(),
  };
  for (const t of TARGETS) cleanups.push(() => sinks[t].close());
  const basePf = await startPostfix({ mode: 'plain', sinkPort: sinks.baseline.port });
  cleanups.push(() => basePf[Symbol.asyncDispose]());
  let broker: { url: string; pid: number };
  if (privateBroker) {
    const node = await startRabbitNode({ erlArgs });
    cleanups.push(() => node[Symbol.asyncDispose]());
    broker = { url: node.url, pid: Number(readFileSync(join(node.dir, 'node.pid'), 'utf8')) };
  } else {
    vhost = await createVhost();
    cleanups.push(() => (vhost as Vhost).close());
    broker = { url: vhost.url, pid: rabbitPid() };
  }
  // The gateway needs the reinjection port, Postfix the filter port: reserve one, start Postfix first.
  const filterPort = await freePort();
  const psfPf = await startPostfix({ mode: 'after-queue-smtp', sinkPort: sinks.psf.port, filterPort });
  cleanups.push(() => psfPf[Symbol.asyncDispose]());
  gateway = await startGateway({
    amqpUrl: broker.url,
    listen: { port: filterPort },
    reinject: { port: psfPf.reinjectPort },
    timeoutMs: 10_000,
    replyMode,
    logger: gwLogger,
  });
  cleanups.push(() => (gateway as Gateway).close());
  await gateway.ready(10_000); // topology declared: psf.default exists for the classifier
  classifier = await startChildClassifier(broker.url, DEFAULT_QUEUE, kind, 16);
  cleanups.push(() => (classifier as ChildClassifier).stop());
  const passPort = await freePort();
  const passPf = await startPostfix({
    mode: 'after-queue-smtp',
    sinkPort: sinks.passthrough.port,
    filterPort: passPort,
  });
  cleanups.push(() => passPf[Symbol.asyncDispose]());
  const passthrough = await startPassthrough(passPort, passPf.reinjectPort);
  cleanups.push(() => passthrough.close());
  const postfix: Record<Target, PostfixInstance> = { baseline: basePf, passthrough: passPf, psf: psfPf };
  const pids = { classifier: classifier.pid, broker: broker.pid };
  const gw = gateway;
  const filterSessions: Record<Target, () => Promise<number>> = {
    baseline: async () => Number.NaN,
    passthrough: async () => passthrough.sessions(),
    psf: async () => (await gw.metrics.sessions.get()).values[0]?.value ?? 0,
  };

  async function measure(target: Target, count: number, tag: string): Promise<Run> {
    const sink = sinks[target];
    const before = sink.mails.length;
    gwLines.length = 0;
    let rss = process.memoryUsage().rss;
    const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 100);
    const meter = cpuMeter(pids, postfix[target].dir);
    const sessionsBefore = await filterSessions[target]();
    const t0 = performance.now();
    try {
      await submit(postfix[target].publicPort, count, sessions, tag);
      const submitted = (performance.now() - t0) / 1000;
      await sink.waitFor(before + count, capMs);
      const delivered = (performance.now() - t0) / 1000;
      const d = meter.delta();
      const per = (ms = 0) => ms / count;
      return {
        target,
        rate: count / delivered,
        submitted,
        delivered,
        // 'bench' is this process: sender + sink, plus the gateway in the psf runs.
        cpu: {
          bench: per(d.bench),
          postfix: per(d.postfix),
          classifier: per(d.classifier),
          broker: per(d.broker),
        },
        busyPct: (100 * (d.machineBusy ?? 0)) / (d.machineTotal || 1),
        otherPct: (100 * (d.other ?? 0)) / (d.machineTotal || 1),
        rssMb: rss / 2 ** 20,
        gwMs: quantile(
          gwLines.map((l) => l.ms),
          0.5,
        ),
        rpcMs: quantile(
          gwLines.map((l) => l.rpc),
          0.5,
        ),
        filterSessions: (100 * ((await filterSessions[target]()) - sessionsBefore)) / count,
      };
    } finally {
      clearInterval(sampler);
    }
  }

  // Warm-up: Postfix's processes and connection caches, the JIT, the broker channels.
  for (const target of TARGETS) await measure(target, 50, `warm-${target}`);
  console.log(
    `# chain: N=${n} mails of ${size} B over ${sessions} sessions, ${runs} runs each, ` +
      `classifier ${kind}, replyMode ${replyMode}\n# ${machine()}`,
  );
  const results: Run[] = [];
  for (let r = 0; r < runs; r++) {
    // Rotate who goes first: a machine that grows busier or quieter during the run hits all.
    const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length] as Target);
    for (const target of order) {
      const run = await measure(target, n, `r${r}-${target}`);
      results.push(run);
      console.error(
        `run ${r + 1} ${target.padEnd(8)}: ${fmt(run.rate)} mails/s (submitted ${fmt(run.submitted, 2)} s, ` +
          `delivered ${fmt(run.delivered, 2)} s), busy ${fmt(run.busyPct)}% (others ${fmt(run.otherPct)}%)` +
          (target === 'baseline'
            ? ''
            : `, ${fmt(run.filterSessions, 1)} sessions to the filter per 100 mails`) +
          (target === 'psf' ? `, gateway p50 ${fmt(run.gwMs, 1)} ms (rpc ${fmt(run.rpcMs, 1)} ms)` : ''),
      );
    }
  }

  // Every psf mail must carry the classifier's verdict, not a timeout's "unchecked".
  const statuses = new Map<string, number>();
  for (const m of sinks.psf.mails) {
    const s = /^X-PSF-Status: ([^;\r\n]*)/im.exec(m.raw.toString('latin1'))?.[1] ?? 'none';
    statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }

  const of = (t: Target) => results.filter((x) => x.target === t);
  const rates = (t: Target) => of(t).map((x) => x.rate);
  const med = (t: Target, f: (x: Run) => number) => median(of(t).map(f));
  console.log(
    '\n| path | mails/s min / med / max | submit s (med) | CPU ms/mail bench / postfix / classifier / broker (med) | machine busy (others) | peak RSS MB |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const t of TARGETS) {
    const c = (k: string) =>
      fmt(
        med(t, (x) => x.cpu[k] ?? 0),
        2,
      );
    console.log(
      `| ${t} | ${fmt(min(rates(t)))} / ${fmt(median(rates(t)))} / ${fmt(max(rates(t)))} | ` +
        `${fmt(
          med(t, (x) => x.submitted),
          2,
        )} | ${c('bench')} / ${c('postfix')} / ${c('classifier')} / ${c('broker')} | ` +
        `${fmt(med(t, (x) => x.busyPct))}% (${fmt(med(t, (x) => x.otherPct))}%) | ${fmt(max(of(t).map((x) => x.rssMb)))} |`,
    );
  }
  const gwCpu = med('psf', (x) => x.cpu.bench ?? 0) - med('baseline', (x) => x.cpu.bench ?? 0);
  console.log(
    `\nratio psf/baseline: min ${fmt(min(rates('psf')) / min(rates('baseline')), 2)}, ` +
      `median ${fmt(median(rates('psf')) / median(rates('baseline')), 2)}\n` +
      `ratio psf/passthrough: min ${fmt(min(rates('psf')) / min(rates('passthrough')), 2)}, ` +
      `median ${fmt(median(rates('psf')) / median(rates('passthrough')), 2)}, ` +
      `per-run ${of('psf')
        .map((x, i) => fmt(x.rate / (of('passthrough')[i]?.rate ?? Number.NaN), 2))
        .join(' ')}\n` +
      `gateway CPU ≈ ${fmt(gwCpu, 2)} ms/mail (bench process psf minus baseline: same sender and sink; approximate)\n` +
      `gateway per mail p50 ${fmt(
        med('psf', (x) => x.gwMs),
        1,
      )} ms, of which classifier RPC ${fmt(
        med('psf', (x) => x.rpcMs),
        1,
      )} ms; ` +
      `gateway warnings/errors logged: ${gwWarnings}\n` +
      `X-PSF-Status at the psf sink: ${[...statuses].map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
