import { chmod, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { disposer, instanceScript } from './instance-script.js';

const { run: script, start, stopper } = instanceScript('postfix-instance.sh', 10000);

export type PostfixMode = 'plain' | 'after-queue-smtp' | 'after-queue-lmtp' | 'before-queue' | 'pipe';
const usesFilter = (mode: PostfixMode) => mode !== 'plain' && mode !== 'pipe';

export interface StartPostfixOptions {
  mode: PostfixMode;
  /** Where Postfix relays every mail (relayhost). */
  sinkPort: number;
  /** Where the content filter listens; a free port (nobody listening) if omitted. */
  filterPort?: number;
  /** main.cf lines appended last (they override the mode's snippets), e.g. `smtpd_proxy_timeout = 3s`. */
  mainCf?: string[];
  /**
   * pipe: the command pipe(8) runs as nobody for each mail. A relative path names a file in the
   * instance's dir, which may be written after start: Postfix runs it only when mail comes.
   */
  pipeCommand?: string;
}

/** One entry of `postqueue -j`. */
export interface QueuedMail {
  queue_name: string; // maildrop | incoming | active | deferred | hold
  queue_id: string;
  arrival_time: number;
  message_size: number;
  forced_expire: boolean;
  sender: string;
  recipients: Array<{ address: string; delay_reason?: string }>;
}

export interface PostfixInstance {
  dir: string;
  mode: PostfixMode;
  /** The smtpd that clients submit to (content_filter applies in after-queue-smtp). */
  publicPort: number;
  /** An smtpd without content_filter: where a filter reinjects (open in both modes). */
  reinjectPort: number;
  filterPort: number | undefined;
  sinkPort: number;
  maillog(): Promise<string>;
  queue(): Promise<QueuedMail[]>;
  /** postqueue -f: retry deferred mail now. */
  flush(): Promise<void>;
  /** Resolves with the first maillog line matching re (anywhere in the log); rejects after timeoutMs. */
  waitForLog(re: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
  /** stop() and remove dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a private Postfix (scripts/postfix-instance.sh) in a fresh temp dir; dispose it to stop and remove. */
export async function startPostfix(opts: StartPostfixOptions): Promise<PostfixInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'psf-postfix-'));
  await chmod(dir, 0o755); // mkdtemp makes 700, but the postfix user must reach the queue inside
  const { mode, sinkPort } = opts;
  const ports = await start(
    dir,
    (ports) => {
      if (opts.filterPort !== undefined) ports[2] = opts.filterPort;
      const args = ['start', dir, '--mode', mode, '--public', `${ports[0]}`, '--sink', `${sinkPort}`];
      args.push('--reinject', `${ports[1]}`, ...(usesFilter(mode) ? ['--filter', `${ports[2]}`] : []));
      for (const line of opts.mainCf ?? []) args.push('--main-cf', line);
      if (opts.pipeCommand) args.push('--pipe-command', resolve(dir, opts.pipeCommand));
      return args;
    },
    { ports: 3, timeoutMs: 30_000 },
  );

  const maillog = () => readFile(join(dir, 'maillog'), 'utf8').catch(() => '');
  const stop = stopper(dir);
  return {
    dir,
    mode,
    publicPort: ports[0] as number,
    reinjectPort: ports[1] as number,
    filterPort: usesFilter(mode) ? ports[2] : undefined,
    sinkPort,
    maillog,
    async queue() {
      const out = await script(['queue', dir]);
      return out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as QueuedMail);
    },
    async flush() {
      await script(['flush', dir]);
    },
    async waitForLog(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const log = await maillog();
        const line = log.split('\n').find((l) => l.search(re) >= 0);
        if (line !== undefined) return line;
        if (Date.now() > deadline) {
          const tail = log.trimEnd().split('\n').slice(-20).join('\n');
          throw new Error(
            `postfix: no maillog line matched ${re} within ${timeoutMs} ms; tail of ${dir}/maillog:\n${tail}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
