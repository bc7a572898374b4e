import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths pino censors wherever they appear. Personal data must never reach a log line (GUIDE rule 13);
 * the first line of defence is that no code logs bodies or events, this is the second: request and
 * response bodies, credentials, and the personal field names of our schemas are redacted, one level deep
 * in any object.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body',
  'res.body',
  'body',
  'payload',
  'data',
  'token',
  // Top-level `name` is pino's service name, so names are redacted one level down only.
  '*.name',
  ...['email', 'phone', 'firstName', 'lastName', 'notes', 'summary', 'address'].flatMap((f) => [f, `*.${f}`]),
];

export interface LoggerConfig {
  readonly level: LogLevel;
  /** Service name on every line (`write-side`, `projections`, …). */
  readonly name: string;
}

export function createLogger(config: LoggerConfig, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // `err` keeps stack and code; nothing else is serialized implicitly.
    serializers: { err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
