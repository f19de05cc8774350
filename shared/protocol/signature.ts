import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of the wire contract (lower-case, as after header normalisation). */
export const HEADER = {
  node: 'x-vipswitch-node',
  timestamp: 'x-vipswitch-timestamp',
  signature: 'x-vipswitch-signature',
} as const;

/** Signature scheme version prefix: `v1=<hex>`. */
export const SIGNATURE_PREFIX = 'v1=';

/** `hex(HMAC-SHA256(key, timestamp + "." + rawBody))`. */
export function sign(key: string | Buffer, timestamp: string, rawBody: string): string {
  return createHmac('sha256', key).update(`${timestamp}.${rawBody}`).digest('hex');
}

/** The three headers a hook sends with a body, signed now. */
export function signedHeaders(cluster: string, node: string, key: string | Buffer, rawBody: string, nowSeconds: number): Record<string, string> {
  const timestamp = String(Math.floor(nowSeconds));
  return {
    'content-type': 'application/json',
    [HEADER.node]: `${cluster}/${node}`,
    [HEADER.timestamp]: timestamp,
    [HEADER.signature]: `${SIGNATURE_PREFIX}${sign(key, timestamp, rawBody)}`,
  };
}

/**
 * Constant-time check of a `v1=<hex>` header against the expected HMAC. Returns false (never throws) for any
 * malformed header, so a caller cannot learn more than "bad signature".
 */
export function verifySignature(key: string | Buffer, timestamp: string, rawBody: string, header: string): boolean {
  if (!header.startsWith(SIGNATURE_PREFIX)) return false;
  const given = header.slice(SIGNATURE_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = Buffer.from(sign(key, timestamp, rawBody), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}
