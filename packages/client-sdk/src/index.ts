/**
 * @psf/client-sdk: run your own spam classifier for your mailbox. The gateway sends you each of
 * your mails; you answer a verdict.
 *
 * @example
 * ```ts
 * import { startClassifier } from '@psf/client-sdk';
 * import { userQueue } from '@psf/protocol';
 * const classifier = await startClassifier({
 *   url: 'amqp://alice:secret@mail.example.org:5672/psf',
 *   queue: userQueue('alice@example.org'),
 *   handler: async (mail) => {
 *     const { subject } = await mail.parsed();
 *     return /viagra/i.test(subject ?? '') ? { v: 1, action: 'tag', score: 9 } : { v: 1, action: 'accept', score: 0 };
 *   },
 * });
 * ```
 */

export type { LearnLabel, LearnOutcome, LearnResult, Verdict, VerdictAction } from '@psf/protocol';
export type { ClassifierOptions, ClassifierStats, Handler, Learner } from './classifier.js';
export { Classifier, startClassifier } from './classifier.js';
export type { ClientSession, ConnectOptions } from './login.js';
export { connect } from './login.js';
export type { Mail } from './mail.js';
export type { SendLearnOptions } from './send-learn.js';
export { sendLearn } from './send-learn.js';
