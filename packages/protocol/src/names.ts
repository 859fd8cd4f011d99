/**
 * Every exchange, queue, message type and header name psf puts on the wire. Other packages build
 * names only through this module, so a rename is one edit (as Postfix keeps its protocol names in
 * one header).
 */

/** Default RabbitMQ virtual host that holds the psf topology. */
export const DEFAULT_VHOST = 'psf';

/** Direct exchange that scan requests are published to; routing key = mailbox owner id. */
export const SCAN_EXCHANGE = 'psf.scan';
/** Fanout exchange that receives what `psf.scan` cannot route (the alternate exchange). */
export const UNROUTED_EXCHANGE = 'psf.unrouted';
/** Queue of the central classifier that serves owners without a classifier of their own. */
export const DEFAULT_QUEUE = 'psf.default';
/** Dead-letter exchange for expired and rejected requests. */
export const DEAD_LETTER_EXCHANGE = 'psf.dlx';
/** Queue behind the dead-letter exchange, read by the stats consumer. */
export const DEAD_QUEUE = 'psf.dead';
/** Stream of what became of each mail and each dead request (no mail content): the stats'
 * source, shared by every gateway, kept for a window (see docs/operations.md). */
export const EVENTS_STREAM = 'psf.events';
/** The queue-name prefix of personal queues. */
export const USER_QUEUE_PREFIX = 'psf.user.';
/** The queue-name prefix of per-owner quarantines. */
export const QUARANTINE_QUEUE_PREFIX = 'psf.quarantine.';
/** RabbitMQ's default exchange as permissions name it: replies are published there. */
export const DEFAULT_EXCHANGE = 'amq.default';
/** RabbitMQ's pseudo-queue for direct reply-to. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** AMQP `type` of a scan request body (raw RFC 5322 bytes). */
export const SCAN_REQUEST_TYPE = 'psf.scan.v1';
/** AMQP `type` of a verdict reply (JSON). */
export const VERDICT_TYPE = 'psf.verdict.v1';
/** AMQP `type` of a reply that says the classifier failed on this mail (JSON `{ v, error }`). */
export const CLASSIFIER_ERROR_TYPE = 'psf.error.v1';

/** AMQP `type` of a learn request: an owner's correction (body: the raw mail, see learn.ts). */
export const LEARN_REQUEST_TYPE = 'psf.learn.v1';
/** AMQP `type` of the reply saying what learning did (JSON). */
export const LEARN_RESULT_TYPE = 'psf.learned.v1';

/** AMQP headers of a scan request (the envelope travels beside the raw mail). */
export const RequestHeader = {
  mailFrom: 'psf-mail-from',
  rcpt: 'psf-rcpt',
  clientAddr: 'psf-client-addr',
  clientName: 'psf-client-name',
  helo: 'psf-helo',
  queueId: 'psf-queue-id',
  size: 'psf-size',
  truncated: 'psf-truncated',
  deadline: 'psf-deadline',
} as const;

/** AMQP headers of a quarantined mail (besides psf-mail-from and psf-rcpt). */
export const QuarantineHeader = {
  owner: 'psf-owner',
  verdict: 'psf-verdict',
  quarantinedAt: 'psf-quarantined-at',
  clientAddr: 'psf-client-addr',
  helo: 'psf-helo',
  queueId: 'psf-queue-id',
  /** The sender's DSN request (RET, ENVID, NOTIFY and ORCPT by recipient), JSON. */
  dsn: 'psf-dsn',
} as const;

/** AMQP headers of a learn request. */
export const LearnHeader = {
  /** `spam` or `ham`. */
  label: 'psf-learn-label',
  /** Whose model learns: a classifier such as psf.default's keeps one per owner. */
  owner: 'psf-owner',
} as const;

/** AMQP `type` of a message in psf.events (body: a JSON array of events, see events.ts). */
export const EVENT_TYPE = 'psf.event.v1';

/** AMQP `type` of a quarantined mail (body: the raw mail). */
export const QUARANTINED_TYPE = 'psf.quarantined.v1';

/** Mail headers psf writes on delivery; incoming copies are stripped first. */
export const MailHeader = {
  status: 'X-PSF-Status',
  score: 'X-PSF-Score',
  reasons: 'X-PSF-Reasons',
  spamFlag: 'X-Spam-Flag',
  spamStatus: 'X-Spam-Status',
} as const;

/** Header-name prefixes (lower case) that belong to psf and SpamAssassin-style filters. */
export const OWNED_HEADER_PREFIXES = ['x-psf-', 'x-spam-'] as const;

// A routing key and the queue name built from it must fit AMQP's 255-byte short string.
// The quarantine prefix is the longer of the two.
const MAX_OWNER_BYTES = 255 - QUARANTINE_QUEUE_PREFIX.length;

/** Whether `owner` can be a routing key and part of a queue name. */
export function isValidOwner(owner: string): boolean {
  return (
    owner.length > 0 &&
    Buffer.byteLength(owner) <= MAX_OWNER_BYTES &&
    // no control characters or spaces: they would make unreadable queue names and logs
    !/[\u0000-\u0020\u007f]/.test(owner)
  );
}

/** The personal queue of a mailbox owner: `psf.user.<owner>`. */
export function userQueue(owner: string): string {
  return USER_QUEUE_PREFIX + owner;
}

/** The owner of a personal queue `psf.user.<owner>`; undefined for any other queue. */
export function ownerOfQueue(queue: string): string | undefined {
  return queue.startsWith(USER_QUEUE_PREFIX) && queue.length > USER_QUEUE_PREFIX.length
    ? queue.slice(USER_QUEUE_PREFIX.length)
    : undefined;
}

/** The quarantine queue of a mailbox owner: `psf.quarantine.<owner>`. */
export function quarantineQueue(owner: string): string {
  return QUARANTINE_QUEUE_PREFIX + owner;
}
