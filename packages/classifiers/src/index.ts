/**
 * @psf/classifiers: classifiers built on @psf/client-sdk, for the central default queue or a
 * mailbox owner's own machine.
 */

export type { AttachmentsOptions } from './attachments.js';
export { BANNED_SCORE, createAttachmentsClassifier, DEFAULT_BANNED_EXTENSIONS } from './attachments.js';
export type {
  BayesOptions,
  Label,
  LearnResult,
  ModelFileProblem,
  ScoringOptions,
  Spamicity,
  ThresholdOptions,
  TokenEvidence,
} from './bayes/index.js';
export {
  BayesModel,
  BayesModelError,
  BayesStore,
  DEFAULT_SCORING,
  DEFAULT_TAG_AT,
  decodeModel,
  encodeModel,
  GLOBAL_MODEL,
  loadModel,
  MODEL_FORMAT_VERSION,
  OWNERS_DIR,
  openBayes,
  rawMail,
  saveModel,
  spamicity,
  stripMboxFrom,
  tokenize,
  toVerdict,
} from './bayes/index.js';
export type { ClamavOptions, ClamdResult } from './clamav.js';
export { askClamd, createClamavClassifier, INFECTED_SCORE, parseClamdReply } from './clamav.js';
export type { CompositeMember, CompositeOptions } from './composite.js';
export { createComposite } from './composite.js';
export type { ClassifyConfig } from './config.js';
export { buildClassifier, configSchema, loadConfig } from './config.js';
export type { BuiltClassifier, KindContext, KindDefinition } from './kinds.js';
export { defineKind, KINDS } from './kinds.js';
export type { RspamdAction, RspamdMapping, RspamdOptions, RspamdResult } from './rspamd.js';
export { createRspamdClassifier, DEFAULT_RSPAMD_MAPPING, RSPAMD_ACTIONS, rspamdVerdict } from './rspamd.js';
export type { Link, RuleInput } from './rule-input.js';
export type { Rule, RulesOptions } from './rules.js';
export { classify, createRulesClassifier, DEFAULT_THRESHOLD, RULES, ruleHits } from './rules.js';
export type { SenderListsOptions } from './sender-lists.js';
export {
  ALLOWED_SCORE,
  BLOCKED_SCORE,
  createSenderListsClassifier,
  OWNER_LISTS_DIR,
} from './sender-lists.js';
export type { SpamAssassinOptions, SpamdCommand, SpamdResult } from './spamassassin.js';
export { askSpamd, createSpamAssassinClassifier, parseSpamdResponse } from './spamassassin.js';
export type { Thresholds } from './thresholds.js';
export { actionFor } from './thresholds.js';
