import { PsfError } from '@psf/protocol';

export interface ManagementOptions {
  /** Base URL of RabbitMQ's management plugin, e.g. `http://127.0.0.1:15672`. */
  url: string;
  /** A user with the `administrator` tag. */
  username: string;
  password: string;
  /** Per request. Default 10 000. */
  timeoutMs?: number;
}

/** What the management API tells about a queue (counts as of its last statistics sample). */
export interface QueueInfo {
  name: string;
  messages: number;
  consumers: number;
}

/** What a user may do in a vhost: three regular expressions over resource names. */
export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

/**
 * A small client of RabbitMQ's management HTTP API (the rabbitmq_management plugin): the calls
 * provisioning needs, over the global `fetch`. Failures are PsfErrors: BROKER_UNAVAILABLE when
 * the API cannot be reached or fails, CONFIG when it refuses the credentials or the request.
 */
export class Management {
  readonly url: string;
  readonly username: string;
  readonly #base: URL;
  readonly #auth: string;
  readonly #timeoutMs: number;

  constructor(options: ManagementOptions) {
    const base = new URL(options.url);
    // fetch refuses URLs with credentials, with an error that reads like a network failure.
    if (base.username || base.password)
      throw new PsfError('CONFIG', 'give the management API credentials apart, not in its URL');
    if (!base.pathname.endsWith('/')) base.pathname += '/'; // keeps a management.path_prefix
    this.#base = base;
    this.url = base.origin + base.pathname.replace(/\/$/, '');
    this.username = options.username;
    this.#auth = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Creates the vhost; false when it already existed. */
  async putVhost(vhost: string): Promise<boolean> {
    return (await this.#request('PUT', ['vhosts', vhost], {})).status === 201;
  }

  async hasVhost(vhost: string): Promise<boolean> {
    return (await this.#request('GET', ['vhosts', vhost], undefined, [404])).status === 200;
  }

  /** Whether the queue or exchange exists. */
  async has(kind: 'queue' | 'exchange', vhost: string, name: string): Promise<boolean> {
    return (await this.#request('GET', [`${kind}s`, vhost, name], undefined, [404])).status === 200;
  }

  async listQueues(vhost: string): Promise<QueueInfo[]> {
    const { status, body } = await this.#request(
      'GET',
      ['queues', vhost],
      undefined,
      [404],
      'columns=name,messages,consumers',
    );
    if (status === 404) throw new PsfError('CONFIG', `vhost ${vhost} does not exist`);
    // A queue the statistics collector has not sampled yet comes without counts.
    return (body as Array<Partial<QueueInfo> & { name: string }>).map((q) => ({
      name: q.name,
      messages: q.messages ?? 0,
      consumers: q.consumers ?? 0,
    }));
  }

  /** Deletes the queue, messages and all; false when there was none. */
  async deleteQueue(vhost: string, name: string): Promise<boolean> {
    return (await this.#request('DELETE', ['queues', vhost, name], undefined, [404])).status === 204;
  }

  /**
   * Creates or updates a user without tags. Without a password the user gets none
   * (`password_hash: ''`): RabbitMQ's internal backend then never logs them in, another
   * backend (HTTP, LDAP) must. Resolves false when the user already existed.
   */
  async putUser(name: string, password?: string): Promise<boolean> {
    const body = password === undefined ? { password_hash: '', tags: '' } : { password, tags: '' };
    return (await this.#request('PUT', ['users', name], body)).status === 201;
  }

  /** Deletes the user (RabbitMQ closes their connections); false when there was none. */
  async deleteUser(name: string): Promise<boolean> {
    return (await this.#request('DELETE', ['users', name], undefined, [404])).status === 204;
  }

  async setPermissions(vhost: string, user: string, permissions: Permissions): Promise<void> {
    await this.#request('PUT', ['permissions', vhost, user], permissions);
  }

  async #request(
    method: string,
    segments: string[],
    body?: unknown,
    expected: number[] = [],
    query?: string,
  ): Promise<{ status: number; body: unknown }> {
    const url = new URL(`api/${segments.map(encodeURIComponent).join('/')}`, this.#base);
    if (query) url.search = query;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: this.#auth,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as Error).cause as (Error & { code?: string }) | undefined;
      const why =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new PsfError(
        'BROKER_UNAVAILABLE',
        `management API not reachable at ${this.url} (${why}): is rabbitmq_management enabled? ` +
          '(rabbitmq-plugins enable rabbitmq_management)',
        { cause: err },
      );
    }
    const text = await res.text();
    if (res.ok || expected.includes(res.status))
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    const reason = apiReason(text) ?? res.statusText;
    const what = `${method} ${url.pathname}`;
    if (res.status === 401 || res.status === 403)
      throw new PsfError(
        'CONFIG',
        `management API at ${this.url} refused user ${this.username} (${res.status} ${reason}): ` +
          'wrong credentials, or the user lacks the administrator tag',
      );
    if (res.status >= 500)
      throw new PsfError('BROKER_UNAVAILABLE', `management API failed on ${what}: ${res.status} ${reason}`);
    throw new PsfError('CONFIG', `management API refused ${what}: ${res.status} ${reason}`);
  }
}

// The API answers errors as JSON `{ error, reason }`; reason is sometimes an Erlang term.
function apiReason(text: string): string | undefined {
  try {
    const { reason } = JSON.parse(text) as { reason?: unknown };
    return reason === undefined ? undefined : typeof reason === 'string' ? reason : JSON.stringify(reason);
  } catch {
    return undefined;
  }
}
