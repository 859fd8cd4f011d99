import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The gateway's statistics (prom-client), in its own registry so that several gateways in one
 * process (tests, embedding) do not mix: mails by outcome, recipients by owner and status,
 * latencies, sizes, sessions opened, mails in flight, broker connection state.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly mails = new Counter({
    name: 'psf_mails_total',
    help: 'Mails handled, by outcome (ok, partial, rejected, tempfail)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly recipients = new Counter({
    name: 'psf_recipients_total',
    help: 'Recipients by owner and what became of them (clean, spam, quarantined, discarded, rejected, unchecked:<reason>, tempfail:<code>)',
    labelNames: ['owner', 'status'] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'psf_mail_failures_total',
    help: 'Mails not settled (451) or refused (550), by why: broker_unavailable, publish_refused (unroutable), timeout, bad_verdict, classifier_failed, reinject_tempfail, reinject_rejected, policy_reject, ...',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'psf_dead_letters_total',
    help: 'Requests that died unanswered, by owner and reason (expired: classifier offline; maxlen: queue full; rejected)',
    labelNames: ['owner', 'reason'] as const,
    registers: [this.registry],
  });
  readonly classifySeconds = new Histogram({
    name: 'psf_classify_seconds',
    help: "Time from a request to its owner's verdict",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly mailSeconds = new Histogram({
    name: 'psf_mail_seconds',
    help: 'Time from the end of DATA to the reply to Postfix',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly mailBytes = new Histogram({
    name: 'psf_mail_bytes',
    help: 'Size of the mails handled',
    buckets: [1e3, 4e3, 16e3, 64e3, 256e3, 1e6, 4e6, 16e6, 64e6],
    registers: [this.registry],
  });
  readonly sessions = new Counter({
    name: 'psf_smtp_sessions_total',
    help: 'SMTP/LMTP sessions a trusted peer (Postfix) opened; against psf_mails_total it shows how well Postfix reuses its connections',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'psf_mails_in_flight',
    help: 'Mails being handled now',
    registers: [this.registry],
  });
  readonly brokerConnected = new Gauge({
    name: 'psf_broker_connected',
    help: '1 while connected to RabbitMQ',
    registers: [this.registry],
  });
}

/**
 * Serves the metrics: Prometheus text at /metrics, the same as JSON at /stats, and /healthz.
 * Meant for loopback or a monitoring network: it names owners.
 */
export async function serveMetrics(metrics: GatewayMetrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/metrics') {
      void metrics.registry.metrics().then((text) => reply(200, metrics.registry.contentType, text));
    } else if (path === '/stats') {
      void metrics.registry
        .getMetricsAsJSON()
        .then((json) => reply(200, 'application/json', JSON.stringify(json)));
    } else if (path === '/healthz') {
      reply(200, 'application/json', '{"ok":true}');
    } else {
      reply(404, 'text/plain', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function addressOf(server: Server): { host: string; port: number } {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}
