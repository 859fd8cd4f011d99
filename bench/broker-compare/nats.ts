// NATS variants: core request/reply, and JetStream (a work-queue stream for requests, core replies).
import { AckPolicy, connect, createInbox, headers, RetentionPolicy, StorageType } from 'nats';
import { PendingCalls } from './pending-calls.js';
import { CALL_TIMEOUT_MS, type Endpoints, noop, type Requester, type Variant, VERDICT } from './variant.js';

/** JetStream keeps a message's own reply subject for its PubAck: the request's goes in a header. */
const REPLY_HEADER = 'Psf-Reply-To';
const open = (ep: Endpoints) => connect({ servers: ep.natsUrl, name: 'psf-bench' });

export function natsCoreVariant(ep: Endpoints): Variant {
  const subject = `psfbench.${ep.tag}.core`;
  return {
    id: 'nats-core',
    setup: noop,
    async respond() {
      const nc = await open(ep);
      nc.subscribe(subject, { queue: 'classifiers', callback: (_err, msg) => msg.respond(VERDICT) });
      await nc.flush(); // the subscription is registered before the first request
      return { close: () => nc.drain() };
    },
    async request(): Promise<Requester> {
      const nc = await open(ep);
      return {
        // Core request/reply: one shared inbox subscription, replies matched by subject.
        call: async (body) => void (await nc.request(subject, body, { timeout: CALL_TIMEOUT_MS })),
        close: () => nc.drain(),
      };
    },
    teardown: noop,
  };
}

export function natsJetStreamVariant(ep: Endpoints): Variant {
  const stream = `PSFBENCH_${ep.tag}`;
  const subject = `psfbench.${ep.tag}.js`;
  const durable = 'classifier';
  return {
    id: 'nats-jetstream',
    async setup() {
      const nc = await open(ep);
      try {
        const jsm = await nc.jetstreamManager();
        await jsm.streams.add({
          name: stream,
          subjects: [subject],
          retention: RetentionPolicy.Workqueue,
          storage: StorageType.File,
          // NATS 2.9 has no per-message TTL: a stream-wide max age is the nearest to `expiration`.
          max_age: CALL_TIMEOUT_MS * 1_000_000,
        });
        await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit });
      } finally {
        await nc.close();
      }
    },
    async respond() {
      const nc = await open(ep);
      const consumer = await nc.jetstream().consumers.get(stream, durable);
      const messages = await consumer.consume({ max_messages: 32 });
      const loop = (async () => {
        for await (const m of messages) {
          const to = m.headers?.get(REPLY_HEADER);
          if (to) nc.publish(to, VERDICT);
          m.ack();
        }
      })();
      return {
        async close() {
          messages.stop();
          await loop;
          await nc.drain();
        },
      };
    },
    async request(): Promise<Requester> {
      const nc = await open(ep);
      const js = nc.jetstream();
      const inbox = createInbox();
      const pending = new PendingCalls('j', CALL_TIMEOUT_MS);
      nc.subscribe(`${inbox}.*`, {
        callback: (_err, msg) => pending.arrived(msg.subject.slice(inbox.length + 1)),
      });
      await nc.flush();
      return {
        call(body) {
          const { id, done } = pending.add(2);
          const h = headers();
          h.set(REPLY_HEADER, `${inbox}.${id}`);
          // The PubAck says the stream stored it: JetStream's publisher confirm.
          js.publish(subject, body, { headers: h }).then(
            () => pending.arrived(id),
            (err: Error) => pending.fail(id, err),
          );
          return done;
        },
        close: () => nc.drain(),
      };
    },
    async teardown() {
      const nc = await open(ep);
      try {
        await (await nc.jetstreamManager()).streams.delete(stream);
      } finally {
        await nc.close();
      }
    },
  };
}
