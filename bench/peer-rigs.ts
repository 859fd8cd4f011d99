// The filters bench/peers.ts compares, each behind its own private Postfix relaying to its own sink:
// Postfix alone, amavisd-new (checks bypassed; embedded SpamAssassin), rspamd's milter, and psf
// (no-op classifier; psf-classify's SpamAssassin bridge to a private spamd).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Gateway, startGateway } from '@psf/gateway';
import { DEFAULT_QUEUE } from '@psf/protocol';
import {
  createVhost,
  freePort,
  type PostfixInstance,
  type Sink,
  startPostfix,
  startRspamd,
  startSink,
  startSpamd,
} from '@psf/testkit';
import { startAmavisd } from './amavisd.js';
import { listenerPid, rabbitPid, startChildClassifier } from './lib.js';

export const TARGETS = ['baseline', 'amavisd', 'amavisd-sa', 'rspamd-milter', 'psf-noop', 'psf-sa'] as const;
export type Target = (typeof TARGETS)[number];

/** Processes whose CPU a run is charged with, besides the bench process and Postfix (pid 0: none). */
export interface RigPids {
  /** The filter: amavisd's master, rspamd's main process, psf's classifier. */
  filter: number;
  /** psf-sa: the spamd the classifier asks. */
  spamd: number;
  /** psf: the shared broker (its CPU includes others' load). */
  broker: number;
}

export interface Rig {
  target: Target;
  postfix: PostfixInstance;
  sink: Sink;
  pids: RigPids;
  /** Warnings and errors the filter logged (gateway, classifier). */
  warnings(): Promise<number>;
}

export interface RigOptions {
  /** amavisd's prefork children; spamd runs 4 (scripts/spamd-instance.sh). */
  children: number;
  /** Added as the rig's resources come up; the caller runs them in reverse at the end. */
  cleanups: Array<() => Promise<void>>;
}

const NONE: RigPids = { filter: 0, spamd: 0, broker: 0 };

/** A gateway logger that only counts warnings and errors: its per-mail info lines are not the point. */
function countingLogger() {
  const counter = { n: 0 };
  const count = () => {
    counter.n++;
  };
  return { counter, logger: { debug() {}, info() {}, warn: count, error: count } };
}

async function sinkFor(o: RigOptions): Promise<Sink> {
  const sink = await startSink();
  o.cleanups.push(() => sink.close());
  return sink;
}

async function postfixFor(o: RigOptions, ...args: Parameters<typeof startPostfix>): Promise<PostfixInstance> {
  const pf = await startPostfix(...args);
  o.cleanups.push(() => pf[Symbol.asyncDispose]());
  return pf;
}

async function baseline(o: RigOptions): Promise<Rig> {
  const sink = await sinkFor(o);
  const postfix = await postfixFor(o, { mode: 'plain', sinkPort: sink.port });
  return { target: 'baseline', postfix, sink, pids: NONE, warnings: async () => 0 };
}

async function amavisd(o: RigOptions, spamassassin: boolean): Promise<Rig> {
  const sink = await sinkFor(o);
  const port = await freePort();
  // Postfix's scan transport opens at most as many sessions as amavisd has children.
  const postfix = await postfixFor(o, {
    mode: 'after-queue-smtp',
    sinkPort: sink.port,
    filterPort: port,
    mainCf: [`scan_destination_concurrency_limit = ${o.children}`],
  });
  const daemon = await startAmavisd({
    port,
    forwardPort: postfix.reinjectPort,
    spamassassin,
    children: o.children,
  });
  o.cleanups.push(() => daemon.stop());
  return {
    target: spamassassin ? 'amavisd-sa' : 'amavisd',
    postfix,
    sink,
    pids: { ...NONE, filter: daemon.pid },
    warnings: async () => 0,
  };
}

async function rspamdMilter(o: RigOptions): Promise<Rig> {
  const sink = await sinkFor(o);
  const rspamd = await startRspamd({ milter: true });
  o.cleanups.push(() => rspamd[Symbol.asyncDispose]());
  const postfix = await postfixFor(o, {
    mode: 'plain',
    sinkPort: sink.port,
    mainCf: [
      `smtpd_milters = inet:127.0.0.1:${rspamd.milterPort}`,
      'milter_protocol = 6',
      // A milter that fails must show as refused mail, not pass silently.
      'milter_default_action = tempfail',
      'milter_mail_macros = i {mail_addr} {client_addr} {client_name} {auth_authen}',
    ],
  });
  return {
    target: 'rspamd-milter',
    postfix,
    sink,
    pids: { ...NONE, filter: listenerPid(rspamd.milterPort as number) },
    warnings: async () => 0,
  };
}

/** Postfix (after-queue SMTP) -> gateway in this process -> RabbitMQ (own vhost): the classifier comes next. */
async function psfChain(
  o: RigOptions,
): Promise<{ postfix: PostfixInstance; sink: Sink; url: string; gw: () => number }> {
  const sink = await sinkFor(o);
  const vhost = await createVhost();
  o.cleanups.push(() => vhost.close());
  const filterPort = await freePort();
  const postfix = await postfixFor(o, { mode: 'after-queue-smtp', sinkPort: sink.port, filterPort });
  const { counter, logger } = countingLogger();
  const gateway: Gateway = await startGateway({
    amqpUrl: vhost.url,
    listen: { port: filterPort },
    reinject: { port: postfix.reinjectPort },
    timeoutMs: 10_000,
    logger,
  });
  o.cleanups.push(() => gateway.close());
  await gateway.ready(10_000); // psf.default declared before a classifier consumes it
  return { postfix, sink, url: vhost.url, gw: () => counter.n };
}

async function psfNoop(o: RigOptions): Promise<Rig> {
  const chain = await psfChain(o);
  const classifier = await startChildClassifier(chain.url, DEFAULT_QUEUE, 'noop', 16);
  o.cleanups.push(() => classifier.stop());
  return {
    target: 'psf-noop',
    postfix: chain.postfix,
    sink: chain.sink,
    pids: { ...NONE, filter: classifier.pid, broker: rabbitPid() },
    warnings: async () => chain.gw(),
  };
}

/** psf-classify (built dist, as deployed) with kind spamassassin, asking a private spamd. */
async function psfSpamAssassin(o: RigOptions): Promise<Rig> {
  const chain = await psfChain(o);
  const spamd = await startSpamd();
  o.cleanups.push(() => spamd[Symbol.asyncDispose]());
  const dir = await mkdtemp(join(tmpdir(), 'psf-peers-classify-'));
  o.cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'classify.json');
  await writeFile(
    config,
    JSON.stringify({
      kind: 'spamassassin',
      amqpUrl: chain.url,
      spamassassin: { address: `${spamd.host}:${spamd.port}` },
    }),
  );
  const log = join(dir, 'classify.log');
  const cli = fileURLToPath(new URL('../packages/classifiers/dist/cli.js', import.meta.url));
  const out = openSync(log, 'a');
  const child: ChildProcess = spawn(process.execPath, [cli, 'run', '-c', config], {
    stdio: ['ignore', out, out],
  });
  const exited = once(child, 'exit');
  o.cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  });
  const lines = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n');
  const deadline = Date.now() + 30_000;
  while (!(await lines()).some((l) => l.includes('"event":"ready"'))) {
    if (child.exitCode !== null) throw new Error(`psf-classify exited: ${(await lines()).join('\n')}`);
    if (Date.now() > deadline) throw new Error('psf-classify not ready within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    target: 'psf-sa',
    postfix: chain.postfix,
    sink: chain.sink,
    pids: { filter: child.pid as number, spamd: listenerPid(spamd.port), broker: rabbitPid() },
    // pino levels: 40 warn, 50 error.
    warnings: async () => chain.gw() + (await lines()).filter((l) => /"level":(4|5)\d/.test(l)).length,
  };
}

/** Starts the rig of `target`; everything it started is in `o.cleanups`, even if it fails half-way. */
export function startRig(target: Target, o: RigOptions): Promise<Rig> {
  switch (target) {
    case 'baseline':
      return baseline(o);
    case 'amavisd':
      return amavisd(o, false);
    case 'amavisd-sa':
      return amavisd(o, true);
    case 'rspamd-milter':
      return rspamdMilter(o);
    case 'psf-noop':
      return psfNoop(o);
    case 'psf-sa':
      return psfSpamAssassin(o);
  }
}
