import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { createVhost, type Vhost } from '@psf/testkit';
import {
  type ChildClassifier,
  cpuMeter,
  fmt,
  type GatewayChild,
  machine,
  numberOption,
  rabbitPid,
  startChildClassifier,
  startGatewayChild,
  stopChild,
} from './lib.js';

const sessions = numberOption('sessions', 100);
const sizeMb = numberOption('size-mb', 50);
const capMs = numberOption('cap-ms', 300_000);
const maxRssMb = numberOption('max-rss-mb', 8192);
if (!Number.isInteger(sessions) || sessions > 100) throw new Error('--sessions must be an integer, 1-100');

// Bodies are whole 80-byte lines, written in ~64 KB pieces of one shared buffer.
const LINE = Buffer.from(`${'The quick brown fox jumps over the lazy dog. 0123456789 '.padEnd(78, '-')}\r\n`);
const PIECE = Buffer.concat(Array.from({ length: 819 }, () => LINE));
const bodyBytes = Math.floor((sizeMb * 2 ** 20) / LINE.length) * LINE.length;
const MiB = 2 ** 20;

/** VmRSS and VmHWM (peak RSS) of a process, MiB; 0 once it is gone. */
function vm(pid: number | 'self'): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

// --- The reinjection target: keeps only each mail's id, X-PSF-Status and body size ---------------

const END = Buffer.from('\r\n.\r\n');
const HEAD_MAX = 64 * 1024;

interface Received {
  id: string;
  status: string;
  bodyBytes: number;
}

/**
 * One DATA section: counts its bytes up to the terminating `.` line and keeps its first 64 KB for
 * the headers. The count is of wire bytes: the bench's mails have no line that starts with a dot,
 * so there is no dot-stuffing to undo.
 */
function dataReader() {
  let bytes = 0; // content so far; the CRLF before the final dot is content
  let tail = Buffer.alloc(0); // the last bytes seen: the terminator may straddle two chunks
  const head: Buffer[] = [];
  let headBytes = 0;
  return {
    /** Undefined while the data goes on, else what came after the terminator. */
    feed(chunk: Buffer): Buffer | undefined {
      const j = Buffer.concat([tail, chunk.subarray(0, 4)]).indexOf(END);
      const end = j !== -1 ? j - tail.length : chunk.indexOf(END); // negative: it began in tail
      const found = j !== -1 || end !== -1;
      const content = found ? end + 2 : chunk.length;
      bytes += content;
      if (headBytes < HEAD_MAX && content > 0) {
        const part = Buffer.from(chunk.subarray(0, Math.min(content, HEAD_MAX - headBytes))); // a copy: the chunk goes
        head.push(part);
        headBytes += part.length;
      }
      if (found) return chunk.subarray(end + END.length);
      tail = Buffer.concat([tail, chunk]).subarray(-4);
      return undefined;
    },
    result(): Received {
      const h = Buffer.concat(head).toString('latin1');
      return {
        id: /^Message-ID:[ \t]*<([^>]*)>/im.exec(h)?.[1] ?? '?',
        status: /^X-PSF-Status:[ \t]*([^;\r\n]*)/im.exec(h)?.[1] ?? 'none',
        bodyBytes: bytes - (h.indexOf('\r\n\r\n') + 4),
      };
    },
  };
}

async function startDiscardSink() {
  const received = new Map<string, Received>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket)).on('error', () => {});
    let line = '';
    let data: ReturnType<typeof dataReader> | undefined;
    socket.write('220 sink.bench ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      while (chunk.length) {
        if (data) {
          const rest = data.feed(chunk);
          if (rest === undefined) return;
          const r = data.result();
          received.set(r.id, r);
          data = undefined;
          socket.write('250 2.0.0 Ok: discarded\r\n');
          chunk = rest;
          continue;
        }
        const nl = chunk.indexOf(10);
        line += chunk.toString('latin1', 0, nl === -1 ? chunk.length : nl);
        if (nl === -1) return;
        chunk = chunk.subarray(nl + 1);
        const verb = line.trim().slice(0, 4).toUpperCase();
        line = '';
        // PIPELINING as Postfix offers it: MAIL, RCPT and DATA come in one write.
        if (verb === 'EHLO')
          socket.write('250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (verb === 'DATA') {
          data = dataReader();
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') return void socket.end('221 bye\r\n');
        else socket.write('250 Ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    received,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// --- The sender ------------------------------------------------------------------------------------

/** One session, one mail; the body is generated as it is written. Rejects with the failing step. */
async function sendOne(port: number, id: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  const closed = new AbortController();
  socket.on('close', () => closed.abort()).on('error', () => {});
  const lines = createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
  const expectReply = async (code: number, step: string) => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`${step}: connection closed`);
      if (value[3] === '-') continue; // a multi-line reply goes on
      if (!value.startsWith(String(code))) throw new Error(`${step}: ${value}`);
      return;
    }
  };
  try {
    await expectReply(220, 'banner');
    for (const [command, code] of [
      ['EHLO client.bench', 250],
      ['MAIL FROM:<bench@example.test>', 250],
      ['RCPT TO:<rcpt@example.test>', 250],
      ['DATA', 354],
    ] as const) {
      socket.write(`${command}\r\n`);
      await expectReply(code, command.slice(0, 4));
    }
    socket.write(
      `From: Bench <bench@example.test>\r\nTo: <rcpt@example.test>\r\nSubject: memory ${id}\r\n` +
        `Message-ID: <${id}>\r\n\r\n`,
    );
    for (let left = bodyBytes; left > 0; left -= PIECE.length) {
      const piece = left < PIECE.length ? PIECE.subarray(0, left) : PIECE;
      if (!socket.write(piece)) await once(socket, 'drain', { signal: closed.signal });
    }
    socket.write('.\r\n');
    await expectReply(250, 'end of data');
    socket.end('QUIT\r\n');
  } finally {
    if (!socket.writableEnded) socket.destroy();
  }
}

// --- The gateway in a child process ----------------------------------------------------------------

// --- Scenarios -------------------------------------------------------------------------------------

interface Result {
  name: string;
  sessions: number;
  idle: number;
  /** VmHWM at the end: the peak RSS over the gateway's life, which is this scenario. */
  peak: number;
  sampledPeak: number;
  end: number;
  seconds: number;
  cpuS: number;
  /** Machine CPU used by processes not in this bench (other tenants), % of all cores. */
  otherPct: number;
  delivered: number;
  failures: string[];
  statuses: Map<string, number>;
  warnings: string[];
  aborted: boolean;
}

let vhost: Vhost | undefined;
let classifier: ChildClassifier | undefined;
let gateway: GatewayChild | undefined;
let sink: Awaited<ReturnType<typeof startDiscardSink>> | undefined;
const cleanup = async () => {
  if (gateway) await stopChild(gateway.child);
  await classifier?.stop();
  await sink?.close();
  await vhost?.close();
};
const watchdog = setTimeout(() => {
  console.error(`memory: cap of ${capMs} ms reached, giving up`);
  gateway?.child.kill('SIGKILL');
  void cleanup().finally(() => process.exit(2));
}, capMs);

async function scenario(name: string, count: number): Promise<Result> {
  const { url } = vhost as Vhost;
  const s = sink as NonNullable<typeof sink>;
  const gw = await startGatewayChild(url, s.port);
  gateway = gw;
  // The first gateway declares the topology; psf.default exists from then on.
  classifier ??= await startChildClassifier(url, DEFAULT_QUEUE, 'noop', 16);
  const idle = vm(gw.pid).rss;
  let sampledPeak = idle;
  let aborted = false;
  const sampler = setInterval(() => {
    const { rss } = vm(gw.pid);
    sampledPeak = Math.max(sampledPeak, rss);
    if (rss > maxRssMb && !aborted) {
      aborted = true;
      gw.child.kill('SIGKILL');
    }
  }, 100);
  const ids = Array.from({ length: count }, (_, i) => `${name}.${i}.${Date.now()}@memory.bench`);
  const meter = cpuMeter({ gateway: gw.pid, classifier: classifier.pid, broker: rabbitPid() });
  const t0 = performance.now();
  const failures: string[] = [];
  await Promise.all(
    ids.map((id) => sendOne(gw.port, id).catch((e: Error) => failures.push(`${id}: ${e.message}`))),
  );
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const cpu = meter.delta();
  const { rss: end, hwm: peak } = vm(gw.pid);
  await stopChild(gw.child);
  gateway = undefined;

  const statuses = new Map<string, number>();
  let delivered = 0;
  for (const id of ids) {
    const r = s.received.get(id);
    if (!r) continue;
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.bodyBytes === bodyBytes) delivered++;
    else failures.push(`${id}: body of ${r.bodyBytes} bytes at the sink, sent ${bodyBytes}`);
  }
  return {
    name,
    sessions: count,
    idle,
    peak,
    sampledPeak,
    end,
    seconds,
    cpuS: (cpu.gateway ?? 0) / 1000,
    otherPct: (100 * (cpu.other ?? 0)) / (cpu.machineTotal || 1),
    delivered,
    failures,
    statuses,
    warnings: gw.warnings,
    aborted,
  };
}

try {
  console.log(machine());
  vhost = await createVhost();
  sink = await startDiscardSink();
  const results = [await scenario('A', sessions), await scenario('B', 1)];

  console.log(
    `\nmail: ${fmt(bodyBytes / MiB, 1)} MiB body (${bodyBytes} bytes); gateway RSS in MiB` +
      '\n\n| scenario | sessions × MiB | gateway RSS idle / peak (VmHWM) / sampled peak / at end | time s | mails/s | MiB/s | gateway CPU s | others | arrived, right size |' +
      '\n|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of results) {
    const rate = r.sessions / r.seconds;
    console.log(
      `| ${r.name}${r.aborted ? ' (aborted: RSS limit)' : ''} | ${r.sessions} × ${sizeMb} | ` +
        `${fmt(r.idle)} / ${fmt(r.peak)} / ${fmt(r.sampledPeak)} / ${fmt(r.end)} | ${fmt(r.seconds, 1)} | ` +
        `${fmt(rate, 2)} | ${fmt((rate * bodyBytes) / MiB)} | ${fmt(r.cpuS, 1)} | ${fmt(r.otherPct)}% | ${r.delivered}/${r.sessions} |`,
    );
  }
  console.log(`\nbench process peak RSS (sender + sink, VmHWM): ${fmt(vm('self').hwm)} MiB`);
  for (const r of results) {
    const st = [...r.statuses].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    console.log(`${r.name}: X-PSF-Status ${st}; gateway warnings/errors ${r.warnings.length}`);
    for (const line of [...r.failures, ...r.warnings].slice(0, 10)) console.log(`  ${line}`);
  }
  process.exitCode = results.every((r) => r.delivered === r.sessions) ? 0 : 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
