import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceScript } from './instance-script.js';
import { freePort } from './net.js';

const { run: script, running } = instanceScript('rabbitmq-node.sh', 40000);

export interface StartRabbitNodeOptions {
  /** Plugins to enable, e.g. `rabbitmq_auth_backend_http` (management: see `management`). */
  plugins?: string[];
  /** Enables rabbitmq_management on a free port (`managementPort`). Stopping then takes ~6 s, not ~1 s. */
  management?: boolean;
  /** rabbitmq.conf lines appended to the generated ones (listeners), e.g. `auth_backends.1 = internal`. */
  extraConf?: string;
  /** The whole advanced.config (Erlang terms), e.g. rabbitmq_auth_backend_ldap's queries. */
  advancedConfig?: string;
}

export interface RabbitNode {
  /** `psftest-<random>@localhost`. */
  name: string;
  /** Config, cookie, mnesia and logs (`log/`); removed on dispose. */
  dir: string;
  amqpPort: number;
  /** The management HTTP API (guest:guest), if `management` was asked for. */
  managementPort: number | undefined;
  /** amqp URL for guest (allowed: loopback), default vhost. */
  url: string;
  /** rabbitmqctl against this node (its own cookie); resolves with stdout. */
  ctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
  /** stop() and remove dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

// rabbitmqctl listens on one of 35672-35682 for the node's reply (the range is fixed, whatever the
// node's ports): a node must not take those, or concurrent CLI calls fail.
const cliPort = (p: number) => p >= 35672 && p <= 35682;

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) {
    const p = await freePort();
    if (!cliPort(p)) ports.add(p);
  }
  return [...ports];
}

/**
 * A private RabbitMQ node (scripts/rabbitmq-node.sh) beside the shared broker, on free ports in a
 * fresh temp dir; dispose it to stop and remove. Boots in 5-8 s: share one per test file.
 */
export async function startRabbitNode(opts: StartRabbitNodeOptions = {}): Promise<RabbitNode> {
  // The node runs as us (root): the dir can stay 700, which the cookie wants anyway.
  const dir = await mkdtemp(join(tmpdir(), 'psf-rabbit-'));
  const name = `psftest-${randomBytes(6).toString('hex')}@localhost`;
  let ports: number[] = [];
  try {
    if (opts.extraConf !== undefined) await writeFile(join(dir, 'extra.conf'), `${opts.extraConf}\n`);
    if (opts.advancedConfig !== undefined) await writeFile(join(dir, 'advanced.config'), opts.advancedConfig);
    // freePort() can race another bind: a node that finds a port taken dies at boot (eaddrinuse,
    // after ~7 s); retry with new ports.
    for (let attempt = 1; ; attempt++) {
      ports = await freePorts(3);
      const mgmt = opts.management ? `${ports[2]}` : '0';
      const args = ['start', name, `${ports[0]}`, `${ports[1]}`, mgmt, dir, ...(opts.plugins ?? [])];
      try {
        running.add(dir);
        await script(args, 90_000);
        break;
      } catch (err) {
        if (attempt >= 2 || !/eaddrinuse/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    await script(['stop', dir], 40_000).catch(() => {});
    running.delete(dir);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= script(['stop', dir], 40_000).then(() => {
      running.delete(dir);
    });
    return stopped;
  };
  const amqpPort = ports[0] as number;
  return {
    name,
    dir,
    amqpPort,
    managementPort: opts.management ? ports[2] : undefined,
    url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    ctl: (args) => script(['ctl', name, dir, ...args], 60_000),
    stop,
    async [Symbol.asyncDispose]() {
      try {
        await stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
