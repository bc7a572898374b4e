import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../schemas/events/common.js';
import { AuthError, AuthErrorCode } from '../platform/auth/errors.js';
import { can, type Permission } from '../platform/auth/permissions.js';
import type { Principal } from '../platform/auth/verify.js';
import type { Logger } from '../platform/logging/logger.js';
import type { SqlExecutor } from '../platform/sql/client.js';
import type { QueryLimits } from './config.js';
import { mask, maskJson, type PersonalKind } from './masking.js';

/**
 * THE per-request context every resolver of every area receives (mercurius passes it as the third
 * resolver argument). Built once per request from the verified token: the tenant comes from here and
 * from nowhere else (never from an argument).
 *
 * How an area uses it (see docs/query-api.md, "Adding an area"):
 *   ctx.tenantId, ctx.roles, ctx.correlationId, ctx.log   who asks, for the SQL and the log lines
 *   ctx.sql                                               the read database (PostgreSQL read models)
 *   ctx.batch(name, fn).load(key)                         per-request batching: one statement per name
 *   ctx.loaders.contact.load(id) …                        the entity loaders (by id, tenant-scoped)
 *   ctx.personal(value, 'email')                          the value, or masked for analysts
 *   ctx.require('read:audit', 'auditTrail')               the role guard (AUTH_ERR_FORBIDDEN)
 *   ctx.crossTenant('contact', id)                        the security log line of another tenant's id
 */
export interface QueryContext {
  readonly principal: Principal;
  readonly tenantId: string;
  readonly roles: readonly Role[];
  readonly correlationId: string;
  /** The request's logger (correlationId, tenantId, actor on every line); never log personal values. */
  readonly log: Logger;
  readonly sql: SqlExecutor;
  readonly limits: QueryLimits;
  /** Everything the service was built with (event store, consistency waiter, …: areas read what they need). */
  readonly deps: QueryServices;
  /** The request itself (headers such as X-Consistent-With), for areas that need more than the above. */
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Entries an area adds to the response's top-level `extensions` (e.g. `consistency`), merged after execution. */
  readonly extensions: Record<string, unknown>;
  /** Per-request entity loaders contributed by the areas (declaration-merged into `Loaders`). */
  readonly loaders: Loaders;
  /** Whether the caller's roles grant `permission`. */
  can(permission: Permission): boolean;
  /** Throws AUTH_ERR_FORBIDDEN naming `what` unless the caller's roles grant `permission`. */
  require(permission: Permission, what: string): void;
  /** Whether the caller reads personal values in clear (`read:personal`; analysts do not). */
  readonly seesPersonal: boolean;
  /** `value` as this caller may see it: in clear, or masked (masking.ts); null and "[erased]" unchanged. */
  personal(value: string | null | undefined, kind: PersonalKind): string | null;
  /** A JSON value of personal content (custom fields), masked leaf by leaf for callers without read:personal. */
  personalJson(value: unknown): unknown;
  /**
   * A batch loader shared by the whole request under `name`: every `load(key)` made while the current
   * resolvers run is answered by ONE call of `fn` with every distinct key. `name` must include whatever
   * else changes the statement (a field's arguments), so two different statements never share a batch.
   */
  batch<K, V>(name: string, fn: BatchFn<K, V>): BatchLoader<K, V>;
  /**
   * Records (warn, `security: 'cross-tenant-access'`) that the caller asked for an id that exists in
   * another tenant; the answer stays null, exactly as for an id that does not exist.
   */
  crossTenant(entity: string, id: string): void;
}

/**
 * Services a deployment passes to the query API beyond the read database; each area that needs one
 * declares it here with declaration merging, as an optional member, e.g.
 *   declare module '../../context.js' { interface QueryServices { eventStore?: EventStore } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface QueryServices {}

/** Per-request loaders; each area adds its own with declaration merging (`interface Loaders { contact: … }`). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Loaders {}

export type BatchFn<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;
export interface BatchLoader<K, V> {
  /** The value for `key`, or undefined when `fn` returned none for it. */
  load(key: K): Promise<V | undefined>;
}

/**
 * A minimal per-request batch loader (the DataLoader idea, kept small: no cross-request cache, keys
 * compared with Map semantics). Loads requested in the same turn are dispatched together on the next
 * macrotask (setImmediate), after graphql-js has called every sibling resolver of a list: a list of 50
 * deals asking for their contact makes one statement, not 50. A key already loaded in this request is
 * answered from the request's memo.
 */
export function batchLoader<K, V>(fn: BatchFn<K, V>): BatchLoader<K, V> {
  const memo = new Map<K, Promise<V | undefined>>();
  let pending: { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];
  const dispatch = () => {
    const batch = pending;
    pending = [];
    const keys = [...new Set(batch.map((p) => p.key))];
    fn(keys).then(
      (found) => batch.forEach((p) => p.resolve(found.get(p.key))),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  };
  return {
    load(key) {
      const known = memo.get(key);
      if (known) return known;
      const promise = new Promise<V | undefined>((resolve, reject) => {
        if (pending.length === 0) setImmediate(dispatch);
        pending.push({ key, resolve, reject });
      });
      memo.set(key, promise);
      return promise;
    },
  };
}

export type LoaderFactory = (ctx: QueryContext) => object;

export interface ContextOptions {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly sql: SqlExecutor;
  readonly limits: QueryLimits;
  readonly deps: QueryServices;
  readonly loaderFactories: readonly LoaderFactory[];
}

export function createContext(o: ContextOptions): QueryContext {
  const principal = o.request.principal;
  // The authenticate hook runs before any GraphQL execution; a request without a principal never gets here.
  if (!principal) throw new AuthError(AuthErrorCode.TokenMissing, 'an Authorization: Bearer token is required');
  const seesPersonal = can(principal.roles, 'read:personal');
  const batches = new Map<string, BatchLoader<unknown, unknown>>();
  const loaders: Record<string, unknown> = {};
  const ctx: QueryContext = {
    principal,
    tenantId: principal.tenantId,
    roles: principal.roles,
    correlationId: o.request.correlationId,
    log: o.request.log as unknown as Logger,
    sql: o.sql,
    limits: o.limits,
    deps: o.deps,
    request: o.request,
    reply: o.reply,
    extensions: {},
    loaders: loaders as unknown as Loaders,
    can: (permission) => can(principal.roles, permission),
    require(permission, what) {
      if (!can(principal.roles, permission)) {
        throw new AuthError(AuthErrorCode.Forbidden, `${what} needs the ${permission} permission, which none of the caller's roles grants`, {
          permission,
          field: what,
        });
      }
    },
    seesPersonal,
    personal: (value, kind) => (value === null || value === undefined ? null : seesPersonal ? value : mask(value, kind)),
    personalJson: (value) => (seesPersonal ? value : maskJson(value)),
    batch<K, V>(name: string, fn: BatchFn<K, V>): BatchLoader<K, V> {
      let loader = batches.get(name) as BatchLoader<K, V> | undefined;
      if (!loader) {
        loader = batchLoader(fn);
        batches.set(name, loader as BatchLoader<unknown, unknown>);
      }
      return loader;
    },
    crossTenant(entity, id) {
      o.request.log.warn({ security: 'cross-tenant-access', entity, id }, 'query asked for an id of another tenant; answered as not found');
    },
  };
  for (const factory of o.loaderFactories) Object.assign(loaders, factory(ctx));
  return ctx;
}
