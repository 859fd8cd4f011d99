#!/usr/bin/env node
// The psf demo: a private Postfix, the gateway and the keyword classifier as separate processes,
// alice's personal classifier, and a few real mails sent through, with what became of each.
// Run by scripts/demo.sh (which installs and starts what it needs, and builds first).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertTopology, assertUserQueue } from '@psf/broker';
import { startClassifier } from '@psf/client-sdk';
import { userQueue } from '@psf/protocol';
import amqp from 'amqplib';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const amqpUrl = process.env.PSF_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/psf-demo';
const step = (s: string) => console.log(`\n== ${s}`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Arrived {
  rcpt: string[];
  subject: string;
  status: string;
}

// Stands in for the next hop: Postfix relays every mail here once psf is done with it.
async function startSink(arrived: Arrived[]) {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 500,
    onData(stream, session, done) {
      simpleParser(stream).then((mail) => {
        const status = mail.headers.get('x-psf-status');
        arrived.push({
          rcpt: session.envelope.rcptTo.map((r) => r.address),
          subject: mail.subject ?? '',
          status: typeof status === 'string' ? status : '-',
        });
        done();
      }, done);
    },
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Starts an example app; resolves once it has logged every event in `readyEvents`. */
async function startNode(name: string, script: string, env: Record<string, string>, readyEvents: string[]) {
  const child = spawn(process.execPath, [join(root, script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const waiting = new Set(readyEvents);
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  // One JSON line per mail or event (pino): show the mail lines, which is what an admin reads.
  child.stdout?.on('data', (buf: Buffer) => {
    for (const line of buf.toString().split('\n').filter(Boolean)) {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        waiting.delete(String(j.event));
        if (waiting.size === 0) ready();
        if (j.event === 'mail') {
          const owners = (j.owners as Array<{ owner: string; status: string }> | undefined)
            ?.map((o) => `${o.owner || '(default)'}=${o.status}`)
            .join(' ');
          console.log(`   [${name}] ${j.msg} ${j.id ?? ''} ${owners ?? ''}`.trimEnd());
        }
      } catch {
        console.log(`   [${name}] ${line}`);
      }
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`))),
  );
  exited.catch(() => {}); // it also exits when the demo stops it, long after being ready
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} not ready in 30 s`)), 30_000);
  });
  await Promise.race([isReady, exited, late]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, ms: number) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'psf-demo-'));
execFileSync('chmod', ['755', dir]);
const children: ChildProcess[] = [];
const arrived: Arrived[] = [];
const sink = await startSink(arrived);
const postfix = join(root, 'scripts/postfix-instance.sh');
let alice: Awaited<ReturnType<typeof startClassifier>> | undefined;

try {
  step('RabbitMQ: topology, and a personal queue for alice@example.org');
  const admin = await amqp.connect(amqpUrl);
  const ch = await admin.createChannel();
  await assertTopology(ch);
  await assertUserQueue(ch, 'alice@example.org');
  await ch.purgeQueue(userQueue('alice@example.org'));
  await admin.close();
  // Alice runs her own classifier (any machine, any rules): she drops newsletters.
  alice = await startClassifier({
    url: amqpUrl,
    queue: userQueue('alice@example.org'),
    handler: async (mail) => {
      const { subject } = await mail.parsed();
      return /newsletter/i.test(subject ?? '')
        ? { v: 1, action: 'discard', reasons: ['ALICE_NO_NEWSLETTERS'] }
        : { v: 1, action: 'accept', score: 0 };
    },
  });

  const [pub, filter, reinject] = [await freePort(), await freePort(), await freePort()];
  step(
    `Postfix (private instance): public 127.0.0.1:${pub}, content_filter -> :${filter}, reinjection :${reinject}`,
  );
  execFileSync(
    postfix,
    [
      'start',
      dir,
      '--public',
      `${pub}`,
      '--sink',
      `${sink.port}`,
      '--filter',
      `${filter}`,
      '--reinject',
      `${reinject}`,
    ],
    {
      stdio: 'inherit',
    },
  );

  step('gateway and the central keyword classifier (separate processes)');
  const env = { PSF_AMQP_URL: amqpUrl };
  await startNode('classifier', 'examples/keyword-classifier/dist/main.js', env, ['ready']);
  // The example gateway: psf-gateway's config plus an owner map (alice+work@ belongs to alice@).
  const gatewayEnv = { ...env, PSF_LISTEN: `127.0.0.1:${filter}`, PSF_REINJECT: `127.0.0.1:${reinject}` };
  await startNode('gateway', 'examples/gateway/dist/main.js', gatewayEnv, ['listening', 'broker-connect']);

  step('sending mail to Postfix');
  const started = new Date().toISOString();
  const mails = [
    { to: ['bob@example.org'], subject: 'Lunch tomorrow?', text: 'Shall we meet at noon?' },
    {
      to: ['bob@example.org'],
      subject: 'WINNER OF THE CASH PRIZE',
      text: 'You have won the lottery, act now!',
    },
    { to: ['alice@example.org', 'bob@example.org'], subject: 'Weekly newsletter', text: 'News of the week.' },
    { to: ['alice+work@example.org'], subject: 'Project status', text: 'All green.' },
  ];
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: pub, ignoreTLS: true });
  for (const m of mails) {
    const info = await transport.sendMail({ from: 'carol@example.net', ...m });
    console.log(`   sent "${m.subject}" to ${m.to.join(', ')}: ${info.response}`);
  }
  transport.close();
  // Every mail arrives as one copy except the newsletter, whose copy for alice is discarded.
  await waitFor('the mails at the sink', () => arrived.length >= mails.length, 30_000);

  step('what arrived at the next hop');
  for (const a of arrived)
    console.log(`   "${a.subject}" -> ${a.rcpt.join(', ')}: X-PSF-Status: ${a.status}`);
  const log = execFileSync('grep', ['-o', 'orig_client=[^,]*', join(dir, 'maillog')])
    .toString()
    .trim()
    .split('\n');
  console.log(
    `\n   Postfix logged the real client for ${log.length} reinjected mails (XFORWARD), e.g. ${log[0]}`,
  );
  step('psf stats: what the gateway recorded in the psf.events stream during the demo');
  // Events leave the gateway in batches every 100 ms.
  await new Promise((r) => setTimeout(r, 500));
  const stats = execFileSync(
    process.execPath,
    [join(root, 'packages/stats/dist/cli.js'), 'stats', '--since', started],
    {
      env: { ...process.env, PSF_AMQP_URL: amqpUrl },
    },
  );
  console.log(stats.toString().replace(/^/gm, '   '));
  console.log(
    '\n   demo done: Postfix -> gateway -> RabbitMQ -> classifiers -> gateway -> Postfix -> next hop',
  );
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)))),
  );
  await alice?.close();
  execFileSync(postfix, ['stop', dir]);
  rmSync(dir, { recursive: true, force: true });
  await sink.close();
}
