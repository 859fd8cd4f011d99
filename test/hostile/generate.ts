/**
 * The big hostile mails, made at test time so the corpus stays small. Each is a plain function of
 * its size, so a failure is reproducible from the case name alone.
 */

const HEAD = (name: string) =>
  `From: <hostile@example.net>\r\nTo: <alice@example.org>\r\nSubject: ${name}\r\n` +
  `Message-ID: <${name}@example.net>\r\n`;

/** One header field of `bytes` bytes on a single line (RFC 5322 allows 998), a forged verdict after it. */
export function hugeHeaderLine(bytes = 1024 * 1024): Buffer {
  const huge = `X-Huge: ${'h'.repeat(bytes)}\r\n`;
  return Buffer.from(`${HEAD('huge-header-line')}${huge}${FORGED}\r\nbody\r\n`, 'latin1');
}

/** A forged verdict, folded: a copy of the gateway's must never survive, wherever it is. */
const FORGED = 'X-Spam-Flag: NO\r\nX-PSF-Status: clean;\r\n\taction=accept\r\n';

/** `count` header fields, then a forged verdict far beyond what the gateway holds in memory. */
export function manyHeaderLines(count = 100_000): Buffer {
  const fields = Array.from({ length: count }, (_, i) => `X-Line-${i}: ${i}\r\n`).join('');
  return Buffer.from(`${HEAD('many-header-lines')}${fields}${FORGED}\r\nbody\r\n`, 'latin1');
}

/** A body line of `bytes` bytes (RFC 5321 allows 998 with CRLF). */
export function longBodyLine(bytes = 100_000): Buffer {
  return Buffer.from(`${HEAD('long-body-line')}\r\n${'x'.repeat(bytes)}\r\nend\r\n`, 'latin1');
}

/** multipart/mixed nested `depth` levels deep, every level closed properly. */
export function nestedMultipart(depth = 1000): Buffer {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    open.push(`Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`);
    close.push(`\r\n--b${i}--\r\n`);
  }
  const inner = 'Content-Type: text/plain\r\n\r\nthe innermost part';
  return Buffer.from(
    `${HEAD('nested-multipart')}MIME-Version: 1.0\r\n${open.join('')}${inner}${close.reverse().join('')}`,
    'latin1',
  );
}

/** The first line of bigMail(): where a receiver's copy starts once the gateway's headers are cut. */
export const BIG_MAIL_START = 'From: <big@example.net>\r\n';

/** A mail of about `bytes` bytes in 64 KiB chunks of 76-character lines, made as it is read. */
export function* bigMail(bytes = 50 * 1024 * 1024): Generator<Buffer> {
  yield Buffer.from(`${BIG_MAIL_START}To: <alice@example.org>\r\nSubject: big\r\n\r\n`, 'latin1');
  const line = 'y'.repeat(76);
  const chunk = Buffer.from(`${line}\r\n`.repeat(840), 'latin1'); // 66 kB
  for (let sent = 0; sent < bytes; sent += chunk.length) yield chunk;
}
