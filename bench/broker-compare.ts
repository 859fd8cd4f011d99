// The broker comparison for psf's RPC workload (issue 7): a request of 1, 10 or 100 KB to a responder
// (own process) that answers a verdict-sized JSON at once, over RabbitMQ (four set-ups), NATS core,
// NATS JetStream and a private ActiveMQ.
//   npx tsx bench/broker-compare.ts [--calls 1000] [--runs 3] [--cap-ms 3000] [--inflight 1,20]
//     [--sizes 1024,10240,102400] [--warmup 300] [--variants all|id,id] [--max-minutes 10]
// Every run measures every variant back to back in each cell (rotating the order), and every figure
// is also given as a ratio to variant 1 of the same run and cell: the machine is shared and noisy.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createVhost, type Vhost } from '@psf/testkit';
import { connect } from 'nats';
import { type PrivateActiveMq, startActiveMq } from './broker-compare/activemq-broker.js';
import {
  type Endpoints,
  type Requester,
  VARIANT_IDS,
  type Variant,
  type VariantId,
} from './broker-compare/variant.js';
import { BROKER, LABELS, makeVariant } from './broker-compare/variants.js';
import { cpuMeter, fmt, machine, makeMail, median, min, numberOption, option, quantile } from './lib.js';

const calls = numberOption('calls', 1000);
const runs = numberOption('runs', 3);
const capMs = numberOption('cap-ms', 3000);
const warmup = numberOption('warmup', 300);
const maxMinutes = numberOption('max-minutes', 10);
const inflights = option('inflight', '1,20').split(',').map(Number);
const sizes = option('sizes', '1024,10240,102400').split(',').map(Number);
const wanted = option('variants', 'all');
const ids = VARIANT_IDS.filter((id) => wanted === 'all' || wanted.split(',').includes(id));
const NATS_URL = '127.0.0.1:4222';

interface Run {
  id: VariantId;
  run: number;
  size: number;
  inflight: number;
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU µs per call of the bench (requester), the responder process and the variant's broker. */
  cpu: { requester: number; responder: number; broker: number };
  busyPct: number;
  otherPct: number;
}

/** The pid listening on a local TCP port (the shared brokers: their CPU includes others' load). */
function listenerPid(port: number): number {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  return Number(/pid=(\d+)/.exec(out)?.[1] ?? 0);
}

async function measure(
  req: Requester,
  id: VariantId,
  size: number,
  inflight: number,
  count: number,
  pids: Record<string, number>,
): Promise<Omit<Run, 'run'>> {
  const body = Buffer.from(makeMail(size, randomBytes(4).toString('hex')), 'latin1');
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const until = Date.now() + capMs;
  const meter = cpuMeter(pids);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < count && Date.now() < until && errors < 50) {
        next++;
        const started = performance.now();
        try {
          await req.call(body);
          latencies.push(performance.now() - started);
        } catch (err) {
          if (errors++ === 0) console.error(`${id}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const d = meter.delta();
  const perCall = (ms = 0) => (ms * 1000) / Math.max(1, latencies.length);
  return {
    id,
    size,
    inflight,
    rate: latencies.length / secs,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    cpu: {
      requester: perCall(d.bench),
      responder: perCall(d.responder),
      broker: perCall(d[BROKER[id]]),
    },
    busyPct: (100 * (d.machineBusy ?? 0)) / (d.machineTotal || 1),
    otherPct: (100 * (d.other ?? 0)) / (d.machineTotal || 1),
  };
}

async function startResponders(ep: Endpoints, which: VariantId[]): Promise<ChildProcess> {
  const file = fileURLToPath(new URL('./broker-compare/responder-child.ts', import.meta.url));
  // process.execArgv carries tsx's loader, so the child runs TypeScript too.
  const child = fork(file, [JSON.stringify({ ids: which, endpoints: ep })], { execArgv: process.execArgv });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('responders not ready in 60 s')), 60_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`responder process exited with ${code}`)));
  }).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  if (child.connected) child.send('stop');
  else child.kill('SIGKILL');
  await exited;
  clearTimeout(timer);
}

// --- the report ------------------------------------------------------------------------------------

const kb = (size: number) => `${Math.round(size / 1024)} KB`;

/** Medians over runs of a figure and of its ratio to variant 1 in the same run and cell. */
function stats(results: Run[], id: VariantId, size: number, inflight: number, f: (r: Run) => number) {
  const cell = results.filter((r) => r.size === size && r.inflight === inflight);
  const own = cell.filter((r) => r.id === id);
  const ratios = own.map((r) => {
    const base = cell.find((b) => b.id === VARIANT_IDS[0] && b.run === r.run);
    return base ? f(r) / f(base) : Number.NaN;
  });
  const xs = own.map(f);
  return { min: min(xs), median: median(xs), ratio: median(ratios) };
}

function report(results: Run[], which: VariantId[], skipped: Map<VariantId, string>): string {
  const out: string[] = [];
  for (const size of sizes) {
    for (const inflight of inflights) {
      out.push(
        `\n**${kb(size)}, ${inflight} in flight**\n`,
        '| variant | calls/s min / med | ×1 | p50 ms min / med | ×1 | p99 ms min / med | ×1 |' +
          ' CPU µs/call requester / responder / broker | busy (others) | errors |',
        '|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const id of which) {
        const own = results.filter((r) => r.id === id && r.size === size && r.inflight === inflight);
        if (own.length === 0) continue;
        const rate = stats(results, id, size, inflight, (r) => r.rate);
        const p50 = stats(results, id, size, inflight, (r) => r.p50);
        const p99 = stats(results, id, size, inflight, (r) => r.p99);
        const m = (f: (r: Run) => number) => median(own.map(f));
        out.push(
          `| ${LABELS[id]} | ${fmt(rate.min)} / ${fmt(rate.median)} | ${fmt(rate.ratio, 2)} ` +
            `| ${fmt(p50.min, 2)} / ${fmt(p50.median, 2)} | ${fmt(p50.ratio, 2)} ` +
            `| ${fmt(p99.min, 2)} / ${fmt(p99.median, 2)} | ${fmt(p99.ratio, 2)} ` +
            `| ${fmt(m((r) => r.cpu.requester))} / ${fmt(m((r) => r.cpu.responder))} / ${fmt(m((r) => r.cpu.broker))} ` +
            `| ${fmt(m((r) => r.busyPct))}% (${fmt(m((r) => r.otherPct))}%) | ${own.reduce((s, r) => s + r.errors, 0)} |`,
        );
      }
    }
  }
  // One line per variant: calls/s and p99 as ratios to variant 1, every cell.
  const cells = sizes.flatMap((size) => inflights.map((inflight) => ({ size, inflight })));
  out.push(
    '\n**Summary: median ratio to variant 1 of the same run, calls/s (p99)**\n',
    `| variant | ${cells.map((c) => `${kb(c.size)} × ${c.inflight}`).join(' | ')} |`,
    `|---|${cells.map(() => '---').join('|')}|`,
  );
  for (const id of which.filter((i) => results.some((r) => r.id === i))) {
    const row = cells.map(({ size, inflight }) => {
      const rate = stats(results, id, size, inflight, (r) => r.rate).ratio;
      const p99 = stats(results, id, size, inflight, (r) => r.p99).ratio;
      return `${fmt(rate, 2)} (${fmt(p99, 2)})`;
    });
    out.push(`| ${LABELS[id]} | ${row.join(' | ')} |`);
  }
  for (const [id, why] of skipped) out.push(`\n${LABELS[id]}: not measured: ${why}`);
  return out.join('\n');
}

// --- the run ---------------------------------------------------------------------------------------

let vhost: Vhost | undefined;
let activemq: PrivateActiveMq | undefined;
let responder: ChildProcess | undefined;
const variants: Variant[] = [];
const requesters = new Map<VariantId, Requester>();
const skipped = new Map<VariantId, string>();
const results: Run[] = [];

async function cleanup(): Promise<void> {
  await Promise.allSettled([...requesters.values()].map((r) => r.close()));
  await stopProcess(responder).catch(() => {});
  await Promise.allSettled(variants.map((v) => v.teardown()));
  await activemq?.stop().catch((err: Error) => console.error(`activemq stop: ${err.message}`));
  await vhost?.close().catch((err: Error) => console.error(`vhost delete: ${err.message}`));
}

// Whatever happens, give up in bounded time and still stop what was started.
const watchdog = setTimeout(() => {
  console.error(`broker-compare: ${maxMinutes} minutes reached, stopping with what was measured`);
  console.log(report(results, ids, skipped));
  const hard = setTimeout(() => process.exit(2), 60_000);
  void cleanup().finally(() => {
    clearTimeout(hard);
    process.exit(2);
  });
}, maxMinutes * 60_000);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`broker-compare: ${signal}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  vhost = await createVhost();
  const ep: Endpoints = { amqpUrl: vhost.url, natsUrl: NATS_URL, tag: randomBytes(4).toString('hex') };
  if (ids.includes('activemq-stomp')) {
    try {
      activemq = await startActiveMq();
      ep.stompPort = activemq.stompPort;
    } catch (err) {
      skipped.set('activemq-stomp', (err as Error).message.split('\n')[0] ?? 'did not start');
      console.error((err as Error).message);
    }
  }
  const active = ids.filter((id) => !skipped.has(id));
  for (const id of active) {
    const v = makeVariant(id, ep);
    await v.setup();
    variants.push(v);
  }
  responder = await startResponders(ep, active);
  for (const v of variants) requesters.set(v.id, await v.request());

  const nc = await connect({ servers: NATS_URL });
  const natsVersion = nc.info?.version ?? '?';
  await nc.close();
  const pids: Record<string, number> = {
    responder: responder.pid as number,
    rabbitmq: listenerPid(5672),
    nats: listenerPid(4222),
    ...(activemq ? { activemq: activemq.pid } : {}),
  };
  for (const id of active) {
    await measure(requesters.get(id) as Requester, id, 1024, 20, warmup, pids); // JIT, connections, queues
  }
  console.log(
    `# broker-compare: ${calls} calls per cell (cap ${capMs} ms), ${runs} runs\n` +
      `# ${machine()}, NATS ${natsVersion}${activemq ? `, ActiveMQ ${activemq.version}` : ''}`,
  );
  let k = 0;
  for (let run = 0; run < runs; run++) {
    for (const size of sizes) {
      for (const inflight of inflights) {
        const shift = k++ % active.length;
        for (const id of [...active.slice(shift), ...active.slice(0, shift)]) {
          const r = await measure(requesters.get(id) as Requester, id, size, inflight, calls, pids);
          results.push({ ...r, run });
          console.error(
            `run ${run + 1} ${kb(size)} ×${inflight} ${id.padEnd(32)} ${fmt(r.rate).padStart(6)}/s ` +
              `p50 ${fmt(r.p50, 2)} p99 ${fmt(r.p99, 2)} ms, errors ${r.errors}, busy ${fmt(r.busyPct)}% (others ${fmt(r.otherPct)}%)`,
          );
        }
      }
    }
  }
  console.log(report(results, ids, skipped));
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
