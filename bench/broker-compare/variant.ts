// What every broker adapter of bench/broker-compare.ts provides, and the verdict-sized reply.

export const VARIANT_IDS = [
  'rabbit-classic-direct-persistent',
  'rabbit-classic-direct-transient',
  'rabbit-classic-reply-queue',
  'rabbit-quorum-direct',
  'nats-core',
  'nats-jetstream',
  'activemq-stomp',
] as const;
export type VariantId = (typeof VARIANT_IDS)[number];

/** Where the brokers are, and a tag that keeps this run's queues, subjects and streams apart. */
export interface Endpoints {
  amqpUrl: string;
  natsUrl: string;
  /** STOMP port of the private ActiveMQ, when it runs. */
  stompPort?: number;
  tag: string;
}

/** The requesting side: one call sends `body` and resolves once the reply (and confirm) arrived. */
export interface Requester {
  call(body: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface Closable {
  close(): Promise<void>;
}

export interface Variant {
  id: VariantId;
  /** Declares what requests go to; runs in the bench process before the responder starts. */
  setup(): Promise<void>;
  /** Runs in the responder's own process: answers every request with `VERDICT` at once. */
  respond(): Promise<Closable>;
  request(): Promise<Requester>;
  /** Deletes what setup declared (the RabbitMQ vhost goes as a whole instead). */
  teardown(): Promise<void>;
}

/** A no-op classifier's verdict, as psf's wire format has it. */
export const VERDICT = new TextEncoder().encode('{"v":1,"action":"accept"}');

/** A call that gets no reply in this time fails (and is counted as an error). */
export const CALL_TIMEOUT_MS = 10_000;

export const noop = async (): Promise<void> => {};
