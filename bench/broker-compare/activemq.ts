// The ActiveMQ variant over STOMP: persistent requests with a receipt (ActiveMQ sends a message
// that asks for a receipt synchronously, so the receipt is its publisher confirm), replies to a
// temporary queue.

import { createConnection } from 'node:net';
import { Client } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import { PendingCalls } from './pending-calls.js';
import { CALL_TIMEOUT_MS, type Endpoints, noop, type Requester, type Variant, VERDICT } from './variant.js';

const QUEUE = '/queue/psfbench.scan';
const REPLIES = '/temp-queue/psfbench.replies';

/** The TCP socket of STOMP, without Nagle's delay (as amqplib's `noDelay`). */
class NoDelayTcp extends TCPWrapper {
  protected override getSocket(port: number, host: string) {
    return createConnection({ port, host, noDelay: true });
  }
}

async function openStomp(port: number): Promise<Client> {
  const client = new Client({
    webSocketFactory: () => new NoDelayTcp('127.0.0.1', port),
    connectHeaders: { host: 'localhost' },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no STOMP CONNECTED within 15 s')), 15_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      void client.deactivate();
      reject(err);
    };
    client.onConnect = () => {
      clearTimeout(timer);
      resolve();
    };
    client.onStompError = (frame) => fail(new Error(`STOMP ERROR: ${frame.headers.message}`));
    client.onWebSocketClose = () => fail(new Error('STOMP connection closed'));
    client.activate();
  });
  return client;
}

export function activeMqVariant(ep: Endpoints): Variant {
  const port = () => {
    if (ep.stompPort === undefined) throw new Error('ActiveMQ is not running');
    return ep.stompPort;
  };
  return {
    id: 'activemq-stomp',
    setup: noop, // ActiveMQ creates the queue on first use
    async respond() {
      const client = await openStomp(port());
      client.subscribe(
        QUEUE,
        (msg) => {
          const to = msg.headers['reply-to'];
          if (to) {
            client.publish({
              destination: to,
              headers: { 'correlation-id': msg.headers['correlation-id'] ?? '' },
              binaryBody: VERDICT,
            });
          }
          msg.ack();
        },
        // prefetch above the 20 calls in flight, as for the other brokers
        { ack: 'client-individual', 'activemq.prefetchSize': '32' },
      );
      return { close: () => client.deactivate() };
    },
    async request(): Promise<Requester> {
      const client = await openStomp(port());
      const pending = new PendingCalls('a', CALL_TIMEOUT_MS);
      client.subscribe(REPLIES, (msg) => pending.arrived(msg.headers['correlation-id']));
      client.onWebSocketClose = () => pending.failAll(new Error('STOMP connection closed'));
      return {
        call(body) {
          const { id, done } = pending.add(2);
          client.watchForReceipt(id, () => pending.arrived(id));
          client.publish({
            destination: QUEUE,
            headers: {
              receipt: id,
              'correlation-id': id,
              'reply-to': REPLIES,
              persistent: 'true',
              expires: String(Date.now() + CALL_TIMEOUT_MS),
            },
            binaryBody: body,
          });
          return done;
        },
        close: () => client.deactivate(),
      };
    },
    teardown: noop,
  };
}
