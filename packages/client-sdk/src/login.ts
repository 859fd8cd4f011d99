import { PsfError } from '@psf/protocol';
import { type Classifier, type ClassifierOptions, startClassifier } from './classifier.js';

export interface ConnectOptions extends Omit<ClassifierOptions, 'url' | 'queue' | 'credentials'> {
  /** The psf token API, e.g. https://mail.example.org/psf (its /v1/login is used). */
  api: string;
  /** Your mail login (LDAP user name or address) and password. */
  username: string;
  password: string;
}

/** A classifier started from the token API: it keeps its token fresh until closed. */
export interface ClientSession {
  owner: string;
  queue: string;
  classifier: Classifier;
  close(): Promise<void>;
}

interface Login {
  token: string;
  expiresAt: number;
  owner: string;
  amqp: { url: string; username: string; queue: string };
}

async function call<T>(url: string, init: RequestInit): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  } catch (cause) {
    throw new PsfError('BROKER_UNAVAILABLE', `token API not reachable at ${url}`, { cause });
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
}

/**
 * Logs in to the token API with your mail password, then consumes your queue with the token as
 * AMQP password. The token is refreshed before it expires (by logging in again if need be), and
 * every reconnection uses the current one.
 *
 * @example
 * ```ts
 * const session = await connect({ api: 'https://mail.example.org/psf', username: 'alice',
 *   password: process.env.MAIL_PASSWORD!, handler: (mail) => ({ v: 1, action: 'accept' }) });
 * ```
 */
export async function connect(options: ConnectOptions): Promise<ClientSession> {
  const { api, username, password, ...rest } = options;
  const base = api.replace(/\/+$/, '');
  const login = async (): Promise<Login> => {
    const { status, body } = await call<Login & { error?: string }>(`${base}/v1/login`, {
      method: 'POST',
      body: JSON.stringify({ username, password }),
    });
    if (status !== 200) {
      const code = status === 401 || status === 400 ? 'CONFIG' : 'BROKER_UNAVAILABLE';
      throw new PsfError(code, `login refused (${status}): ${body.error ?? 'no reason given'}`);
    }
    return body;
  };
  let session = await login();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const refresh = async () => {
    const { status, body } = await call<{ token: string; expiresAt: number }>(`${base}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}` },
    }).catch(() => ({ status: 0, body: undefined }));
    if (status === 200 && body) session = { ...session, ...body };
    else if (status === 401) session = await login().catch(() => session);
  };
  const schedule = () => {
    if (closed) return;
    // Halfway to expiry: room for a retry or two when the API is briefly away.
    const wait = Math.max(1000, (session.expiresAt - Date.now()) / 2);
    timer = setTimeout(() => void refresh().finally(schedule), wait);
    timer.unref();
  };
  const classifier = await startClassifier({
    ...rest,
    url: session.amqp.url,
    queue: session.amqp.queue,
    credentials: () => ({ username: session.amqp.username, password: session.token }),
  });
  schedule();
  return {
    owner: session.owner,
    queue: session.amqp.queue,
    classifier,
    async close() {
      closed = true;
      clearTimeout(timer);
      await classifier.close();
    },
  };
}
