import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BrokerConnection, EventPublisher, RpcClient, topologySetup } from '@psf/broker';
import { isPsfError } from '@psf/protocol';
import type { GatewayOptions } from './gateway.js';
import { messageId } from './header-block.js';
import { MailBody } from './mail-body.js';
import { mailEvents } from './mail-events.js';
import { createMailFilter } from './mail-filter.js';
import { Reinjector } from './reinjector.js';

/** sysexits.h codes, as Postfix's pipe(8) reads them. */
export const EX_UNAVAILABLE = 69;
export const EX_TEMPFAIL = 75;
export const EX_CONFIG = 78;

export interface PipeOptions
  extends Pick<
    GatewayOptions,
    | 'amqpUrl'
    | 'queueType'
    | 'reinject'
    | 'timeoutMs'
    | 'onTimeout'
    | 'maxScanBytes'
    | 'ownerOf'
    | 'policy'
    | 'quarantine'
    | 'replyMode'
    | 'spool'
    | 'events'
    | 'logger'
  > {
  /** The mail as pipe(8) writes it (stdin). */
  input: Readable;
  /** `-f`: the envelope sender, '' for the null sender. */
  mailFrom: string;
  rcpt: string[];
  /** Where the one failure line goes. Default process.stderr. */
  errorOutput?: NodeJS.WritableStream;
}

/**
 * The one line pipe(8) logs as "Command output" (and puts in a bounce). pipe(8) bounces on
 * EX_CONFIG (5.3.5) unless the output starts with an enhanced status code, which then wins: a bad
 * configuration is for the admin to fix while the mail waits, so it gets 4.3.5.
 */
export function failureLine(exitCode: number, reason: string): string {
  return `${exitCode === EX_CONFIG ? '4.3.5 ' : ''}psf-pipe: ${reason.split(/\s*\n\s*/).join(' ')}\n`;
}

function exitCodeOf(err: unknown): number {
  if (isPsfError(err, 'REINJECT_REJECTED')) return EX_UNAVAILABLE;
  if (isPsfError(err, 'CONFIG')) return EX_CONFIG;
  return EX_TEMPFAIL;
}

/**
 * Postfix's pipe mode (master.cf `pipe ... argv=psf-pipe -f ${sender} -- ${recipient}`): one mail
 * from `input` through the same pipeline as the gateway, reinjected over SMTP. Resolves with the
 * exit code pipe(8) expects: 0 settled (reinjected or discarded by policy), 75 retry later,
 * 69 refused for good (reinjection 5xx), 78 bad configuration. Writes one line on failure only,
 * and closes every connection before resolving, so the process can exit at once.
 */
export async function runPipe(options: PipeOptions): Promise<number> {
  const id = randomBytes(9).toString('base64url');
  const timeoutMs = options.timeoutMs ?? 10_000;
  let connection: BrokerConnection | undefined;
  let rpc: RpcClient | undefined;
  let events: EventPublisher | undefined;
  let reinjector: Reinjector | undefined;
  let body: MailBody | undefined;
  try {
    reinjector = new Reinjector({
      host: options.reinject?.host ?? '127.0.0.1',
      port: options.reinject?.port ?? 10026,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    // Connects in the background while the mail is read.
    connection = await BrokerConnection.open({
      url: options.amqpUrl,
      name: 'psf-pipe',
      ...(options.logger ? { logger: options.logger } : {}),
      setup: topologySetup({ queueType: options.queueType ?? 'classic' }),
    });
    if (options.events !== false)
      events = new EventPublisher({ connection, ...(options.logger ? { logger: options.logger } : {}) });
    rpc = new RpcClient({
      connection,
      ...(options.replyMode ? { replyMode: options.replyMode } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    body = await MailBody.receive(options.input, options.spool);
    // The broker gets a short wait: Postfix retries a deferred mail anyway, and a pipe process
    // that sits out a long outage holds one of the transport's few processes.
    const waitMs = Math.min(timeoutMs, 5000);
    await connection.waitForConnect(waitMs);
    await rpc.waitReady(waitMs);
    const queueType = options.queueType ?? 'classic';
    // Quarantine queues take the topology's type (mail-filter passes it on to Quarantine).
    const quarantine = options.quarantine === false ? false : { ...options.quarantine, queueType };
    const filter = createMailFilter(connection, rpc, reinjector, { ...options, quarantine });
    // The real client is not known here: Postfix passes only the envelope to a pipe command.
    const { owners } = await filter.process({
      id,
      mailFrom: options.mailFrom,
      rcpt: options.rcpt,
      body,
      xforward: {},
    });
    const facts = { id, messageId: messageId(body.head), from: options.mailFrom, size: body.size };
    for (const event of mailEvents(facts, owners)) events?.publish(event);
    return 0;
  } catch (err) {
    const code = exitCodeOf(err);
    const reason = isPsfError(err) ? err.message : `internal error: ${String(err)}`;
    (options.errorOutput ?? process.stderr).write(failureLine(code, `${id}: ${reason}`));
    return code;
  } finally {
    await events?.close(); // statistics only: a lost batch never changes the exit code
    await rpc?.close();
    await reinjector?.close();
    await connection?.close();
    await body?.dispose();
  }
}
