// Scale-out on a RabbitMQ cluster (issue 8): the rig shared by bench/cluster.ts and
// test/e2e/cluster.test.ts. Three private RabbitMQ nodes clustered (never the shared broker),
// psf's queues as quorum queues, two gateways listing all three nodes, three classifiers spread
// over the nodes, and the load tool sending to both gateways (the sink stands in for Postfix's
// reinjection smtpd). Mid-load, the node leading psf.default, which the gateways are connected
// to, is killed with SIGKILL.
import { setTimeout as sleep } from 'node:timers/promises';
import { assertTopology, assertUserQueue, type Logger, type TopologyOptions } from '@psf/broker';
import { type Classifier, startClassifier } from '@psf/client-sdk';
import { generatedMails, type LoadReport, runLoad } from '@psf/example-send-loop';
import { type Gateway, startGateway } from '@psf/gateway';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { type RabbitCluster, type SinkMail, startRabbitCluster, startSink } from '@psf/testkit';
import amqp from 'amqplib';

/** Has a personal queue (its own classifier); the other recipient falls to psf.default. */
export const PERSONAL_OWNER = 'alice@example.org';
const RCPT = ['load@example.org', PERSONAL_OWNER];
const TOPOLOGY: TopologyOptions = { queueType: 'quorum' };

export interface ClusterRunOptions {
  /** Mails in all, half to each gateway. */
  count: number;
  /** SMTP sessions per gateway. */
  sessions: number;
  /** Seconds of load before the kill. */
  killAfterSeconds: number;
  /**
   * Mails per second in all (half to each gateway); flat out when not set. A paced load goes on
   * for as long after the kill however fast the outage's 451s come, so that the recovery is seen.
   */
  rate?: number;
  /** Start the killed node again once the load is done, and check that it rejoined. */
  restartKilled?: boolean;
  mailSize?: number;
  /** Progress lines for a person watching. */
  log?: (line: string) => void;
}

export interface ClusterRunReport {
  sent: number;
  /** 250s the load tool got. */
  accepted: number;
  /** 4xx by code: Postfix would retry these. */
  refusedBy: Record<string, number>;
  errors: number;
  errorSamples: string[];
  /** Message-IDs the gateways answered 250 for (from their logs). */
  settled: number;
  /** Distinct Message-IDs at the sink. */
  arrived: number;
  /** Settled but not at the sink: must be 0. */
  missing: string[];
  /** Mails the sink got more than once. */
  duplicates: number;
  /** At the sink but never answered 250 (a 451 after reinjection: a duplicate on Postfix's retry). */
  arrivedUnsettled: number;
  /** The node killed (psf.default's leader), where the gateways were, and who leads after. */
  killed: { node: string; gatewaysOn: string[]; newLeader: string };
  /** Mails settled per second over the run (index 0: the first second). */
  perSecond: number[];
  killAtSecond: number;
  /** Mails/s before the kill (after a 2 s warm-up), in the 5 s after it, and from the recovery on. */
  rates: { before: number; during: number; after: number };
  /** Seconds from the kill to the first second at half the rate before it or more. */
  recoverySeconds: number;
  /** Connections the gateways and classifiers made after the kill, by node. */
  reconnects: Record<string, number>;
  /** The gateways' reasons for their 451s, by count. */
  deferred: Record<string, number>;
  rejoined?: boolean;
  load: LoadReport[];
}

/** Captures what the gateways log: settled mails by Message-ID and time, and connections by node. */
function recorder() {
  const settled = new Map<string, number>();
  const connects: Array<{ at: number; node: string }> = [];
  /** Why mails were deferred (451), by error message. */
  const deferred: Record<string, number> = {};
  const logger: Logger = {
    debug() {},
    info(obj) {
      const o = obj as { event?: string; outcome?: string; messageId?: string; node?: string };
      if (o.event === 'mail' && o.outcome === 'ok' && o.messageId) settled.set(o.messageId, Date.now());
      if (o.event === 'broker-connect' && o.node) connects.push({ at: Date.now(), node: o.node });
    },
    warn(obj) {
      const o = obj as { event?: string; outcome?: string; err?: string };
      if (o.event === 'mail' && o.outcome === 'tempfail') {
        const why = String(o.err).replace(/\d+/g, 'N');
        deferred[why] = (deferred[why] ?? 0) + 1;
      }
    },
    error() {},
  };
  return { logger, settled, connects, deferred };
}

const messageIdOf = (m: SinkMail) => /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(m.raw.toString('latin1'))?.[1];

/** Nodes' URLs starting with node `first`: where a client connects first, and then in turn. */
function urlsFrom(cluster: RabbitCluster, first: number): string {
  const urls = cluster.urls().split(',');
  return [...urls.slice(first), ...urls.slice(0, first)].join(',');
}

export async function runClusterScenario(o: ClusterRunOptions): Promise<ClusterRunReport> {
  const log = o.log ?? (() => {});
  log('starting a three-node cluster');
  await using cluster = await startRabbitCluster();
  const nodeOf = (hostPort: string) =>
    cluster.nodes.find((n) => hostPort.endsWith(`:${n.amqpPort}`))?.name ?? hostPort;

  // Declared through node 1 (index 0): a quorum queue's first leader is the declaring node.
  const admin = await amqp.connect(cluster.nodes[0]?.url as string);
  const ch = await admin.createChannel();
  await assertTopology(ch, TOPOLOGY);
  await assertUserQueue(ch, PERSONAL_OWNER, TOPOLOGY);
  await admin.close();
  const leader = await cluster.leaderOf(DEFAULT_QUEUE);

  await using sink = await startSink();
  const rec = recorder();
  const gateways: Gateway[] = [];
  const classifiers: Classifier[] = [];
  try {
    for (let g = 0; g < 2; g++) {
      const gateway = await startGateway({
        amqpUrl: urlsFrom(cluster, leader),
        queueType: 'quorum',
        listen: { port: 0 },
        reinject: { port: sink.port, poolSize: o.sessions },
        maxSessions: o.sessions * 2,
        quarantine: false,
        logger: rec.logger,
      });
      gateways.push(gateway);
      await gateway.ready(20_000);
    }
    // Spread over the nodes: one on each, so one of them loses its node too.
    const handler = () => ({ v: 1 as const, action: 'accept' as const, score: 0 });
    for (const [i, queue] of [DEFAULT_QUEUE, DEFAULT_QUEUE, `psf.user.${PERSONAL_OWNER}`].entries()) {
      classifiers.push(await startClassifier({ url: urlsFrom(cluster, (leader + i) % 3), queue, handler }));
    }
    const gatewaysOn = [...new Set(rec.connects.map((c) => nodeOf(c.node)))];

    log(
      `load: ${o.count} mails over ${2 * o.sessions} sessions; killing ${cluster.nodes[leader]?.name} at ${o.killAfterSeconds} s`,
    );
    const started = Date.now();
    const mails = [generatedMails(o.mailSize ?? 2000), generatedMails(o.mailSize ?? 2000)];
    const loads = gateways.map((gw, g) =>
      runLoad({
        host: '127.0.0.1',
        port: gw.address.port,
        count: Math.ceil(o.count / 2) - (g === 1 && o.count % 2 ? 1 : 0),
        sessions: o.sessions,
        ...(o.rate ? { rate: o.rate / 2 } : {}),
        mails: mails[g] as ReturnType<typeof generatedMails>,
        from: 'load@example.net',
        to: RCPT,
      }),
    );
    await sleep(o.killAfterSeconds * 1000);
    const killedAt = Date.now();
    await cluster.kill(leader);
    log(`killed ${cluster.nodes[leader]?.name} after ${rec.settled.size} mails`);
    const load = await Promise.all(loads);
    const ended = Date.now();
    const newLeader = cluster.nodes[await cluster.leaderOf(DEFAULT_QUEUE)]?.name ?? '?';

    // Every accepted mail was reinjected before its 250: the sink has it already.
    const ids = new Map<string, number>();
    for (const m of sink.mails) {
      const id = messageIdOf(m);
      if (id) ids.set(id, (ids.get(id) ?? 0) + 1);
    }
    const seconds = Math.ceil((ended - started) / 1000);
    const perSecond = Array.from({ length: seconds }, () => 0);
    for (const at of rec.settled.values()) {
      const s = Math.floor((at - started) / 1000);
      if (s >= 0 && s < seconds) perSecond[s] = (perSecond[s] ?? 0) + 1;
    }
    const killAt = (killedAt - started) / 1000;
    const rate = (from: number, to: number) => {
      let n = 0;
      for (const at of rec.settled.values()) if (at >= started + from * 1000 && at < started + to * 1000) n++;
      return to > from ? Math.round(n / (to - from)) : 0;
    };
    const end = (ended - started) / 1000;
    const before = rate(2, killAt);
    const k = Math.floor(killAt);
    const back = perSecond.findIndex((n, s) => s > k && n >= before / 2);
    const reconnects: Record<string, number> = {};
    for (const c of rec.connects.filter((c) => c.at >= killedAt)) {
      const name = nodeOf(c.node);
      reconnects[name] = (reconnects[name] ?? 0) + 1;
    }

    let rejoined: boolean | undefined;
    if (o.restartKilled) {
      log(`restarting ${cluster.nodes[leader]?.name}`);
      await cluster.restart(leader);
      const status = await cluster.ctl(leader, ['cluster_status', '--formatter', 'json']);
      const running = (JSON.parse(status) as { running_nodes: string[] }).running_nodes;
      rejoined = cluster.nodes.every((n) => running.includes(n.name));
    }

    const settled = [...rec.settled.keys()];
    return {
      sent: o.count,
      accepted: load.reduce((n, l) => n + l.accepted, 0),
      refusedBy: load.reduce<Record<string, number>>((acc, l) => {
        for (const [code, n] of Object.entries(l.refusedBy)) acc[code] = (acc[code] ?? 0) + n;
        return acc;
      }, {}),
      errors: load.reduce((n, l) => n + l.errors, 0),
      errorSamples: load.flatMap((l) => l.errorSamples),
      settled: settled.length,
      arrived: ids.size,
      missing: settled.filter((id) => !ids.has(id)),
      duplicates: [...ids.values()].filter((n) => n > 1).length,
      arrivedUnsettled: [...ids.keys()].filter((id) => !rec.settled.has(id)).length,
      killed: { node: cluster.nodes[leader]?.name ?? '?', gatewaysOn, newLeader },
      perSecond,
      killAtSecond: Math.round(killAt * 10) / 10,
      // After: from the second the rate came back to the end of the load (a quiet machine can
      // finish the load within seconds of the kill, so a fixed window could be empty).
      rates: {
        before,
        during: rate(killAt, Math.min(end, killAt + 5)),
        after: back < 0 ? 0 : rate(back, end),
      },
      recoverySeconds: back < 0 ? Number.POSITIVE_INFINITY : Math.max(0, back - killAt),
      reconnects,
      deferred: rec.deferred,
      ...(rejoined === undefined ? {} : { rejoined }),
      load,
    };
  } finally {
    await Promise.allSettled(gateways.map((g) => g.close()));
    await Promise.allSettled(classifiers.map((c) => c.close()));
  }
}
