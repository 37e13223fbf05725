import { decodeBase64 } from '../../common/crypto/base64.js';
import { SigningKey, verifyJsonSignature } from '../../common/crypto/signing-key.js';
import { contentHash, eventIdOf, hashAndSign } from './event-hashing.js';
import { redact } from './redaction.js';

// The spec's event signing vectors (appendices) and the derived v11 values of matrix-spec.md §1.
const key = new SigningKey('ed25519:1', decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1'));

const minimal = {
  room_id: '!x:domain',
  sender: '@a:domain',
  origin: 'domain',
  origin_server_ts: 1000000,
  signatures: {},
  hashes: {},
  type: 'X',
  content: {},
  prev_events: [],
  auth_events: [],
  depth: 3,
  unsigned: { age_ts: 1000000 },
};

const redactable = {
  content: { body: 'Here is the message content' },
  event_id: '$0:domain',
  origin: 'domain',
  origin_server_ts: 1000000,
  type: 'm.room.message',
  room_id: '!r:domain',
  sender: '@u:domain',
  signatures: {},
  unsigned: { age_ts: 1000000 },
};

function signRedacted(event: Record<string, unknown>, version: '10' | '11'): string {
  const withHash = { ...event, hashes: { sha256: contentHash(event) } };
  return key.signJson('domain', redact(withHash, version)).signatures.domain['ed25519:1'];
}

describe('event hashing and signing', () => {
  it('reproduces the minimal event vector (pre-v11 redaction)', () => {
    expect(contentHash(minimal)).toBe('5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
    expect(signRedacted(minimal, '10')).toBe(
      'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg',
    );
  });

  it('reproduces the redactable event vector (pre-v11 redaction)', () => {
    expect(contentHash(redactable)).toBe('onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
    expect(signRedacted(redactable, '10')).toBe(
      'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA',
    );
  });

  it('gives the derived v11 signatures', () => {
    expect(signRedacted(minimal, '11')).toBe(
      'Jxp+1glFcZM+nnHpY0EkedRR7u0VmKsJYGnQqIvqus3UvL5X/p1y6wSkLhGoTBel6MZ9lrMIzUqrjqFquWJKBw',
    );
    expect(signRedacted(redactable, '11')).toBe(
      '4WQB/6LN2OtkUN/+18xUNB/U4RTX1N3EeKBdlCxux08YO8izKDrSRqML1XB8V97IK7AujkNO1xMl7TaBLA4kDw',
    );
  });

  it('computes the derived v11 create event ID (after its content hash is added)', () => {
    const create: Record<string, unknown> = {
      type: 'm.room.create',
      state_key: '',
      content: { room_version: '11' },
      room_id: '!r:domain',
      sender: '@u:domain',
      origin_server_ts: 1000000,
      depth: 1,
      prev_events: [],
      auth_events: [],
    };
    const hashed = { ...create, hashes: { sha256: contentHash(create) } };
    expect(eventIdOf(hashed, '11')).toBe('$lnkxPwiy8uJoOrtj4C9Dh11Ig8ed3G8cob85ggfXvVA');
  });

  it('hashAndSign produces a PDU whose ID does not change when it is redacted', () => {
    const { pdu, eventId } = hashAndSign(
      {
        room_id: '!r:domain',
        sender: '@u:domain',
        origin_server_ts: 1,
        type: 'm.room.message',
        content: { body: 'hi', msgtype: 'm.text' },
        depth: 2,
        prev_events: ['$a'],
        auth_events: ['$b'],
      },
      '10',
      'domain',
      key,
    );
    expect(eventId).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    expect(eventIdOf(redact(pdu as unknown as Record<string, unknown>, '10'), '10')).toBe(eventId);
    expect(eventIdOf(pdu as unknown as Record<string, unknown>, '10')).toBe(eventId);
    // The signature covers the redacted form, so it verifies on the PDU and on its redaction.
    for (const form of [pdu, redact(pdu as unknown as Record<string, unknown>, '10')]) {
      expect(
        verifyJsonSignature(
          redact(form as unknown as Record<string, unknown>, '10'),
          'domain',
          'ed25519:1',
          key.publicKeyBase64,
        ),
      ).toBe(true);
    }
  });
});
