import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { buildEvent } from '../../shared/protocol/build-event';
import { HEADER, sign, signedHeaders, SIGNATURE_PREFIX, verifySignature } from '../../shared/protocol/signature';
import { loadRepmgrInvocations } from '../support/peers';

const KEY = 'k3y-0f-node2-in-pg-main-with-32+chars';
const TIMESTAMP = '1795313302';

/** A real body: the captured node2 standby_promote as the hook would send it. */
const BODY = (() => {
  const c = loadRepmgrInvocations().find((i) => i.node === 'node2' && i.args[1] === 'standby_promote')!;
  return JSON.stringify(buildEvent('repmgr', c.args, { cluster: 'pg-main', node: 'node2' }, c.facts, new Date(0), '0b7e6a9e-3f43-4c8e-9d2a-6c1f0f3c2a10'));
})();
const HEADER_VALUE = `${SIGNATURE_PREFIX}${sign(KEY, TIMESTAMP, BODY)}`;

/** `text` with the character at `index` replaced by a different printable ASCII character. */
const changeOne = (text: string, index: number, shift: number): string => {
  const code = text.charCodeAt(index);
  const replaced = 32 + ((code - 32 + 1 + (shift % 94)) % 95); // never the same character
  return text.slice(0, index) + String.fromCharCode(replaced) + text.slice(index + 1);
};

describe('sign', () => {
  it('is hex HMAC-SHA256(key, timestamp + "." + rawBody)', () => {
    const expected = createHmac('sha256', KEY).update(`${TIMESTAMP}.${BODY}`).digest('hex');
    expect(sign(KEY, TIMESTAMP, BODY)).toBe(expected);
    expect(sign(KEY, TIMESTAMP, BODY)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same answer for the key as a string or as its bytes', () => {
    expect(sign(Buffer.from(KEY, 'utf8'), TIMESTAMP, BODY)).toBe(sign(KEY, TIMESTAMP, BODY));
  });
});

describe('verifySignature', () => {
  it('accepts what sign produced (round trip)', () => {
    expect(verifySignature(KEY, TIMESTAMP, BODY, HEADER_VALUE)).toBe(true);
  });

  it('round-trips any key, timestamp and body', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.nat(), fc.string({ unit: 'binary' }), (key, ts, body) => {
        expect(verifySignature(key, String(ts), body, `v1=${sign(key, String(ts), body)}`)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any one-character change in the body', () => {
    fc.assert(
      fc.property(fc.nat({ max: BODY.length - 1 }), fc.nat(), (index, shift) => {
        expect(verifySignature(KEY, TIMESTAMP, changeOne(BODY, index, shift), HEADER_VALUE)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a body with one byte more or one byte less', () => {
    expect(verifySignature(KEY, TIMESTAMP, `${BODY} `, HEADER_VALUE)).toBe(false);
    expect(verifySignature(KEY, TIMESTAMP, BODY.slice(0, -1), HEADER_VALUE)).toBe(false);
  });

  it('rejects any one-character change in the timestamp', () => {
    for (let index = 0; index < TIMESTAMP.length; index += 1) {
      for (const shift of [0, 5, 50]) {
        expect(verifySignature(KEY, changeOne(TIMESTAMP, index, shift), BODY, HEADER_VALUE)).toBe(false);
      }
    }
  });

  it('rejects any one-byte change in the key', () => {
    const key = Buffer.from(KEY, 'utf8');
    for (let index = 0; index < key.length; index += 1) {
      const other = Buffer.from(key);
      other[index] = other[index]! ^ 0x01;
      expect(verifySignature(other, TIMESTAMP, BODY, HEADER_VALUE)).toBe(false);
    }
  });

  it('rejects any one-character change in the signature itself', () => {
    const hex = HEADER_VALUE.slice(SIGNATURE_PREFIX.length);
    for (let index = 0; index < hex.length; index += 1) {
      const flipped = hex[index] === '0' ? '1' : '0';
      const header = `${SIGNATURE_PREFIX}${hex.slice(0, index)}${flipped}${hex.slice(index + 1)}`;
      expect(verifySignature(KEY, TIMESTAMP, BODY, header)).toBe(false);
    }
  });

  describe('malformed headers return false without throwing', () => {
    const hex = HEADER_VALUE.slice(SIGNATURE_PREFIX.length);
    it.each([
      ['empty', ''],
      ['no prefix', hex],
      ['another scheme', `v2=${hex}`],
      ['prefix only', SIGNATURE_PREFIX],
      ['short hex', `${SIGNATURE_PREFIX}${hex.slice(0, 63)}`],
      ['half the hex', `${SIGNATURE_PREFIX}${hex.slice(0, 32)}`],
      ['long hex', `${SIGNATURE_PREFIX}${hex}0`],
      ['uppercase hex', `${SIGNATURE_PREFIX}${hex.toUpperCase()}`],
      ['uppercase prefix', `V1=${hex}`],
      ['non-hex', `${SIGNATURE_PREFIX}${'g'.repeat(64)}`],
      ['base64 instead of hex', `${SIGNATURE_PREFIX}${Buffer.from(hex, 'hex').toString('base64')}`],
      ['leading space', ` ${HEADER_VALUE}`],
      ['trailing newline', `${HEADER_VALUE}\n`],
      ['two signatures', `${HEADER_VALUE},${HEADER_VALUE}`],
    ])('%s', (_label, header) => {
      let result: boolean | undefined;
      expect(() => {
        result = verifySignature(KEY, TIMESTAMP, BODY, header);
      }).not.toThrow();
      expect(result).toBe(false);
    });

    it('any string at all', () => {
      fc.assert(
        fc.property(fc.string(), (header) => {
          expect(verifySignature(KEY, TIMESTAMP, BODY, header)).toBe(header === HEADER_VALUE);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('signedHeaders', () => {
  it('sends content type, cluster/node, whole-second timestamp and a signature that verifies', () => {
    // Act
    const headers = signedHeaders('pg-main', 'node2', KEY, BODY, 1795313302.987);

    // Assert
    expect(headers).toEqual({
      'content-type': 'application/json',
      [HEADER.node]: 'pg-main/node2',
      [HEADER.timestamp]: '1795313302',
      [HEADER.signature]: HEADER_VALUE,
    });
    expect(verifySignature(KEY, headers[HEADER.timestamp]!, BODY, headers[HEADER.signature]!)).toBe(true);
  });
});
