import { Client, errors } from '@elastic/elasticsearch';
import { z } from 'zod';

/**
 * The Elasticsearch client as every deployable opens it (the search projector writes, the query API
 * reads): one place for the connection settings, the configuration variables and the "is this worth
 * retrying" rule.
 */
export const ElasticsearchEnv = {
  /** Unset → search runs on the embedded adapter (PostgreSQL full-text + pg_trgm in the read database). */
  ELASTICSEARCH_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'must start with http:// or https://')
    .optional(),
  /** Prefix of the aliases and indices (`<prefix>contacts`), so deployments can share a cluster. Lower case. */
  ELASTICSEARCH_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'lower-case letters, digits, _ and - (at most 41), starting with a letter or digit')
    .optional(),
} as const;

export interface ElasticsearchOptions {
  /** Per-request timeout (ms); a bulk of the projector stays well under it. */
  readonly requestTimeoutMs?: number;
  /** The client's own retries of a failed connection (the projector retries whole items on top). */
  readonly maxRetries?: number;
}

export function openElasticsearch(url: string, options: ElasticsearchOptions = {}): Client {
  return new Client({
    node: url,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    maxRetries: options.maxRetries ?? 2,
    // Compressed bodies: a bulk of documents is mostly repeated keys.
    compression: false,
  });
}

/** HTTP statuses Elasticsearch answers when it is overloaded or briefly unavailable: back off and retry. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export const isRetryableStatus = (status: number | undefined): boolean => status !== undefined && RETRYABLE_STATUS.has(status);

/** The server is unreachable, overloaded or timing out: wait it out; never blame an event for it. */
export function isTransientElasticsearchError(error: unknown): boolean {
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError || error instanceof errors.NoLivingConnectionsError) return true;
  if (error instanceof errors.ResponseError) return isRetryableStatus(error.meta.statusCode ?? undefined);
  return false;
}

export { Client as ElasticsearchClient, errors as elasticsearchErrors };
