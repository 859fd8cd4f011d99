/**
 * @psf/testkit: what psf's tests and demo need around the code under test.
 *
 * @example
 * ```ts
 * await using sink = await startSink();
 * await using pf = await startPostfix({ mode: 'plain', sinkPort: sink.port });
 * await sendMail(pf.publicPort, { from: 'a@x.test', to: ['b@y.test'], subject: 'hi', text: 'hello' });
 * await sink.waitFor(1, 10_000);
 * ```
 */
export { bundle, type NodeCommandOptions, writeNodeCommand } from './bundle.js';
export { type Clamd, EICAR, startClamd } from './clamd.js';
export { freePort, type SendMailOptions, sendMail } from './net.js';
export {
  type PostfixInstance,
  type PostfixMode,
  type QueuedMail,
  type StartPostfixOptions,
  startPostfix,
} from './postfix.js';
export { createVhost, type Vhost } from './rabbitmq.js';
export {
  type ClusterNode,
  type RabbitCluster,
  type StartRabbitClusterOptions,
  startRabbitCluster,
} from './rabbitmq-cluster.js';
export { type RabbitNode, type StartRabbitNodeOptions, startRabbitNode } from './rabbitmq-node.js';
export { type Rspamd, type StartRspamdOptions, startRspamd } from './rspamd.js';
export { type Sink, type SinkMail, type SinkOptions, type SinkReply, startSink } from './sink.js';
export { type Slapd, startSlapd } from './slapd.js';
export { openSmtp, type RawMail, type SmtpReply, SmtpSession } from './smtp-client.js';
export { type SmtpSink, startSmtpSink } from './smtp-sink.js';
export { type Spamd, startSpamd } from './spamd.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
