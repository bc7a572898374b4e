/**
 * Which failures a projector waits out and which it blames on an event.
 *
 * Only a failure of the CONNECTION to the read database is retried without limit: while the server is gone,
 * every event fails the same way, and dead-lettering them would empty the read model into the DLQ. Every
 * other failure, whatever its SQLSTATE (or none: an error node-postgres throws for bad input), is a
 * failure of the data or of the code: if it repeats on the same batch, the runtime bisects the batch down
 * to the event and dead-letters it after its attempts, so nothing can hold a projector forever.
 *
 * 08P01 (protocol violation) is NOT a connection failure although it is in class 08: the server sends it
 * for a malformed message from us (a NUL byte in a query's text) and keeps the connection open.
 */
const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
]);

/** Node's socket errors (err.code), raised by node-postgres when the server cannot be reached or drops us. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/** node-postgres's own messages for a lost connection or an exhausted pool (they carry no code). */
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i, // pool exhausted: connectionTimeoutMillis elapsed waiting for a client
  /client has encountered a connection error and is not queryable/i,
  /connection (?:to the server )?(?:was )?(?:closed|lost|refused)/i,
  /server closed the connection unexpectedly/i,
];

export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e != null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code.startsWith('08') && code !== '08P01') return true;
      if (CONNECTION_SQLSTATES.has(code) || NETWORK_CODES.has(code)) return true;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && CONNECTION_MESSAGES.some((m) => m.test(message))) return true;
    // AggregateError (a connect() that tried IPv4 and IPv6) carries the socket errors inside.
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.some((x) => isConnectionError(x))) return true;
  }
  return false;
}

/** A short, log-safe description of a failure: its code and message, no parameters or rows. */
export function describeFailure(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
