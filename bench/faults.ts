// Faults under load (issue 8), at scale: a few thousand mails through a private Postfix,
// psf-gateway (a child process), a private RabbitMQ node and classifier processes, while the six
// faults of fault-harness.ts happen in turn, round after round, as long as the load runs. Then a
// reconnect storm, Postfix flushed until its queue is empty, and the sink counted by Message-ID.
// Prints a Markdown report for bench/RESULTS.md; stops by itself (hard cap 10 minutes).
//   npx tsc -b && npx tsx bench/faults.ts [--mails 3000] [--rate 10] [--down-ms 2000] [--storm 50]
import {
  FAULTS,
  type FaultRig,
  REINJECT_POOL,
  runScenario,
  SCAN_MAXPROC,
  startFaultRig,
} from './fault-harness.js';
import { fmt, machine, max, median, numberOption } from './lib.js';

const mails = numberOption('mails', 3000);
const rate = numberOption('rate', 10);
const downMs = numberOption('down-ms', 2000);
const stormCycles = numberOption('storm', 50);
const HARD_CAP_MS = 10 * 60_000;

let rig: FaultRig | undefined;
const watchdog = setTimeout(() => {
  console.error(`faults: hard cap of ${HARD_CAP_MS} ms reached, giving up`);
  void Promise.resolve(rig?.[Symbol.asyncDispose]()).finally(() => process.exit(2));
}, HARD_CAP_MS);

try {
  rig = await startFaultRig({ timeoutMs: 2000, log: (l) => console.error(l) });
  const r = await runScenario(rig, {
    mails,
    rate,
    maxRounds: 20,
    downMs,
    fullMails: 30,
    stormCycles,
    afterMails: 200,
    drainTimeoutMs: 180_000,
  });
  const t = r.tally;
  const rounds = r.windows.filter((w) => w.name === FAULTS.full).length;
  console.log(
    `# faults: ${mails} mails at ${rate}/s over 4 sessions, ${rounds} rounds of the six faults ` +
      `(each ${downMs} ms), gateway timeoutMs 2000 onTimeout=tempfail\n# ${machine()}\n`,
  );
  console.log('| fault | times | mail settled again after (ms, median / max) | duplicates | note (last) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const name of Object.values(FAULTS)) {
    const ws = r.windows.filter((w) => w.name === name);
    const rec = ws.map((w) => w.recoveredMs ?? Number.NaN);
    console.log(
      `| ${name} | ${ws.length} | ${fmt(median(rec))} / ${fmt(max(rec))} | ${t.duplicatesBy.get(name) ?? 0} | ` +
        `${ws.at(-1)?.note ?? ''} |`,
    );
  }
  const deferred = [...r.deferredBy]
    .sort((a, b) => b[1] - a[1])
    .map(([why, n]) => `${n} × "${why}"`)
    .join('; ');
  console.log(
    `\n- sent ${t.expected} (main load ${r.load.accepted}/${r.load.sent} accepted by Postfix, ` +
      `queue-full mails ${t.expected - r.load.sent - r.after.sent}, after the storm ${r.after.accepted}/${r.after.sent}); ` +
      `arrived ${t.arrived}, lost ${t.lost.length}, strangers ${t.strangers}\n` +
      `- duplicated ${t.duplicates.size} mails (${t.extraCopies} extra copies): ` +
      `${[...t.duplicatesBy].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; Postfix logged ` +
      `${r.maybeSentTwice} deliveries "may be sent more than once" (bound per gateway kill: ` +
      `${SCAN_MAXPROC}, per reinjection cut: ${REINJECT_POOL})\n` +
      `- gateway: ${r.gateway.settled} mails settled (250), ${r.gateway.deferred} deferred (451): ${deferred}\n` +
      `- gateway: ${r.gateway.starts} starts, ${r.gateway.connects} broker connections, ` +
      `${r.gateway.warnings} warnings/errors logged\n` +
      `- reconnect storm: ${r.storm.cycles} cuts in ${fmt(r.storm.ms / 1000, 1)} s, gateway RSS ` +
      `${fmt(r.storm.rssBeforeMb, 1)} -> ${fmt(r.storm.rssAfterMb, 1)} MB\n` +
      `- queue drained ${fmt(r.drainMs / 1000, 1)} s after the last mail was sent; whole run ${fmt(r.seconds)} s`,
  );
  if (t.lost.length) process.exitCode = 1;
} finally {
  await rig?.[Symbol.asyncDispose]();
  clearTimeout(watchdog);
}
