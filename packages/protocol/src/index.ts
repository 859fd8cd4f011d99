/**
 * @psf/protocol: the wire format shared by the psf gateway, broker helpers and classifiers.
 *
 * @example
 * ```ts
 * import { decodeScanRequest, encodeVerdict } from '@psf/protocol';
 * const req = decodeScanRequest(amqpMessage);
 * const reply = encodeVerdict({ v: 1, action: 'tag', score: 7.5 }, req.id);
 * ```
 */

export type { PsfErrorCode, PsfErrorOptions } from './errors.js';
export { isPsfError, PsfError } from './errors.js';
export type { DeadEvent, MailEvent, MarkEvent, PsfEvent } from './events.js';
export { decodeEvents, encodeEvents, eventSchema } from './events.js';
export type { LearnLabel, LearnOutcome, LearnRequest, LearnResult } from './learn.js';
export {
  decodeLearnRequest,
  decodeLearnResult,
  encodeLearnRequest,
  encodeLearnResult,
  LEARN_LABELS,
  learnOutcomeSchema,
  MAX_LEARN_BYTES,
} from './learn.js';
export {
  CLASSIFIER_ERROR_TYPE,
  DEAD_LETTER_EXCHANGE,
  DEAD_QUEUE,
  DEFAULT_EXCHANGE,
  DEFAULT_QUEUE,
  DEFAULT_VHOST,
  DIRECT_REPLY_TO,
  EVENT_TYPE,
  EVENTS_STREAM,
  isValidOwner,
  LEARN_REQUEST_TYPE,
  LEARN_RESULT_TYPE,
  LearnHeader,
  MailHeader,
  OWNED_HEADER_PREFIXES,
  ownerOfQueue,
  QUARANTINE_QUEUE_PREFIX,
  QUARANTINED_TYPE,
  QuarantineHeader,
  quarantineQueue,
  RequestHeader,
  SCAN_EXCHANGE,
  SCAN_REQUEST_TYPE,
  UNROUTED_EXCHANGE,
  USER_QUEUE_PREFIX,
  userQueue,
  VERDICT_TYPE,
} from './names.js';
export type { Dsn, QuarantinedMail } from './quarantined.js';
export { decodeQuarantined, encodeQuarantined } from './quarantined.js';
export type { EncodedMessage, ScanEnvelope, ScanRequest } from './scan-request.js';
export { decodeScanRequest, encodeScanRequest } from './scan-request.js';
export type { Verdict, VerdictAction } from './verdict.js';
export {
  decodeReply,
  encodeClassifierError,
  encodeVerdict,
  MAX_REPLY_BYTES,
  VERDICT_ACTIONS,
  validateVerdict,
  verdictSchema,
} from './verdict.js';
export type { WireMessage, WireProperties } from './wire.js';
