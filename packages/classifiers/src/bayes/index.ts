// The Bayes classifier's public names, re-exported by the package index.
export type { Label } from './model.js';
export { BayesModel } from './model.js';
export type { ModelFileProblem } from './model-file.js';
export {
  BayesModelError,
  decodeModel,
  encodeModel,
  loadModel,
  MODEL_FORMAT_VERSION,
  saveModel,
} from './model-file.js';
export { rawMail, stripMboxFrom } from './raw-mail.js';
export type { ScoringOptions, Spamicity, TokenEvidence } from './spamicity.js';
export { DEFAULT_SCORING, spamicity } from './spamicity.js';
export type { BayesOptions, LearnResult } from './store.js';
export { BayesStore, GLOBAL_MODEL, OWNERS_DIR, openBayes } from './store.js';
export { tokenize } from './tokenizer.js';
export type { ThresholdOptions } from './verdict.js';
export { DEFAULT_TAG_AT, toVerdict } from './verdict.js';
