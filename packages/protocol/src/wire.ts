/**
 * The shape of an AMQP message as far as psf reads it. Structural, so the protocol package
 * needs no AMQP client: amqplib's messages fit it as they are.
 */
export interface WireProperties {
  contentType?: string | undefined;
  type?: string | undefined;
  correlationId?: string | undefined;
  headers?: Record<string, unknown> | undefined;
}

export interface WireMessage {
  content: Buffer;
  properties: WireProperties;
}
