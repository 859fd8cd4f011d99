import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposer, freePorts, instanceScript } from './instance-script.js';

const { run: script, running } = instanceScript('rabbitmq-cluster.sh', 60000);

export interface StartRabbitClusterOptions {
  /** rabbitmq_management on every node (`managementPort`); stopping then takes ~6 s more. */
  management?: boolean;
}

export interface ClusterNode {
  /** `psf-c<i>-<random>@localhost`. */
  name: string;
  amqpPort: number;
  managementPort: number | undefined;
  /** amqp URL for guest (allowed: loopback), default vhost. */
  url: string;
}

export interface RabbitCluster {
  /** Nodes 1-3 (index 0-2); node 1 is the one the others joined. */
  nodes: ClusterNode[];
  /** Per node `c<i>/` (cookie, mnesia, `log/`); removed on dispose. */
  dir: string;
  /** The three nodes' URLs joined by commas, with `vhost` as path: what psf's amqpUrl takes. */
  urls(vhost?: string): string;
  /** rabbitmqctl against node `i` (0-2); resolves with stdout. */
  ctl(i: number, args: string[]): Promise<string>;
  /** kill -9 node `i`. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again (after kill); it rejoins the cluster by itself. */
  restart(i: number): Promise<void>;
  /** The node leading quorum queue `queue` in `vhost` (0-2), as any live node sees it. */
  leaderOf(queue: string, vhost?: string): Promise<number>;
  stop(): Promise<void>;
  /** stop() and remove dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Three private RabbitMQ nodes clustered (scripts/rabbitmq-cluster.sh: shared cookie, own names
 * and ports on 127.0.0.1), beside the shared broker; dispose it to stop them and remove the dir.
 * Boot and joins take ~35 s: share one per test file.
 */
export async function startRabbitCluster(opts: StartRabbitClusterOptions = {}): Promise<RabbitCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'psf-cluster-'));
  const down = () => script(['down', dir], 120_000);
  try {
    // freePort() can race another bind: a node that finds its port taken dies at boot; retry.
    for (let attempt = 1; ; attempt++) {
      const p = await freePorts(9);
      const triples = [0, 1, 2].map(
        (i) => `${p[3 * i]}:${p[3 * i + 1]}:${opts.management ? p[3 * i + 2] : 0}`,
      );
      running.add(dir);
      try {
        await script(['up', dir, ...triples], 180_000);
        break;
      } catch (err) {
        await down().catch(() => {});
        if (attempt >= 2 || !/eaddrinuse/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    running.delete(dir);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const nodes = (await readFile(join(dir, 'nodes'), 'utf8'))
    .trim()
    .split('\n')
    .map((line): ClusterNode => {
      const [name = '', amqp, , mgmt] = line.split(' ');
      return {
        name,
        amqpPort: Number(amqp),
        managementPort: mgmt === '0' ? undefined : Number(mgmt),
        url: `amqp://guest:guest@127.0.0.1:${amqp}`,
      };
    });
  const ctl = (i: number, args: string[]) => script(['ctl', dir, `${i + 1}`, ...args], 60_000);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= down().then(() => {
      running.delete(dir);
    });
    return stopped;
  };
  return {
    nodes,
    dir,
    urls: (vhost = '') => nodes.map((n) => `${n.url}/${encodeURIComponent(vhost)}`).join(','),
    ctl,
    kill: async (i) => {
      await script(['kill', dir, `${i + 1}`]);
    },
    restart: async (i) => {
      await script(['start', dir, `${i + 1}`], 120_000);
    },
    leaderOf: async (queue, vhost = '/') => {
      const args = ['list_queues', '-p', vhost, 'name', 'leader', '-q', '--no-table-headers'];
      // Any live node answers for the cluster.
      const out = await ctl(0, args).catch(() => ctl(1, args).catch(() => ctl(2, args)));
      const leader = out
        .split('\n')
        .map((l) => l.split('\t'))
        .find(([name]) => name === queue)?.[1];
      const i = nodes.findIndex((n) => n.name === leader?.trim());
      if (i < 0) throw new Error(`no leader for ${queue} in ${JSON.stringify(out)}`);
      return i;
    },
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
