import { assertTopology, assertUserQueue } from '@psf/broker';
import { type Classifier, type Handler, startClassifier } from '@psf/client-sdk';
import { classify } from '@psf/example-keyword-classifier';
import { type Gateway, type GatewayOptions, startGateway } from '@psf/gateway';
import { DEFAULT_QUEUE } from '@psf/protocol';
import {
  createVhost,
  freePort,
  type Sink,
  type SinkOptions,
  startPostfix,
  startSink,
  type Vhost,
} from '@psf/testkit';
import amqp from 'amqplib';

export interface Chain extends AsyncDisposable {
  vhost: Vhost;
  sink: Sink;
  gateway: Gateway;
  classifiers: Classifier[];
}

export interface ChainOptions {
  gateway?: Partial<GatewayOptions>;
  sink?: SinkOptions;
  /** Personal classifiers by owner id; the keyword classifier serves psf.default unless `noDefault`. */
  owners?: Record<string, Handler>;
  noDefault?: boolean;
  /** The default classifier's handler (psf.default); the keyword classifier if not given. */
  defaultHandler?: Handler;
  /** Reinjection target; default the chain's own sink. */
  reinjectPort?: number;
  /** The gateway reaches RabbitMQ through this port (a TcpProxy) instead of 5672. */
  brokerPort?: number;
}

/** Vhost + topology, classifiers, a sink as reinjection target, and a gateway in front. */
export async function startChain(o: ChainOptions = {}): Promise<Chain> {
  const vhost = await createVhost();
  const admin = await amqp.connect(vhost.url);
  const ch = await admin.createChannel();
  await assertTopology(ch);
  const classifiers: Classifier[] = [];
  for (const [owner, handler] of Object.entries(o.owners ?? {})) {
    const queue = await assertUserQueue(ch, owner);
    classifiers.push(await startClassifier({ url: vhost.url, queue, handler }));
  }
  await admin.close();
  if (!o.noDefault) {
    classifiers.push(
      await startClassifier({ url: vhost.url, queue: DEFAULT_QUEUE, handler: o.defaultHandler ?? classify }),
    );
  }
  const sink = await startSink(o.sink);
  const gateway = await startGateway({
    amqpUrl: o.brokerPort ? vhost.url.replace(':5672/', `:${o.brokerPort}/`) : vhost.url,
    listen: { port: 0 },
    reinject: { port: o.reinjectPort ?? sink.port },
    timeoutMs: 3000,
    ...o.gateway,
  });
  if (!o.gateway?.amqpUrl) await gateway.ready(10_000);
  return {
    vhost,
    sink,
    gateway,
    classifiers,
    async [Symbol.asyncDispose]() {
      await gateway.close();
      await Promise.all(classifiers.map((c) => c.close()));
      await sink.close();
      await vhost.close();
    },
  };
}

// The whole path: mail in on Postfix's port -> content_filter -> gateway -> RabbitMQ -> keyword
// classifier -> gateway -> Postfix's reinjection smtpd -> Postfix relays to the test's sink.
export async function throughPostfix(opts: ChainOptions & { mainCf?: string[] } = {}) {
  const filterPort = await freePort();
  const sink = await startSink();
  const mode = opts.gateway?.mode ?? 'after-queue-smtp';
  const pf = await startPostfix({ mode, sinkPort: sink.port, filterPort, mainCf: opts.mainCf ?? [] });
  const chain = await startChain({
    ...opts,
    reinjectPort: pf.reinjectPort,
    gateway: { ...opts.gateway, listen: { port: filterPort } },
  });
  return {
    sink,
    pf,
    chain,
    async [Symbol.asyncDispose]() {
      await chain[Symbol.asyncDispose]();
      await pf[Symbol.asyncDispose]();
      await sink.close();
    },
  };
}

export const SPAM = (to: string, extra = '') =>
  `From: Prize Desk <win@lottery.test>\r\nTo: ${to}\r\nSubject: WINNER OF THE CASH PRIZE\r\n` +
  `Message-ID: <spam-1@lottery.test>\r\n${extra}\r\nYou have won the lottery, act now!\r\n`;

export const HAM = (to: string, extra = '') =>
  `From: Bob <bob@example.net>\r\nTo: ${to}\r\nSubject: lunch tomorrow?\r\nMessage-ID: <ham-1@example.net>\r\n` +
  `Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n${extra}\r\nShall we meet at noon?\r\n`;

/** The value of a header in a raw mail (first occurrence), or undefined. */
export function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  return re.exec(head)?.[1];
}
