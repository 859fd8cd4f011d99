import {
  DEFAULT_EXCHANGE,
  isPsfError,
  isValidOwner,
  PsfError,
  USER_QUEUE_PREFIX,
  userQueue,
} from '@psf/protocol';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { amqpUrls } from './amqp-urls.js';
import type { Management, Permissions } from './management.js';
import { assertTopology, assertUserQueue, type TopologyOptions } from './topology.js';

/** RabbitMQ's name for the default exchange in permission checks (where replies are published). */

/** What a provisioning call found and did; entries read `vhost psf`, `queue psf.default`, `user alice`. */
export interface ProvisioningReport {
  created: string[];
  existing: string[];
  /**
   * Exchanges and queues that exist with other arguments than these options declare. They are
   * left as they are: RabbitMQ cannot change them (delete one, messages and all, to redeclare it).
   */
  different: string[];
}

export interface InstallOptions {
  management: Management;
  /** The administrator's AMQP URL (or cluster nodes' URLs, comma-separated); its vhost is replaced by `vhost`. */
  amqpUrl: string;
  vhost: string;
  /** Must match what the gateways declare (`topologySetup`), or one of them is refused. */
  topology?: TopologyOptions;
}

export interface AddUserOptions extends InstallOptions {
  /** The owner id: routing key, queue-name suffix and broker user name. */
  owner: string;
  /**
   * The user's password for RabbitMQ's internal backend. Leave it out when the HTTP or LDAP auth
   * backend checks logins: the user then has no password (`password_hash: ''`), and only the
   * permissions below apply (`auth_backends.N.authn = http|ldap` with `authz = internal`).
   */
  password?: string;
}

export interface AddUserReport extends ProvisioningReport {
  permissions: Permissions;
}

export interface UserOptions {
  management: Management;
  vhost: string;
  owner: string;
}

export interface RemoveUserReport {
  removed: string[];
  missing: string[];
}

export interface UserQueueInfo {
  owner: string;
  queue: string;
  /** As of the management plugin's last statistics sample (`collect_statistics_interval`, 5 s). */
  messages: number;
  consumers: number;
}

/**
 * Creates the vhost if missing, gives full rights there to the management user and to
 * `amqpUrl`'s user (who declares the topology), and declares the topology. Safe to rerun.
 */
export async function install(options: InstallOptions): Promise<ProvisioningReport> {
  const { management, vhost } = options;
  const report: ProvisioningReport = { created: [], existing: [], different: [] };
  ((await management.putVhost(vhost)) ? report.created : report.existing).push(`vhost ${vhost}`);
  for (const user of new Set([management.username, amqpUser(options.amqpUrl)]))
    await management.setPermissions(vhost, user, { configure: '.*', write: '.*', read: '.*' });
  await declare(options, (ch) => assertTopology(ch, options.topology), report);
  return report;
}

/**
 * What an owner's broker user may do: configure nothing, publish only to the default exchange
 * (replies), consume only their own queue. Patterns, so the owner id is escaped.
 */
export function userPermissions(owner: string): Permissions {
  return { configure: '^$', write: exactly(DEFAULT_EXCHANGE), read: exactly(userQueue(owner)) };
}

/**
 * Makes `owner` a broker user with `userPermissions(owner)` in the vhost, then declares their
 * queue `psf.user.<owner>` (bound to psf.scan by the owner id), which routes their mail to it.
 * Rerunning it sets the password again (or removes it, when none is given).
 */
export async function addUser(options: AddUserOptions): Promise<AddUserReport> {
  const { management, vhost, owner } = options;
  checkOwner(owner);
  if (!(await management.hasVhost(vhost)))
    throw new PsfError('CONFIG', `vhost ${vhost} does not exist: run install first`);
  const report: ProvisioningReport = { created: [], existing: [], different: [] };
  ((await management.putUser(owner, options.password)) ? report.created : report.existing).push(
    `user ${owner}`,
  );
  const permissions = userPermissions(owner);
  await management.setPermissions(vhost, owner, permissions);
  // The queue last: from then on the owner's mail waits for their classifier.
  await declare(options, (ch) => assertUserQueue(ch, owner, options.topology), report);
  return { ...report, permissions };
}

/**
 * Deletes the owner's broker user (RabbitMQ closes their connections) and their queue with the
 * requests in it; their mail falls back to psf.default. Their quarantine is kept.
 */
export async function removeUser({ management, vhost, owner }: UserOptions): Promise<RemoveUserReport> {
  checkOwner(owner);
  const report: RemoveUserReport = { removed: [], missing: [] };
  ((await management.deleteUser(owner)) ? report.removed : report.missing).push(`user ${owner}`);
  const queue = userQueue(owner);
  ((await management.deleteQueue(vhost, queue)) ? report.removed : report.missing).push(`queue ${queue}`);
  return report;
}

/** Owners with a personal queue in the vhost, with its message and consumer counts. */
export async function listUsers(options: Omit<UserOptions, 'owner'>): Promise<UserQueueInfo[]> {
  const queues = await options.management.listQueues(options.vhost);
  return queues
    .filter((q) => q.name.startsWith(USER_QUEUE_PREFIX))
    .map(({ name, messages, consumers }) => ({
      owner: name.slice(USER_QUEUE_PREFIX.length),
      queue: name,
      messages,
      consumers,
    }));
}

function checkOwner(owner: string): void {
  if (!isValidOwner(owner)) throw new PsfError('CONFIG', `invalid owner id ${JSON.stringify(owner)}`);
}

// RabbitMQ matches permissions with Erlang's re (PCRE): a name must match itself only.
function exactly(name: string): string {
  return `^${name.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')}$`;
}

function amqpUser(amqpUrl: string): string {
  return decodeURIComponent(new URL(amqpUrls(amqpUrl)[0] as string).username) || 'guest'; // amqplib's default
}

interface Step {
  method: string;
  args: unknown[];
}

/**
 * Runs `declarations` (assertTopology, assertUserQueue: the one description of the topology)
 * against a recorder, then replays it over AMQP one exchange or queue at a time: each is looked
 * up first (created or existing?), and one that RabbitMQ refuses for other arguments (406
 * PRECONDITION_FAILED, which closes the channel) is reported as different instead of stopping
 * the rest. RabbitMQ itself decides what counts as different.
 */
async function declare(
  options: InstallOptions,
  declarations: (ch: Channel) => Promise<unknown>,
  report: ProvisioningReport,
): Promise<void> {
  const steps: Step[] = [];
  const recorder = new Proxy(
    {},
    {
      get:
        (_, method) =>
        (...args: unknown[]) => {
          steps.push({ method: String(method), args });
          return Promise.resolve({});
        },
    },
  );
  await declarations(recorder as Channel);

  const model = await connect(options.amqpUrl, options.vhost);
  try {
    let ch = await channel(model);
    for (const step of steps) {
      const kind =
        step.method === 'assertQueue' ? 'queue' : step.method === 'assertExchange' ? 'exchange' : undefined;
      if (!kind) {
        await run(ch, step);
        continue;
      }
      const name = String(step.args[0]);
      const existed = await options.management.has(kind, options.vhost, name);
      try {
        await run(ch, step);
        (existed ? report.existing : report.created).push(`${kind} ${name}`);
      } catch (err) {
        if ((err as { code?: number }).code !== 406) throw err;
        report.different.push(`${kind} ${name}`);
        ch = await channel(model);
      }
    }
    await ch.close();
  } finally {
    await model.close().catch(() => {});
  }
}

async function run(ch: Channel, { method, args }: Step): Promise<void> {
  try {
    await Reflect.apply(Reflect.get(ch, method) as (...a: unknown[]) => Promise<unknown>, ch, args);
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 406) throw err;
    throw new PsfError(
      code === 403 ? 'CONFIG' : 'BROKER_UNAVAILABLE',
      `RabbitMQ refused ${method} ${String(args[0])}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

async function channel(model: ChannelModel): Promise<Channel> {
  const ch = await model.createChannel();
  ch.on('error', () => {}); // reported again by the refused call
  return ch;
}

/** The first cluster node that answers. */
async function connect(amqpUrl: string, vhost: string): Promise<ChannelModel> {
  const urls = amqpUrls(amqpUrl);
  for (const [i, url] of urls.entries()) {
    try {
      return await connectOne(url, vhost);
    } catch (err) {
      if (isPsfError(err, 'CONFIG') || i === urls.length - 1) throw err;
    }
  }
  throw new PsfError('CONFIG', 'no AMQP URL'); // amqpUrls() returns at least one
}

async function connectOne(amqpUrl: string, vhost: string): Promise<ChannelModel> {
  const url = new URL(amqpUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  const where = `${url.protocol}//${url.host}${url.pathname}`; // without the password
  let model: ChannelModel;
  try {
    model = await amqp.connect(url.toString(), { timeout: 10_000 });
  } catch (err) {
    const message = (err as Error).message;
    // 403 at login; a vhost the user may not open closes the connection before OpenOk.
    if (/ACCESS.REFUSED|ConnectionClose/.test(message))
      throw new PsfError('CONFIG', `RabbitMQ at ${where} refused user ${amqpUser(amqpUrl)}: ${message}`, {
        cause: err,
      });
    throw new PsfError('BROKER_UNAVAILABLE', `RabbitMQ not reachable at ${where}: ${message}`, {
      cause: err,
    });
  }
  model.on('error', () => {}); // a lost connection also rejects the call in flight
  return model;
}
