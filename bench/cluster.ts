// Scale-out on a RabbitMQ cluster (issue 8): the scenario of test/e2e/cluster.test.ts with more
// mails, several runs, and the killed node started again at the end.
//   npx tsx bench/cluster.ts [--n 8000] [--sessions 5] [--kill-after 10] [--size 2000] [--runs 2]
// Three private nodes (quorum queues), two in-process gateways listing all three, three
// classifiers (two on psf.default, one on a personal queue), each mail to one recipient of each;
// psf.default's leader, where the gateways are connected, gets SIGKILL mid-load.
import { runClusterScenario } from './cluster-rig.js';
import { fmt, numberOption } from './lib.js';

const n = numberOption('n', 8000);
const sessions = numberOption('sessions', 5);
const killAfter = numberOption('kill-after', 10);
const size = numberOption('size', 2000);
const runs = numberOption('runs', 2);

console.log(
  `| run | mails | 250 | 451 | lost | dup | mails/s before | 5 s after the kill | from the recovery on | recovered in | rejoined |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (let run = 1; run <= runs; run++) {
  const r = await runClusterScenario({
    count: n,
    sessions,
    killAfterSeconds: killAfter,
    mailSize: size,
    restartKilled: true,
    log: (line) => console.error(`[run ${run}] ${line}`),
  });
  const refused = Object.values(r.refusedBy).reduce((a, b) => a + b, 0);
  console.log(
    `| ${run} | ${r.sent} | ${r.accepted} | ${refused} | ${r.missing.length} | ${r.duplicates} | ` +
      `${r.rates.before} | ${r.rates.during} | ${r.rates.after} | ${fmt(r.recoverySeconds, 1)} s | ${r.rejoined} |`,
  );
  console.error(
    `[run ${run}] ${JSON.stringify({ perSecond: r.perSecond, killAt: r.killAtSecond, deferred: r.deferred, reconnects: r.reconnects, errors: r.errors, errorSamples: r.errorSamples, killed: r.killed })}`,
  );
}
