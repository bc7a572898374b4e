import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js';

/**
 * Requests Node's HTTP parser refuses before any route runs: headers over the server's limit (431, e.g.
 * a huge `Authorization` header), a request that timed out (408), bytes that are not HTTP (400). Node
 * (and fastify's default) answer these in plain text or ad-hoc JSON; here they are problem+json like
 * every other error, with a fresh correlationId (there is no request to take one from). Written on the
 * raw socket, which is then closed: the parser cannot resume mid-request.
 */
export function problemClientErrorHandler(this: { log: { debug: (o: object, m: string) => void } }, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HTTP_ERR_HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts (16 KiB in total); a bearer token is usually a few hundred bytes']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'HTTP_ERR_REQUEST_TIMEOUT', 'the request was not received in time']
        : [400, 'Bad Request', 'HTTP_ERR_MALFORMED_REQUEST', 'the request is not valid HTTP'];
  const correlationId = randomUUID();
  this.log.debug({ code, parserError: err.code, correlationId }, 'client error before routing');
  const body = JSON.stringify(problem(status, code, detail, correlationId));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Correlation-Id: ${correlationId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
