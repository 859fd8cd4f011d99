import { describe, expect, it } from 'vitest';
import { createAttachmentsClassifier } from './attachments.js';
import { createComposite } from './composite.js';
import { createRulesClassifier } from './rules.js';
import { mailOf, PLAIN, withAttachment } from './test-mails.js';

const attached = (filename: string, contentType?: string) =>
  mailOf(
    withAttachment('MZ... not really a program\n', { filename, ...(contentType ? { contentType } : {}) }),
  );

describe('banned attachments', () => {
  it('quarantines files that run code, by extension (double ones and trailing dots too) or executable type', async () => {
    const banned = createAttachmentsClassifier();
    expect(await banned(attached('invoice.pdf.exe'))).toEqual({
      v: 1,
      action: 'quarantine',
      score: 100,
      spam: true,
      reasons: ['BANNED:invoice.pdf.exe'],
    });
    expect((await banned(attached('Setup.SCR. . '))).reasons).toEqual(['BANNED:Setup.SCR._._']);
    expect((await banned(attached('report.pdf', 'application/x-msdownload'))).action).toBe('quarantine');
    expect((await banned(attached('run me.js'))).reasons).toEqual(['BANNED:run_me.js']);
  });

  it('opens attached mails (a forward as attachment), three deep', async () => {
    const banned = createAttachmentsClassifier();
    /** `raw` attached to a new mail as message/rfc822. */
    const forward = (raw: string, n: number) =>
      [
        `From: fwd${n}@example.net`,
        `Subject: fwd ${n}`,
        'MIME-Version: 1.0',
        `Content-Type: multipart/mixed; boundary="f${n}"`,
        '',
        `--f${n}`,
        'Content-Type: text/plain',
        '',
        'see attached',
        `--f${n}`,
        'Content-Type: message/rfc822',
        `Content-Disposition: attachment; filename="fwd${n}.eml"`,
        '',
        raw,
        `--f${n}--`,
        '',
      ].join('\r\n');
    const evil = withAttachment('MZ', { filename: 'setup.exe' });
    expect((await banned(mailOf(forward(evil, 1)))).reasons).toEqual(['BANNED:fwd1.eml/setup.exe']);
    const deep = forward(forward(forward(evil, 3), 2), 1);
    expect((await banned(mailOf(deep))).reasons).toEqual(['BANNED:fwd1.eml/fwd2.eml/fwd3.eml/setup.exe']);
    // Deeper than that is not opened.
    expect((await banned(mailOf(forward(deep, 0)))).action).toBe('accept');
    expect((await banned(mailOf(forward(withAttachment('%PDF', { filename: 'a.pdf' }), 1)))).action).toBe(
      'accept',
    );
  });

  it('lets documents, pictures and plain mail through', async () => {
    const banned = createAttachmentsClassifier();
    for (const name of ['report.pdf', 'photo.JPG', 'notes.txt', 'exe', 'archive.zip'])
      expect(await banned(attached(name))).toEqual({
        v: 1,
        action: 'accept',
        score: 0,
        spam: false,
        reasons: [],
      });
    expect((await banned(mailOf(PLAIN))).action).toBe('accept');
  });

  it('takes its own list and action', async () => {
    const strict = createAttachmentsClassifier({ banned: ['.ZIP', 'docm'], action: 'reject' });
    expect(await strict(attached('archive.zip'))).toMatchObject({
      action: 'reject',
      reasons: ['BANNED:archive.zip'],
    });
    expect((await strict(attached('tool.exe'))).action).toBe('accept');
  });

  it('in a composite, a banned file outweighs the spam rules: quarantined from the quarantine threshold', async () => {
    const composite = createComposite({
      members: [
        { name: 'rules', classify: createRulesClassifier() },
        { name: 'attachments', classify: createAttachmentsClassifier() },
      ],
      thresholds: { tag: 5, quarantine: 50 },
    });
    const v = await composite(attached('invoice.pdf.exe'));
    expect(v.action).toBe('quarantine');
    expect(v.reasons).toContain('attachments:BANNED:invoice.pdf.exe');
    expect((await composite(attached('invoice.pdf'))).action).toBe('accept');
  });
});
