import { createHash, createHmac } from 'node:crypto';

/**
 * The one way to name a stream after a tuple of values (idempotency keys, email claims, the name +
 * company index): `<prefix>-<hex digest>` of the tuple encoded as a JSON array.
 *
 * Why JSON and not `a:b` or `a\nb`: a separator that may occur inside a part makes two tuples share a
 * stream (tenant `acme` + key `x:k1` and tenant `acme:x` + key `k1` were one idempotency stream, so one
 * tenant's create answered with another tenant's aggregate). A JSON array quotes and escapes every part,
 * so distinct tuples always encode distinctly; lone surrogates are escaped as `\udXXX` by JSON.stringify
 * before the UTF-8 encoding the digest sees, so they cannot collapse into U+FFFD either. The prefix is the
 * first element, so the streams of different purposes never collide even under one key.
 *
 * With `key`, the digest is an HMAC: the stream name then reveals nothing guessable about personal data
 * (an email, a name) to whoever can list streams. Without it, SHA-256.
 */
export function hashedStreamName(prefix: string, parts: readonly string[], key?: string): string {
  return `${prefix}-${tupleDigest([prefix, ...parts], key)}`;
}

/** The hex digest of a tuple, encoded as a JSON array (see above): also for derived keys that are not stream names. */
export function tupleDigest(parts: readonly string[], key?: string): string {
  const encoded = JSON.stringify(parts);
  const digest = key === undefined ? createHash('sha256').update(encoded, 'utf8') : createHmac('sha256', key).update(encoded, 'utf8');
  return digest.digest('hex');
}
