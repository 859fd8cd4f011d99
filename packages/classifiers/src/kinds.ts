import { hostPort } from '@psf/broker';
import type { Learner, Mail, Verdict } from '@psf/client-sdk';
import { PsfError, VERDICT_ACTIONS } from '@psf/protocol';
import { z } from 'zod';
import { createAttachmentsClassifier } from './attachments.js';
import { BayesStore } from './bayes/store.js';
import { createClamavClassifier } from './clamav.js';
import { createComposite } from './composite.js';
import { createRspamdClassifier, RSPAMD_ACTIONS } from './rspamd.js';
import { createRulesClassifier } from './rules.js';
import { createSenderListsClassifier } from './sender-lists.js';
import { createSpamAssassinClassifier } from './spamassassin.js';
import { thresholdsSchema } from './thresholds.js';

/**
 * A classifier made from configuration; `close` lets go of what it holds (sockets, files);
 * `ready` settles once it can classify, or rejects with why it cannot (a missing or corrupt
 * model): psf-classify waits for it before taking mail, so a bad model stops it at start.
 * `learn`, on kinds that learn, takes owners' corrections (learn requests).
 */
export type BuiltClassifier = ((mail: Mail) => Promise<Verdict>) & {
  close?: () => void | Promise<void>;
  ready?: Promise<void>;
  learn?: Learner;
};

export interface KindContext {
  /** Builds another kind from the same configuration (a composite's members). */
  build(kind: string): BuiltClassifier;
}

/** A kind of classifier `psf-classify` runs: its options (the config file's section of its name) and factory. */
export interface KindDefinition<S extends z.ZodType = z.ZodType> {
  description: string;
  options: S;
  create(options: z.output<S>, context: KindContext): BuiltClassifier;
}

/** Keeps each entry's option types tied to its factory. */
export const defineKind = <S extends z.ZodType>(kind: KindDefinition<S>): KindDefinition<S> => kind;

const timeoutMs = z.number().int().min(1).max(600_000).optional();
const firstRecipient = (mail: Mail) => mail.envelope.rcpt[0];

const spamicity = z.number().gt(0).lt(1);

/**
 * The kinds `psf-classify` knows. A new one is one entry here:
 * `name: defineKind({ description, options: schema, create: (o) => classifier })`.
 */
export const KINDS = {
  bayes: defineKind({
    description: "psf's Bayes classifier: a global model plus owners' own (psf-bayes trains them)",
    options: z
      .object({
        /** The model directory: global.psfbayes and owners/<owner>.psfbayes. */
        models: z.string().min(1),
        /** Whose model overlays the global one; default each mail's first recipient. */
        owner: z.string().min(1).optional(),
        tagAt: spamicity.optional(),
        quarantineAt: spamicity.optional(),
      })
      .strict()
      .optional(),
    create: (o) => {
      if (!o) throw new PsfError('CONFIG', 'bayes: set bayes.models, the model directory');
      const store = BayesStore.open({
        models: o.models,
        ...(o.owner ? { owner: o.owner } : {}),
        ...(o.tagAt ? { tagAt: o.tagAt } : {}),
        ...(o.quarantineAt ? { quarantineAt: o.quarantineAt } : {}),
      });
      // Seen by `ready`; a mail never arrives before it settled.
      store.catch(() => {});
      const learn: Learner = async (mail, label, owner) => {
        const s = await store;
        // The request's owner, else the configured one, else the first recipient (as classify).
        const whose = owner ?? s.ownerOf(mail);
        const { times, before, after } = await s.learn(mail, label, whose);
        return { ...(whose === undefined ? {} : { owner: whose.toLowerCase() }), times, before, after };
      };
      return Object.assign(async (mail: Mail) => (await store).classify(mail), {
        ready: store.then(() => {}),
        learn,
      });
    },
  }),
  rules: defineKind({
    description: "psf's rule set (headers, body, URLs)",
    options: z.object({ thresholds: thresholdsSchema.optional() }).strict().default({}),
    create: (o) => createRulesClassifier(o.thresholds ? { thresholds: o.thresholds } : {}),
  }),
  senders: defineKind({
    description:
      "sender allow and block lists, the admin's and each owner's (as SpamAssassin's welcomelist_from)",
    options: z
      .object({
        allow: z.array(z.string()).default([]),
        block: z.array(z.string()).default([]),
        /** The owners' lists directory: owners/<owner>.senders. */
        lists: z.string().min(1).optional(),
        /** Whose list applies; default each mail's first recipient. */
        owner: z.string().min(1).optional(),
        blockAction: z.enum(['tag', 'quarantine', 'reject']).default('tag'),
      })
      .strict()
      .default({ allow: [], block: [], blockAction: 'tag' }),
    create: (o) =>
      createSenderListsClassifier({
        allow: o.allow,
        block: o.block,
        blockAction: o.blockAction,
        ...(o.lists ? { lists: o.lists } : {}),
        ...(o.owner ? { owner: o.owner } : {}),
      }),
  }),
  spamassassin: defineKind({
    description: "SpamAssassin's spamd",
    options: z
      .object({
        address: hostPort.default({ host: '127.0.0.1', port: 783 }),
        /** spamc's User: a fixed name, or the mail's first recipient when `userFromRecipient`. */
        user: z.string().min(1).optional(),
        userFromRecipient: z.boolean().default(false),
        command: z.enum(['CHECK', 'SYMBOLS', 'REPORT']).default('SYMBOLS'),
        timeoutMs,
        thresholds: thresholdsSchema.optional(),
      })
      .strict()
      .default({ address: { host: '127.0.0.1', port: 783 }, userFromRecipient: false, command: 'SYMBOLS' }),
    create: (o) =>
      createSpamAssassinClassifier({
        ...o.address,
        command: o.command,
        ...(o.userFromRecipient ? { user: firstRecipient } : o.user ? { user: o.user } : {}),
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
        ...(o.thresholds ? { thresholds: o.thresholds } : {}),
      }),
  }),
  rspamd: defineKind({
    description: "rspamd's scan API",
    options: z
      .object({
        url: z.string().url().default('http://127.0.0.1:11333'),
        user: z.string().min(1).optional(),
        userFromRecipient: z.boolean().default(false),
        timeoutMs,
        /** rspamd action -> psf action (or `error`), over the default mapping. */
        actions: z.partialRecord(z.enum(RSPAMD_ACTIONS), z.enum([...VERDICT_ACTIONS, 'error'])).optional(),
      })
      .strict()
      .default({ url: 'http://127.0.0.1:11333', userFromRecipient: false }),
    create: (o) =>
      createRspamdClassifier({
        url: o.url,
        ...(o.userFromRecipient ? { user: firstRecipient } : o.user ? { user: o.user } : {}),
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
        ...(o.actions ? { actions: o.actions } : {}),
      }),
  }),
  attachments: defineKind({
    description: 'attachments that run code (banned files, as amavisd-new)',
    options: z
      .object({
        /** Banned extensions; default DEFAULT_BANNED_EXTENSIONS (Gmail's blocked types). */
        banned: z.array(z.string().min(1)).optional(),
        action: z.enum(['tag', 'quarantine', 'discard', 'reject']).default('quarantine'),
      })
      .strict()
      .default({ action: 'quarantine' }),
    create: (o) =>
      createAttachmentsClassifier({ action: o.action, ...(o.banned ? { banned: o.banned } : {}) }),
  }),
  clamav: defineKind({
    description: "ClamAV's clamd (viruses, as amavisd-new asks it)",
    options: z
      .object({
        address: hostPort.default({ host: '127.0.0.1', port: 3310 }),
        timeoutMs,
        /** What an infected mail gets. */
        action: z.enum(['tag', 'quarantine', 'discard', 'reject']).default('quarantine'),
      })
      .strict()
      .default({ address: { host: '127.0.0.1', port: 3310 }, action: 'quarantine' }),
    create: (o) =>
      createClamavClassifier({
        ...o.address,
        action: o.action,
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      }),
  }),
  composite: defineKind({
    description: 'several kinds at once, scores combined by weight',
    options: z
      .object({
        members: z
          .array(
            z
              .object({
                kind: z.string(),
                weight: z.number().default(1),
                timeoutMs,
                required: z.boolean().default(false),
              })
              .strict(),
          )
          .min(1),
        thresholds: thresholdsSchema.optional(),
      })
      .strict()
      .default({ members: [{ kind: 'rules', weight: 1, required: false }] }),
    create: (o, context) => {
      const built = o.members.map((m) => {
        if (m.kind === 'composite')
          throw new PsfError('CONFIG', 'composite.members: a composite cannot hold a composite');
        return { ...m, classify: context.build(m.kind) };
      });
      const composite = createComposite({
        members: built.map((m) => ({
          name: m.kind,
          classify: m.classify,
          weight: m.weight,
          required: m.required,
          ...(m.timeoutMs ? { timeoutMs: m.timeoutMs } : {}),
          ...(m.classify.learn ? { learn: m.classify.learn } : {}),
        })),
        ...(o.thresholds ? { thresholds: o.thresholds } : {}),
      });
      return Object.assign(composite, {
        close: async () => {
          await Promise.all(built.map((m) => m.classify.close?.()));
        },
        ready: Promise.all(built.map((m) => m.classify.ready)).then(() => {}),
      });
    },
  }),
} satisfies Record<string, KindDefinition>;
