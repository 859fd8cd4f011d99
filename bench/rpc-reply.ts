// RPC round trips through RabbitMQ: direct reply-to vs an exclusive reply queue.
//   npx tsx bench/rpc-reply.ts [--calls 3000] [--runs 3] [--cap-ms 15000] [--inflight 1,20] [--sizes 1024,51200]
// A no-op client-sdk classifier (own process, psf.default) answers { v: 1, action: 'accept' }.
// Every cell runs both modes back to back, alternating which goes first, so noise hits both.
import { randomBytes } from 'node:crypto';
import { assertTopology, BrokerConnection, type ReplyMode, RpcClient } from '@psf/broker';
import { DEFAULT_QUEUE, type ScanRequest } from '@psf/protocol';
import { createVhost } from '@psf/testkit';
import {
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

const calls = numberOption('calls', 3000);
const runs = numberOption('runs', 3);
const capMs = numberOption('cap-ms', 15_000);
const inflights = option('inflight', '1,20').split(',').map(Number);
const sizes = option('sizes', '1024,51200').split(',').map(Number);
const modes: ReplyMode[] = ['direct', 'queue'];
// Whatever happens, give up (and clean up) in bounded time.
const hardCapMs = 2 * runs * inflights.length * sizes.length * (capMs + 2000) + 60_000;

interface Run {
  mode: ReplyMode;
  inflight: number;
  size: number;
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU µs per call of: this process (RPC client), the classifier process, the broker. */
  cpu: { client: number; classifier: number; broker: number; busyPct: number; otherPct: number };
  /** Position in the sequence, to pair each run with the other mode's run next to it. */
  seq: number;
}

async function measure(
  rpc: RpcClient,
  mode: ReplyMode,
  inflight: number,
  size: number,
  count: number,
  pids: { classifier: number; broker: number },
): Promise<Run> {
  const mail = Buffer.from(makeMail(size, 'rpc'), 'latin1');
  const tag = randomBytes(4).toString('hex');
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const until = Date.now() + capMs;
  const meter = cpuMeter(pids);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < count && Date.now() < until && errors < 100) {
        const request: ScanRequest = {
          id: `${tag}.${next++}`,
          envelope: { mailFrom: 'bench@example.test', rcpt: ['rcpt@example.test'] },
          size: mail.length,
          truncated: false,
          deadline: Date.now() + 10_000,
          mail,
        };
        const started = performance.now();
        try {
          // No user queue for this owner: psf.default via the alternate exchange, as in chain.ts.
          await rpc.call('rcpt@example.test', request);
          latencies.push(performance.now() - started);
        } catch (err) {
          if (errors++ === 0) console.error(`${mode}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const d = meter.delta();
  const n = Math.max(1, latencies.length);
  const perCall = (ms = 0) => (ms * 1000) / n;
  return {
    mode,
    inflight,
    size,
    rate: latencies.length / secs,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    cpu: {
      client: perCall(d.bench),
      classifier: perCall(d.classifier),
      broker: perCall(d.broker),
      busyPct: (100 * (d.machineBusy ?? 0)) / (d.machineTotal || 1),
      otherPct: (100 * (d.other ?? 0)) / (d.machineTotal || 1),
    },
    seq: 0,
  };
}

const vhost = await createVhost();
const watchdog = setTimeout(() => {
  console.error(`rpc-reply: hard cap of ${hardCapMs} ms reached, giving up`);
  void vhost.close().finally(() => process.exit(2));
}, hardCapMs);
const connection = await BrokerConnection.open({
  url: vhost.url,
  name: 'psf-bench-rpc',
  setup: async (model) => {
    const ch = await model.createChannel();
    await assertTopology(ch);
    await ch.close();
  },
});
const clients = new Map<ReplyMode, RpcClient>();
let classifier: Awaited<ReturnType<typeof startChildClassifier>> | undefined;
try {
  await connection.waitForConnect(10_000);
  // Prefetch 32 (> 20 in flight): the classifier's prefetch is not what is measured here.
  classifier = await startChildClassifier(vhost.url, DEFAULT_QUEUE, 'noop', 32);
  const pids = { classifier: classifier.pid, broker: rabbitPid() };
  for (const mode of modes) {
    const rpc = new RpcClient({ connection, replyMode: mode });
    await rpc.waitReady(10_000);
    clients.set(mode, rpc);
    await measure(rpc, mode, 20, 1024, 500, pids); // warm-up: JIT, channel, consumer
  }
  console.log(`# rpc-reply: ${calls} calls per cell, ${runs} runs, cap ${capMs} ms\n# ${machine()}`);
  const results: Run[] = [];
  let k = 0;
  for (let r = 0; r < runs; r++) {
    for (const size of sizes) {
      for (const inflight of inflights) {
        const order = (r + k++) % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          const run = await measure(clients.get(mode) as RpcClient, mode, inflight, size, calls, pids);
          results.push({ ...run, seq: k });
          console.error(
            `run ${r + 1} ${mode.padEnd(6)} inflight ${inflight} size ${size}: ${fmt(run.rate)}/s ` +
              `p50 ${fmt(run.p50, 2)} p99 ${fmt(run.p99, 2)} ms, errors ${run.errors}, busy ${fmt(run.cpu.busyPct)}% (others ${fmt(run.cpu.otherPct)}%)`,
          );
        }
      }
    }
  }

  console.log(
    '\n| size | in flight | reply | calls/s min / med / max | p50 ms min / med | p99 ms min / med |' +
      ' CPU µs/call client / classifier / broker (med) | machine busy (others) | errors |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  const cell = (mode: ReplyMode, inflight: number, size: number) =>
    results.filter((x) => x.mode === mode && x.inflight === inflight && x.size === size);
  const ratios: string[] = [];
  for (const size of sizes) {
    for (const inflight of inflights) {
      for (const mode of modes) {
        const c = cell(mode, inflight, size);
        const m = (f: (x: Run) => number) => median(c.map(f));
        const rates = c.map((x) => x.rate);
        const [p50s, p99s] = [c.map((x) => x.p50), c.map((x) => x.p99)];
        console.log(
          `| ${Math.round(size / 1024)} KB | ${inflight} | ${mode} ` +
            `| ${fmt(min(rates))} / ${fmt(median(rates))} / ${fmt(max(rates))} ` +
            `| ${fmt(min(p50s), 2)} / ${fmt(median(p50s), 2)} | ${fmt(min(p99s), 2)} / ${fmt(median(p99s), 2)} ` +
            `| ${fmt(m((x) => x.cpu.client))} / ${fmt(m((x) => x.cpu.classifier))} / ${fmt(m((x) => x.cpu.broker))} ` +
            `| ${fmt(m((x) => x.cpu.busyPct))}% (${fmt(m((x) => x.cpu.otherPct))}%) | ${c.reduce((s, x) => s + x.errors, 0)} |`,
        );
      }
      // Runs of the two modes back to back share their noise: their ratio is steadier than either.
      const queue = cell('queue', inflight, size);
      const pairs = cell('direct', inflight, size).map(
        (d) => d.rate / (queue.find((q) => q.seq === d.seq)?.rate ?? Number.NaN),
      );
      ratios.push(
        `${Math.round(size / 1024)} KB, ${inflight} in flight: median ${fmt(median(pairs), 2)} ` +
          `(${pairs.map((x) => fmt(x, 2)).join(', ')})`,
      );
    }
  }
  console.log(`\ndirect/queue calls/s, paired runs:\n${ratios.join('\n')}`);
} finally {
  for (const rpc of clients.values()) await rpc.close();
  await classifier?.stop();
  await connection.close();
  await vhost.close();
  clearTimeout(watchdog);
}
