import type { Mail, Verdict } from '@psf/client-sdk';
import { type Attachment, simpleParser } from 'mailparser';

/** The score of a mail with a banned attachment: beyond any spam threshold, as a virus's. */
export const BANNED_SCORE = 100;

/**
 * File types that run code when opened: Gmail's published list of blocked attachment types,
 * which amavisd-new's banned_filename_re also covers in its spirit (executables, scripts, installers,
 * shortcuts, disk images).
 */
// biome-ignore format: a word list
export const DEFAULT_BANNED_EXTENSIONS = [
  'ade', 'adp', 'apk', 'appx', 'appxbundle', 'bat', 'cab', 'chm', 'cmd', 'com', 'cpl', 'diagcab',
  'diagcfg', 'diagpack', 'dll', 'dmg', 'ex', 'ex_', 'exe', 'hta', 'img', 'ins', 'iso', 'isp', 'jar',
  'jnlp', 'js', 'jse', 'lib', 'lnk', 'mde', 'mjs', 'msc', 'msi', 'msix', 'msixbundle', 'msp', 'mst',
  'nsh', 'pif', 'ps1', 'scr', 'sct', 'shb', 'sys', 'vb', 'vbe', 'vbs', 'vhd', 'vxd', 'wsc', 'wsf',
  'wsh', 'xll',
] as const;

/** Attached mails are opened this deep (a forward of a forward of a forward). */
const MAX_DEPTH = 3;

/** Content types of executables, banned whatever the file is called. */
const EXECUTABLE_TYPES = new Set([
  'application/x-msdownload',
  'application/x-msdos-program',
  'application/x-dosexec',
  'application/x-ms-installer',
  'application/x-msi',
  'application/vnd.microsoft.portable-executable',
]);

export interface AttachmentsOptions {
  /** Extensions (without the dot, any case) whose files are banned. Default DEFAULT_BANNED_EXTENSIONS. */
  banned?: readonly string[];
  /** What a mail with a banned attachment gets. Default `quarantine` (amavisd's banned destiny keeps a copy). */
  action?: 'tag' | 'quarantine' | 'discard' | 'reject';
}

/**
 * Bans attachments that run code, as amavisd-new's banned files: a mail with an attachment whose
 * name ends in a banned extension (`invoice.pdf.exe` included; trailing dots and spaces, which
 * Windows drops, do not hide it) or whose content type is an executable's gets `action` with score
 * 100 and a reason `BANNED:<file name>` per banned file. Attached mails (message/rfc822, a
 * forward as attachment) are opened, 3 deep, their files named `BANNED:fwd.eml/setup.exe`;
 * archives are not (ClamAV's job); a cut scan copy (the gateway's maxScanBytes) shows only the
 * attachments within it.
 */
export function createAttachmentsClassifier(
  options: AttachmentsOptions = {},
): (mail: Mail) => Promise<Verdict> {
  const banned = new Set(
    (options.banned ?? DEFAULT_BANNED_EXTENSIONS).map((e) => e.toLowerCase().replace(/^\./, '')),
  );
  const action = options.action ?? 'quarantine';
  const isBanned = (a: Attachment) => {
    const name = (a.filename ?? '').replace(/[. ]+$/, '');
    const dot = name.lastIndexOf('.');
    return (
      banned.has(dot === -1 ? '' : name.slice(dot + 1).toLowerCase()) ||
      EXECUTABLE_TYPES.has(a.contentType.toLowerCase())
    );
  };
  const label = (a: Attachment) => (a.filename || a.contentType).replace(/[^\w.+-]/g, '_');
  /** The banned files among `attachments`, as paths through the attached mails they sit in. */
  const find = async (attachments: Attachment[], path: string, depth: number): Promise<string[]> => {
    const found: string[] = [];
    for (const a of attachments) {
      if (isBanned(a)) found.push(`${path}${label(a)}`);
      else if (a.contentType.toLowerCase() === 'message/rfc822' && depth < MAX_DEPTH) {
        const inner = await simpleParser(a.content, { skipImageLinks: true }).catch(() => undefined);
        if (inner) found.push(...(await find(inner.attachments, `${path}${label(a)}/`, depth + 1)));
      }
    }
    return found;
  };
  return async (mail) => {
    const reasons = (await find((await mail.parsed()).attachments, '', 0)).map(
      (f) => `BANNED:${f.slice(0, 100)}`,
    );
    if (reasons.length === 0) return { v: 1, action: 'accept', score: 0, spam: false, reasons: [] };
    return { v: 1, action, score: BANNED_SCORE, spam: true, reasons: reasons.slice(0, 50) };
  };
}
