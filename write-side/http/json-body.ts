import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './problem.js';

/**
 * The command API's `application/json` parser. It replaces fastify's, which refuses a body carrying a
 * `__proto__` key (or `constructor.prototype`) with the same "not valid JSON" as a syntax error: a
 * client then looks for a typo that is not there. Here the two are told apart:
 *  - not JSON at all → 400 HTTP_ERR_MALFORMED_JSON;
 *  - valid JSON with a prototype-polluting key → 400 HTTP_ERR_FORBIDDEN_PROPERTY naming where it is
 *    (`body.contact.__proto__`). Such a key is never merged into anything: the body is refused whole.
 * Empty bodies keep fastify's 400 HTTP_ERR_EMPTY_BODY; the size limit (413) is fastify's, applied while
 * the body is read.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request: FastifyRequest, text: string | Buffer, done) => {
    try {
      done(null, parseJsonBody(String(text)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}

export function parseJsonBody(text: string): unknown {
  // A UTF-8 byte order mark is not part of the JSON text (RFC 8259 §8.1 lets a parser ignore it).
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new HttpError(400, 'HTTP_ERR_EMPTY_BODY', 'the request body is empty; send a JSON document');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new HttpError(400, 'HTTP_ERR_MALFORMED_JSON', `the request body is not valid JSON (${(e as Error).message})`);
  }
  const path = forbiddenPropertyPath(value);
  if (path !== undefined) {
    throw new HttpError(400, 'HTTP_ERR_FORBIDDEN_PROPERTY', `the request body contains ${path}, a property name refused everywhere (prototype pollution)`, {
      errors: [{ path, rule: 'a property named __proto__, or constructor holding prototype, is refused', issue: 'forbidden_property' }],
    });
  }
  return value;
}

/**
 * Where the first `__proto__` key, or `constructor` key whose value holds `prototype`, sits in a parsed
 * JSON value (JSON.parse makes both plain own properties). An explicit stack, not recursion: a body of
 * a million nested arrays must not overflow the call stack.
 */
export function forbiddenPropertyPath(root: unknown): string | undefined {
  const stack: [unknown, string][] = [[root, 'body']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}.${i}`]);
      continue;
    }
    if (Object.hasOwn(value, '__proto__')) return `${path}.__proto__`;
    const ctor = (value as Record<string, unknown>).constructor;
    if (Object.hasOwn(value, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
      return `${path}.constructor.prototype`;
    }
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], `${path}.${entries[i]![0]}`]);
  }
  return undefined;
}
