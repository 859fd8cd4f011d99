import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposer, instanceScript } from './instance-script.js';

const { run: script, start, stopper } = instanceScript('rabbitmq-node.sh', 40000);

export interface StartRabbitNodeOptions {
  /** Plugins to enable, e.g. `rabbitmq_auth_backend_http` (management: see `management`). */
  plugins?: string[];
  /** Enables rabbitmq_management on a free port (`managementPort`). Stopping then takes ~6 s, not ~1 s. */
  management?: boolean;
  /** rabbitmq.conf lines appended to the generated ones (listeners), e.g. `auth_backends.1 = internal`. */
  extraConf?: string;
  /** The whole advanced.config (Erlang terms), e.g. rabbitmq_auth_backend_ldap's queries. */
  advancedConfig?: string;
  /** Erlang VM arguments added to the node's, e.g. `+sbwt none` (schedulers do not busy-wait). */
  erlArgs?: string;
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
  /** kill -9 the node (a crash: no clean shutdown); resolves once it is gone. */
  kill(): Promise<void>;
  /** Boots the node again with the same name, ports and dir (its queues and users kept). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** stop() and remove dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A private RabbitMQ node (scripts/rabbitmq-node.sh) beside the shared broker, on free ports in a
 * fresh temp dir; dispose it to stop and remove. Boots in 5-8 s: share one per test file.
 */
export async function startRabbitNode(opts: StartRabbitNodeOptions = {}): Promise<RabbitNode> {
  // The node runs as us (root): the dir can stay 700, which the cookie wants anyway.
  const dir = await mkdtemp(join(tmpdir(), 'psf-rabbit-'));
  const name = `psftest-${randomBytes(6).toString('hex')}@localhost`;
  let startArgs: string[] = [];
  if (opts.extraConf !== undefined) await writeFile(join(dir, 'extra.conf'), `${opts.extraConf}\n`);
  if (opts.advancedConfig !== undefined) await writeFile(join(dir, 'advanced.config'), opts.advancedConfig);
  if (opts.erlArgs !== undefined) await writeFile(join(dir, 'erl-args'), opts.erlArgs);
  // A node that finds a port taken dies at boot (eaddrinuse, after ~7 s).
  const ports = await start(
    dir,
    (ports) => {
      const mgmt = opts.management ? `${ports[2]}` : '0';
      startArgs = ['start', name, `${ports[0]}`, `${ports[1]}`, mgmt, dir, ...(opts.plugins ?? [])];
      return startArgs;
    },
    { ports: 3, timeoutMs: 90_000, clash: /eaddrinuse/, attempts: 2 },
  );

  const stop = stopper(dir);
  const amqpPort = ports[0] as number;
  return {
    name,
    dir,
    amqpPort,
    managementPort: opts.management ? ports[2] : undefined,
    url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    ctl: (args) => script(['ctl', name, dir, ...args], 60_000),
    async kill() {
      const pid = Number((await readFile(join(dir, 'node.pid'), 'utf8')).trim());
      process.kill(pid, 'SIGKILL');
      // Gone, or a zombie its reaper has not collected yet (its ports and files are free).
      const gone = () =>
        readFile(`/proc/${pid}/stat`, 'utf8').then(
          (s) => / Z /.test(s),
          () => true,
        );
      for (let i = 0; i < 100; i++) {
        if (await gone()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`rabbitmq node ${name} (pid ${pid}) still there 5 s after kill -9`);
    },
    restart: () => script(startArgs, 90_000).then(() => {}),
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
