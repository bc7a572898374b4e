import { z } from 'zod';
import { LOG_LEVELS } from '../logging/logger.js';

/**
 * THE environment parser of every deployable (GUIDE rule 10): the write side, the relay, the projections
 * service, `npm start` and the query API each describe their variables as one zod object (built from the
 * shared shapes below) and parse it here, once, at start-up. A failure lists every bad variable at once,
 * so a deployment is fixed in one go; the result is frozen, so nothing changes it later.
 *
 * An empty variable (`FOO=` in an env file, `FOO=""` in a shell) means unset, as in most twelve-factor
 * tools: its default applies, and a required one reports "is required".
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_ERR_INVALID';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Exit code of a process refused for its configuration (sysexits EX_CONFIG). */
export const EX_CONFIG = 78;

type EnvSchema = z.ZodObject<z.ZodRawShape>;

/** The variables of `schema` in `env`, empty ones dropped. Variables the schema does not name are ignored. */
function relevant(schema: EnvSchema, env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') out[key] = v;
  }
  return out;
}

function issuesOf(error: z.ZodError, given: Record<string, string>): ConfigIssue[] {
  return error.issues.map((i) => {
    const variable = String(i.path[0] ?? '(environment)');
    // zod says "expected string, received undefined"; an operator reads "is required".
    const missing = i.code === 'invalid_type' && i.path.length === 1 && !(variable in given);
    return { variable, message: missing ? 'is required' : i.message };
  });
}

/** Parses `env` with `schema`: frozen output, or a ConfigError naming every bad variable. */
export function parseEnv<S extends EnvSchema>(schema: S, env: Env): Readonly<z.output<S>> {
  return parseEnvs(env, [schema])[0];
}

/**
 * Parses `env` with several schemas (one per part of a composition root, e.g. the write side's and the
 * projector runtime's inside `npm start`) and reports the issues of ALL of them in one ConfigError.
 */
export function parseEnvs<const S extends readonly EnvSchema[]>(env: Env, schemas: S): { readonly [K in keyof S]: Readonly<z.output<S[K]>> } {
  const issues: ConfigIssue[] = [];
  const out = schemas.map((schema) => {
    const given = relevant(schema, env);
    const parsed = schema.safeParse(given);
    if (parsed.success) return deepFreeze(parsed.data);
    issues.push(...issuesOf(parsed.error, given));
    return undefined;
  });
  if (issues.length > 0) throw new ConfigError(dedupe(issues));
  return out as { readonly [K in keyof S]: Readonly<z.output<S[K]>> };
}

// Two schemas of one root may share a variable (LOG_LEVEL, DATA_DIR): its issue is reported once.
function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.variable}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** A whole number within bounds, from its decimal text; units are in the variable's name (`_MS`, `_BYTES`). */
export const int = (min: number, max: number) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min).max(max);

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must start with postgres:// or postgresql://');

/**
 * `host:port` pairs separated by commas. Before this check a typo (`localhost9092`, `kafka:90922`) was
 * accepted at start and surfaced as a connection retry loop in kafkajs.
 */
const BROKER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;
export const KafkaBrokers = z.string().superRefine((text, ctx) => {
  const brokers = text.split(',').map((b) => b.trim());
  for (const b of brokers) {
    const m = BROKER.exec(b);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65_535) {
      ctx.addIssue({ code: 'custom', message: `"${b.slice(0, 100)}" is not host:port (a comma-separated list of Kafka brokers)` });
      return;
    }
  }
});

/** The variables more than one deployable reads; each spreads the ones it uses into its own schema. */
export const SharedEnv = {
  /** Where the embedded adapters keep their files (event store, read database, bus, generated secrets). */
  DATA_DIR: z.string().min(1).default('./.annals'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** esdb://… → EventStoreDB, postgres://… → PostgreSQL, unset → embedded PGlite under DATA_DIR/eventstore. */
  EVENTSTORE_URL: z
    .string()
    .regex(/^(esdb(\+discover)?|postgres(ql)?):\/\/\S+$/, 'must start with esdb://, esdb+discover://, postgres:// or postgresql://')
    .optional(),
  /** The read database (PostgreSQL); unset → embedded PGlite under DATA_DIR/read. */
  READ_DB_URL: postgresUrl.optional(),
  /** Unset → the in-process bus (meaningful inside `npm start` only, where the relay shares it). */
  KAFKA_BROKERS: KafkaBrokers.optional(),
  /** Kafka consumer session timeout: a consumer silent this long is presumed dead and its partitions move. */
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 300_000).default(10_000),
  /** Past this, a stop that is still draining exits with 1. */
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
} as const;

export { postgresUrl as PostgresUrl };
