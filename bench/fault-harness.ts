// Faults under load (issue 8): the rig shared by bench/faults.ts (a few thousand mails) and
// test/e2e/faults.test.ts (a few hundred). Everything that can be killed runs as a process of its
// own: a private Postfix (after-queue SMTP, relaying to an in-process sink) -> psf-gateway (the
// built CLI) -> a private RabbitMQ node -> classifier processes -> Postfix's reinjection smtpd ->
// the sink. The gateway reaches the broker and the reinjection smtpd through TCP proxies the
// faults cut. The shared broker on 5672 is never touched.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { assertUserQueue } from '@psf/broker';
import { generatedMails, type LoadReport, type MailSource, runLoad } from '@psf/example-send-loop';
import { DEFAULT_QUEUE, userQueue } from '@psf/protocol';
import {
  freePort,
  type PostfixInstance,
  type RabbitNode,
  type Sink,
  type SinkMail,
  startPostfix,
  startRabbitNode,
  startSink,
  startTcpProxy,
  type TcpProxy,
} from '@psf/testkit';
import amqp from 'amqplib';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const GATEWAY_CLI = here('../packages/gateway/dist/cli.js');
const CLASSIFIER_CHILD = here('./fault-classifier-child.mjs');

/** Concurrent mails Postfix hands the gateway: the `scan` transport's maxproc (examples/gateway/postfix). */
export const SCAN_MAXPROC = 10;
/** The gateway's reinjection pool: connections that can be cut with a mail's end of data sent. */
export const REINJECT_POOL = 10;
/** The owner whose personal queue has no consumer and a tiny limit (fault 6). */
export const FULL_OWNER = 'full@example.org';

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** Waits until `check()` holds, polling; throws `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

/** RSS of a process in MB, from /proc/<pid>/status. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** psf-gateway as a child process, restartable, reading its JSON log lines. */
export class GatewayProcess {
  #child: ChildProcess | undefined;
  /** Counted over every run of the process. */
  readonly counts = { connects: 0, settled: 0, deferred: 0, warnings: 0, starts: 0 };
  /** Deferrals by reply text (without the mail id). */
  readonly deferredBy = new Map<string, number>();
  /** When each mail was settled (250). */
  readonly settledAt: number[] = [];
  readonly #stderr: string[] = [];
  /** The last warnings other than deferrals, for a failure's message. */
  readonly #recent: string[] = [];

  constructor(readonly configFile: string) {}

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    const child = spawn(process.execPath, [GATEWAY_CLI, '-c', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.counts.starts++;
    const connectsBefore = this.counts.connects;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => this.#line(l));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => {
      this.#stderr.push(l);
      if (this.#stderr.length > 20) this.#stderr.shift();
    });
    await until(
      () => {
        if (child.exitCode !== null) {
          throw new Error(`psf-gateway exited with ${child.exitCode}: ${this.#stderr.join('\n')}`);
        }
        return this.counts.connects > connectsBefore;
      },
      timeoutMs,
      'psf-gateway connected to RabbitMQ',
    );
  }

  #line(text: string) {
    let o: { level?: number; msg?: string; event?: string; reply?: string; time?: number };
    try {
      o = JSON.parse(text);
    } catch {
      return;
    }
    if (o.event === 'broker-connect') this.counts.connects++;
    if ((o.level ?? 0) >= 40) {
      this.counts.warnings++;
      if (o.msg !== 'mail deferred') {
        this.#recent.push(text.slice(0, 300));
        if (this.#recent.length > 10) this.#recent.shift();
      }
    }
    if (o.msg === 'mail settled') {
      this.counts.settled++;
      this.settledAt.push(o.time ?? Date.now());
    } else if (o.msg === 'mail deferred') {
      this.counts.deferred++;
      const why = (o.reply ?? '?').replace(/ \([\w-]+\)$/, '');
      this.deferredBy.set(why, (this.deferredBy.get(why) ?? 0) + 1);
    }
  }

  /** kill -9: no drain, no 421; mails in flight are cut off wherever they are. */
  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  /** SIGTERM (drain), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.kill('SIGTERM');
    await exited(child);
    clearTimeout(timer);
  }

  /** Resolves once the gateway logged its `n`-th broker connection (counted over all runs). */
  waitConnects(n: number, timeoutMs: number): Promise<void> {
    return until(() => this.counts.connects >= n, timeoutMs, `psf-gateway broker connection #${n}`).catch(
      (err: Error) => {
        throw new Error(`${err.message}; its last warnings:\n${this.#recent.join('\n')}`);
      },
    );
  }
}

/** bench/fault-classifier-child.mjs: accepts every mail; can hang, be killed and restarted. */
export class ClassifierProcess {
  #child: ChildProcess | undefined;

  constructor(
    readonly url: string,
    readonly queue: string,
  ) {}

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    // Plain node: the child is JavaScript and imports the built @psf/client-sdk.
    const child = fork(CLASSIFIER_CHILD, [this.url, this.queue], { execArgv: [], stdio: 'ignore' });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`classifier (${this.queue}) not ready`)), timeoutMs);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`classifier (${this.queue}) exited with ${code}`));
      });
    });
  }

  hang(): void {
    this.#child?.send('hang');
  }

  release(): void {
    this.#child?.send('release');
  }

  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    if (child.connected) child.send('stop');
    else child.kill('SIGTERM');
    await exited(child);
    clearTimeout(timer);
  }
}

export interface FaultRigOptions {
  /** The gateway's timeoutMs (a hung classifier costs this much per mail). */
  timeoutMs: number;
  /** Requests FULL_OWNER's queue holds before reject-publish-dlx refuses more. Default 5. */
  fullQueueLength?: number;
  log?: (line: string) => void;
}

export interface FaultRig extends AsyncDisposable {
  sink: Sink;
  pf: PostfixInstance;
  node: RabbitNode;
  /** Between the gateway and the broker node. */
  brokerProxy: TcpProxy;
  /** Between the gateway and Postfix's reinjection smtpd. */
  reinjectProxy: TcpProxy;
  gateway: GatewayProcess;
  /** psf.default's classifier. */
  classifier: ClassifierProcess;
  /** FULL_OWNER's classifier: not running until fault 6 clears. */
  fullOwner: ClassifierProcess;
  log: (line: string) => void;
}

/** Starts the whole path; dispose it to stop everything it started. */
export async function startFaultRig(o: FaultRigOptions): Promise<FaultRig> {
  const log = o.log ?? (() => {});
  const cleanups: Array<() => Promise<unknown>> = [];
  const dispose = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: Error) => log(`cleanup: ${err.message}`));
  };
  try {
    const sink = await startSink();
    cleanups.push(() => sink.close());
    const node = await startRabbitNode();
    cleanups.push(() => node[Symbol.asyncDispose]());
    const brokerProxy = await startTcpProxy(node.amqpPort);
    cleanups.push(() => brokerProxy.close());
    const filterPort = await freePort();
    const pf = await startPostfix({ mode: 'after-queue-smtp', sinkPort: sink.port, filterPort });
    cleanups.push(() => pf[Symbol.asyncDispose]());
    const reinjectProxy = await startTcpProxy(pf.reinjectPort);
    cleanups.push(() => reinjectProxy.close());

    const dir = await mkdtemp(join(tmpdir(), 'psf-faults-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'gateway.json');
    const config = {
      amqpUrl: `amqp://guest:guest@127.0.0.1:${brokerProxy.port}/%2F`,
      listen: `127.0.0.1:${filterPort}`,
      reinject: `127.0.0.1:${reinjectProxy.port}`,
      reinjectPoolSize: REINJECT_POOL,
      timeoutMs: o.timeoutMs,
      // Every fault then ends in a 451 and a Postfix retry: the path that must lose nothing.
      onTimeout: 'tempfail',
      maxSessions: 100,
      quarantine: false,
      logLevel: 'info',
    };
    await writeFile(configFile, JSON.stringify(config));
    const gateway = new GatewayProcess(configFile);
    cleanups.push(() => gateway.stop());
    await gateway.start(); // declares the topology: psf.default exists from here

    const admin = await amqp.connect(node.url);
    try {
      const ch = await admin.createChannel();
      await assertUserQueue(ch, FULL_OWNER, { maxQueueLength: o.fullQueueLength ?? 5 });
    } finally {
      await admin.close();
    }
    const classifier = new ClassifierProcess(node.url, DEFAULT_QUEUE);
    cleanups.push(() => classifier.stop());
    await classifier.start();
    const fullOwner = new ClassifierProcess(node.url, userQueue(FULL_OWNER));
    cleanups.push(() => fullOwner.stop());
    log(`rig: postfix ${pf.publicPort}, gateway pid ${gateway.pid}, rabbit ${node.name}`);
    return {
      sink,
      pf,
      node,
      brokerProxy,
      reinjectProxy,
      gateway,
      classifier,
      fullOwner,
      log,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

// --- Load and counting ------------------------------------------------------------------------

/** Generated mails whose Message-IDs are remembered, so the sink can be checked against them. */
export function trackedMails(size: number): MailSource & { ids: string[] } {
  const inner = generatedMails(size);
  const ids: string[] = [];
  return {
    ids,
    averageSize: inner.averageSize,
    next(i) {
      const mail = inner.next(i);
      ids[i] = messageIdOf(mail) ?? '';
      return mail;
    },
  };
}

export function messageIdOf(raw: Buffer): string | undefined {
  const head = raw.subarray(0, 4096).toString('latin1');
  return /^Message-ID:[ \t]*(<[^>\r\n]*>)/im.exec(head)?.[1];
}

export interface LoadRun {
  report: Promise<LoadReport>;
  mails: ReturnType<typeof trackedMails>;
}

/** Starts sending `count` mails to Postfix's public port (at `rate` per second, if given). */
export function startLoad(
  rig: FaultRig,
  o: { count: number; rate?: number; sessions?: number; to?: string; size?: number },
): LoadRun {
  const mails = trackedMails(o.size ?? 2048);
  const report = runLoad({
    host: '127.0.0.1',
    port: rig.pf.publicPort,
    count: o.count,
    sessions: o.sessions ?? 4,
    ...(o.rate ? { rate: o.rate } : {}),
    mails,
    from: 'load@example.net',
    to: [o.to ?? 'rcpt@example.org'],
  });
  return { report, mails };
}

/** Flushes Postfix until its queue is empty (deferred mails retried now); bounded. */
export async function drain(rig: FaultRig, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    await rig.pf.flush();
    await sleep(1000);
    if ((await rig.pf.queue()).length === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      const left = await rig.pf.queue();
      const reasons = [...new Set(left.flatMap((q) => q.recipients.map((r) => r.delay_reason ?? '?')))];
      throw new Error(
        `Postfix still holds ${left.length} mails after ${timeoutMs} ms: ${reasons.join('; ')}`,
      );
    }
  }
}

/** A fault as it happened: when it started and cleared, and how soon mail was settled again. */
export interface FaultWindow {
  name: string;
  start: number;
  end: number;
  /** From clearing until the gateway settled a mail again, ms. */
  recoveredMs?: number;
  note?: string;
}

export interface Tally {
  expected: number;
  /** Distinct expected Message-IDs at the sink. */
  arrived: number;
  lost: string[];
  /** Message-ID -> copies at the sink, for those that came more than once. */
  duplicates: Map<string, SinkMail[]>;
  /** Extra copies in all (a mail that came 3 times counts 2). */
  extraCopies: number;
  /** Duplicates by the fault during which (or up to marginMs after) the first copy arrived. */
  duplicatesBy: Map<string, number>;
  /** Mails at the sink that nobody sent (must be 0). */
  strangers: number;
}

/** Counts the sink by Message-ID against what was sent. */
export function tally(sink: Sink, sent: string[], windows: FaultWindow[], marginMs = 3000): Tally {
  const byId = new Map<string, SinkMail[]>();
  let strangers = 0;
  for (const m of sink.mails) {
    const id = messageIdOf(m.raw);
    if (id === undefined) {
      strangers++;
      continue;
    }
    const list = byId.get(id) ?? [];
    list.push(m);
    byId.set(id, list);
  }
  const expected = new Set(sent);
  for (const id of byId.keys()) if (!expected.has(id)) strangers++;
  const lost = [...expected].filter((id) => !byId.has(id));
  const duplicates = new Map([...byId].filter(([, copies]) => copies.length > 1));
  const duplicatesBy = new Map<string, number>();
  let extraCopies = 0;
  for (const copies of duplicates.values()) {
    extraCopies += copies.length - 1;
    // The first copy was reinjected just before its fault hit, and reaches the sink just after.
    const first = copies[0]?.received.getTime() ?? 0;
    const w = windows.findLast((x) => x.start <= first && first <= x.end + marginMs);
    const key = w?.name ?? 'outside any fault';
    duplicatesBy.set(key, (duplicatesBy.get(key) ?? 0) + 1);
  }
  return {
    expected: expected.size,
    arrived: expected.size - lost.length,
    lost,
    duplicates,
    extraCopies,
    duplicatesBy,
    strangers,
  };
}

/**
 * Postfix's own count of deliveries to the gateway cut after the end of data ("message may be sent
 * more than once"): smtp(8)'s lines only, not the copies of that reason on mail it then deferred.
 */
export async function maybeSentTwice(pf: PostfixInstance): Promise<number> {
  return ((await pf.maillog()).match(/postfix\/smtp\[\d+\]: .*message may be sent more than once/g) ?? [])
    .length;
}

// --- The six faults ---------------------------------------------------------------------------

export type Fault = (rig: FaultRig) => Promise<string | undefined>;

/** Runs one fault, timing it and how soon the gateway settled mail again after it cleared. */
export async function runFault(
  rig: FaultRig,
  name: string,
  fault: Fault,
  recoverTimeoutMs = 30_000,
): Promise<FaultWindow> {
  const start = Date.now();
  rig.log(`fault: ${name}`);
  const note = await fault(rig);
  const end = Date.now();
  const window: FaultWindow = { name, start, end, ...(note ? { note } : {}) };
  await until(
    () => rig.gateway.settledAt.some((t) => t > end),
    recoverTimeoutMs,
    `mail settled after ${name}`,
  )
    .then(() => {
      window.recoveredMs = (rig.gateway.settledAt.find((t) => t > end) ?? end) - end;
    })
    .catch((err: Error) => rig.log(`fault ${name}: ${err.message}`));
  rig.log(
    `fault: ${name} cleared after ${end - start} ms; mail settled again ${window.recoveredMs ?? '?'} ms later` +
      (note ? ` (${note})` : ''),
  );
  return window;
}

/** 1. kill -9 the broker node, boot it again (same dir, same ports); the gateway is not restarted. */
export const killRabbit =
  (downMs: number): Fault =>
  async (rig) => {
    const pid = rig.gateway.pid;
    const connects = rig.gateway.counts.connects;
    await rig.node.kill();
    await sleep(downMs);
    const booted = Date.now();
    await rig.node.restart();
    const up = Date.now();
    await rig.gateway.waitConnects(connects + 1, 60_000);
    if (rig.gateway.pid !== pid) throw new Error('the gateway was restarted');
    return `node boot ${up - booted} ms; gateway (same pid) reconnected ${Date.now() - up} ms after`;
  };

/** 2. kill -9 the default classifier, start it again after `downMs`. */
export const killClassifier =
  (downMs: number): Fault =>
  async (rig) => {
    await rig.classifier.kill9();
    await sleep(downMs);
    await rig.classifier.start();
    return undefined;
  };

/** 3. kill -9 the gateway, start it again after `downMs`. */
export const killGateway =
  (downMs: number): Fault =>
  async (rig) => {
    const before = await maybeSentTwice(rig.pf);
    await rig.gateway.kill9();
    await sleep(downMs);
    await rig.gateway.start();
    // Postfix logs the cut-off deliveries as it notices them: give it a moment.
    await sleep(500);
    return `Postfix: ${(await maybeSentTwice(rig.pf)) - before} mails "may be sent more than once"`;
  };

/** 4. The reinjection port refuses (connections cut, new ones dropped) for `downMs`. */
export const refuseReinjection =
  (downMs: number): Fault =>
  async (rig) => {
    rig.reinjectProxy.cut();
    await sleep(downMs);
    rig.reinjectProxy.restore();
    return undefined;
  };

/** 5. The classifier stops answering for `downMs` (the gateway's timeout policy: tempfail). */
export const hangClassifier =
  (downMs: number): Fault =>
  async (rig) => {
    rig.classifier.hang();
    await sleep(downMs);
    rig.classifier.release();
    return undefined;
  };

/**
 * 6. Mail for FULL_OWNER, whose queue has no consumer and a tiny limit: reject-publish-dlx
 * refuses the requests beyond it (451) and the ones inside time out (451). Clears when the
 * owner's classifier comes online. The mails it sends are added to `sent`.
 */
export const fillQueue =
  (count: number, sent: string[]): Fault =>
  async (rig) => {
    await rig.fullOwner.stop(); // from an earlier round
    const refusedBefore = rig.gateway.deferredBy.get(QUEUE_REFUSED) ?? 0;
    const load = startLoad(rig, { count, to: FULL_OWNER, sessions: 2 });
    const report = await load.report;
    sent.push(...load.mails.ids);
    if (report.accepted !== count) throw new Error(`Postfix accepted ${report.accepted} of ${count}`);
    await until(
      () => (rig.gateway.deferredBy.get(QUEUE_REFUSED) ?? 0) > refusedBefore,
      30_000,
      'a request refused by the full queue',
    );
    await rig.fullOwner.start();
    return `${(rig.gateway.deferredBy.get(QUEUE_REFUSED) ?? 0) - refusedBefore} requests refused by the full queue`;
  };

/** The gateway's reply when reject-publish-dlx refused a request (reply-map.ts). */
export const QUEUE_REFUSED = '4.3.0 classifier queue refused the request, try again later';

// --- Reconnect storm --------------------------------------------------------------------------

export interface Storm {
  cycles: number;
  ms: number;
  rssBeforeMb: number;
  rssAfterMb: number;
}

/** Cuts and restores the gateway's broker connection `cycles` times, waiting for each reconnection. */
export async function reconnectStorm(rig: FaultRig, cycles: number): Promise<Storm> {
  const { gateway, brokerProxy } = rig;
  await sleep(1000);
  const rssBeforeMb = await rssMb(gateway.pid);
  const started = Date.now();
  for (let i = 0; i < cycles; i++) {
    const connects = gateway.counts.connects;
    brokerProxy.cut();
    await sleep(50);
    brokerProxy.restore();
    await gateway.waitConnects(connects + 1, 20_000);
  }
  const ms = Date.now() - started;
  await sleep(1000);
  return { cycles, ms, rssBeforeMb, rssAfterMb: await rssMb(gateway.pid) };
}

// --- The whole scenario: the six faults in turn under load, a storm, then the count ----------

export interface ScenarioOptions {
  /** Mails of the main load, and its rate (mails/s): the load should outlast one round of faults. */
  mails: number;
  rate: number;
  /** Rounds of the six faults, the first at once, more while the load still runs. */
  maxRounds: number;
  /** How long each fault lasts (the broker's down time comes on top of its boot). */
  downMs: number;
  /** Mails to FULL_OWNER per round (fault 6). */
  fullMails: number;
  stormCycles: number;
  /** Mails sent after the storm: the gateway still serves. */
  afterMails: number;
  drainTimeoutMs: number;
}

export interface ScenarioResult {
  load: LoadReport;
  after: LoadReport;
  windows: FaultWindow[];
  storm: Storm;
  tally: Tally;
  /** Postfix: deliveries to the gateway cut after the data was sent. */
  maybeSentTwice: number;
  drainMs: number;
  gateway: GatewayProcess['counts'];
  deferredBy: Map<string, number>;
  seconds: number;
}

/** The faults by name, in the order a round runs them. */
export const FAULTS = {
  classifier: 'kill -9 classifier',
  gateway: 'kill -9 gateway',
  reinject: 'reinjection refused',
  hang: 'classifier hangs',
  rabbit: 'kill -9 RabbitMQ',
  full: 'queue full',
} as const;

export async function runScenario(rig: FaultRig, o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const sent: string[] = [];
  const load = startLoad(rig, { count: o.mails, rate: o.rate });
  let loading = true;
  const loaded = load.report.finally(() => {
    loading = false;
  });
  const windows: FaultWindow[] = [];
  for (let round = 0; round < o.maxRounds && (round === 0 || loading); round++) {
    await sleep(2000); // mail flowing before each round
    const d = o.downMs;
    windows.push(await runFault(rig, FAULTS.classifier, killClassifier(d)));
    windows.push(await runFault(rig, FAULTS.gateway, killGateway(d)));
    windows.push(await runFault(rig, FAULTS.reinject, refuseReinjection(d)));
    windows.push(await runFault(rig, FAULTS.hang, hangClassifier(d)));
    windows.push(await runFault(rig, FAULTS.rabbit, killRabbit(d)));
    windows.push(await runFault(rig, FAULTS.full, fillQueue(o.fullMails, sent)));
  }
  const report = await loaded;
  sent.push(...load.mails.ids);
  rig.log(`load: ${report.accepted} of ${report.sent} accepted by Postfix in ${report.seconds.toFixed(0)} s`);

  const storm = await reconnectStorm(rig, o.stormCycles);
  rig.log(
    `storm: ${storm.cycles} reconnections in ${storm.ms} ms, RSS ${storm.rssBeforeMb.toFixed(1)} -> ${storm.rssAfterMb.toFixed(1)} MB`,
  );
  const afterLoad = startLoad(rig, { count: o.afterMails });
  const after = await afterLoad.report;
  sent.push(...afterLoad.mails.ids);

  const drainMs = await drain(rig, o.drainTimeoutMs);
  await sleep(500); // the last relays to the sink
  const result: ScenarioResult = {
    load: report,
    after,
    windows,
    storm,
    tally: tally(rig.sink, sent, windows),
    maybeSentTwice: await maybeSentTwice(rig.pf),
    drainMs,
    gateway: { ...rig.gateway.counts },
    deferredBy: new Map(rig.gateway.deferredBy),
    seconds: (Date.now() - started) / 1000,
  };
  const t = result.tally;
  rig.log(
    `count: ${t.arrived} of ${t.expected} arrived, ${t.lost.length} lost, ${t.duplicates.size} duplicated ` +
      `(${[...t.duplicatesBy].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}), ` +
      `Postfix "may be sent more than once": ${result.maybeSentTwice}`,
  );
  for (const [id, copies] of t.duplicates) {
    const at = copies.map((c) => c.received.getTime() - started).join(', ');
    rig.log(`duplicate ${id}: copies at ${at} ms`);
  }
  for (const w of windows) rig.log(`window ${w.name}: ${w.start - started}..${w.end - started} ms`);
  return result;
}
