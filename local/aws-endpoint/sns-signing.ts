import { createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';

/**
 * SNS message signing, SignatureVersion 1 (SHA1withRSA over the canonical string AWS documents), with a
 * self-signed certificate the endpoint serves at its SigningCertURL. A receiver that verifies signatures
 * can do so against that certificate exactly as it would against AWS's (only the certificate's host differs).
 */
export interface SnsSigner {
  /** The certificate, PEM. */
  readonly certificatePem: string;
  /** Base64 signature of `message` as SNS would compute it. */
  sign(message: Record<string, string | undefined>): string;
}

/** The keys SNS signs for each message type, in the order AWS documents. */
const SIGNED_KEYS: Readonly<Record<string, readonly string[]>> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** The string SNS signs: `Key\nvalue\n` for each signed key present. */
export function snsStringToSign(message: Record<string, string | undefined>): string {
  const keys = SIGNED_KEYS[message.Type ?? ''] ?? SIGNED_KEYS.Notification ?? [];
  let out = '';
  for (const key of keys) {
    const value = message[key];
    if (value === undefined) continue;
    out += `${key}\n${value}\n`;
  }
  return out;
}

// --- a minimal DER writer, enough for one X.509 v3 certificate ---

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));

function derInteger(bytes: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a zero byte in front to stay positive.
  const first = bytes[0] ?? 0;
  return tlv(0x02, first & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function derOid(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  const bytes: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [part & 0x7f];
    for (let n = Math.floor(part / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function derUtcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-22T02:32:00.000Z
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function derName(commonName: string): Buffer {
  return seq(set(seq(derOid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function selfSignedCertificate(publicKey: KeyObject, privateKey: KeyObject, commonName: string): string {
  const sha256WithRsa = seq(derOid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, derInteger(Buffer.from([2]))), // v3
    derInteger(randomBytes(16).fill(0x7f, 0, 1)),
    sha256WithRsa,
    derName(commonName),
    seq(derUtcTime(new Date(now - 3600_000)), derUtcTime(new Date(now + 10 * 365 * 86400_000))),
    derName(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signer = createSign('sha256');
  signer.update(tbs);
  const signature = signer.sign(privateKey);
  const der = seq(tbs, sha256WithRsa, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

let shared: SnsSigner | undefined;

/** The process-wide signer (an RSA key takes tens of milliseconds to make; one is enough). */
export function snsSigner(): SnsSigner {
  if (shared !== undefined) return shared;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificatePem = selfSignedCertificate(publicKey, privateKey, 'sns.local-aws-endpoint.vipswitch');
  shared = {
    certificatePem,
    sign(message) {
      const signer = createSign('RSA-SHA1');
      signer.update(snsStringToSign(message), 'utf8');
      return signer.sign(privateKey, 'base64');
    },
  };
  return shared;
}
