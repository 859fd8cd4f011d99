import { describe, expect, it } from 'vitest';
import { isPsfError } from './errors.js';
import { RequestHeader, SCAN_REQUEST_TYPE } from './names.js';
import { decodeScanRequest, encodeScanRequest, type ScanRequest } from './scan-request.js';

const request: ScanRequest = {
  id: 'm-1',
  envelope: {
    mailFrom: '',
    rcpt: ['Alice@Example.org', 'alice+x@example.org'],
    clientAddr: '192.0.2.7',
    helo: 'mx.example.net',
    queueId: 'BBCEA2102B8',
  },
  size: 12345,
  truncated: true,
  deadline: 1_900_000_000_000,
  mail: Buffer.from('Subject: hi\r\n\r\nbody\r\n'),
};

describe('scan request', () => {
  it('round-trips, keeping the null sender and raw bytes', () => {
    const wire = encodeScanRequest(request);
    expect(wire.properties.type).toBe(SCAN_REQUEST_TYPE);
    expect(wire.properties.contentType).toBe('message/rfc822');
    expect(wire.content).toBe(request.mail);
    expect(decodeScanRequest(wire)).toEqual({
      ...request,
      envelope: { ...request.envelope, clientName: undefined },
    });
  });

  it('reads 64-bit numbers that arrive as bigints or digit strings', () => {
    const wire = encodeScanRequest(request);
    wire.properties.headers[RequestHeader.deadline] = BigInt(request.deadline);
    wire.properties.headers[RequestHeader.size] = '12345';
    const got = decodeScanRequest(wire);
    expect(got.deadline).toBe(request.deadline);
    expect(got.size).toBe(12345);
  });

  it('refuses a wrong type, a missing id and missing recipients with BAD_REQUEST', () => {
    const wire = encodeScanRequest(request);
    const cases = [
      { ...wire, properties: { ...wire.properties, type: 'psf.scan.v9' } },
      { ...wire, properties: { ...wire.properties, correlationId: '' } },
      {
        ...wire,
        properties: { ...wire.properties, headers: { ...wire.properties.headers, [RequestHeader.rcpt]: [] } },
      },
    ];
    for (const c of cases) {
      let err: unknown;
      try {
        decodeScanRequest(c);
      } catch (e) {
        err = e;
      }
      expect(isPsfError(err, 'BAD_REQUEST')).toBe(true);
    }
  });
});
