// PostgreSQL from the Debian package, but our own cluster (initdb + pg_ctl) under DATA_DIR, owned
// by the unprivileged service user, on a non-default port. The distribution's own cluster (if any)
// is left alone.
import { existsSync, readdirSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Health } from './proc.js';
import type { StackServer } from './server.js';
import { HOST, PORTS, POSTGRES, VERSIONS } from './versions.js';
import { StackError, aptInstall, ensureServiceDir, errorMessage, isOurProcess, readPidFile, run, runUnchecked, serviceUser, stackDir, tailFile, waitHealthy } from './proc.js';

const dir = (): string => stackDir('postgres');
const pgdata = (): string => join(dir(), 'data');
const socketDir = (): string => join(dir(), 'run');
const log = (): string => join(dir(), 'postgres.log');

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  // Highest installed major wins (Debian can have several side by side).
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], 'bin') : undefined;
}

function bin(tool: string): string {
  const b = binDir();
  if (!b) throw new StackError('PostgreSQL binaries not found under /usr/lib/postgresql; run `annals stack up postgres` as root to apt-install them');
  return join(b, tool);
}

export const url = (database: string = POSTGRES.database): string =>
  `postgres://${POSTGRES.user}:${POSTGRES.password}@${HOST}:${PORTS.postgres}/${database}`;

async function query<T extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 2_000 });
  // An unreachable server emits 'error' on the client as well as rejecting connect().
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// Settings rewritten at every start, so a change here reaches an existing cluster.
function settings(): string {
  // Unix socket paths are limited to ~107 bytes; a deep DATA_DIR falls back to TCP only.
  const sock = socketDir().length + '/.s.PGSQL.NNNNN'.length < 100 ? socketDir() : '';
  return [
    '# Written by annals stack (scripts/stack/postgres.ts) at every start; edits are overwritten.',
    `port = ${PORTS.postgres}`,
    `listen_addresses = '${HOST}'`,
    `unix_socket_directories = '${sock}'`,
    // Durable like production: tests that assert on crash-safety must not be fooled by a
    // fsync-off cluster.
    'fsync = on',
    'synchronous_commit = on',
    'full_page_writes = on',
    'max_connections = 200',
    'shared_buffers = 128MB',
    // Projections and the relay may use logical decoding later; costs nothing at this scale.
    'wal_level = logical',
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    'log_min_messages = warning',
    '',
  ].join('\n');
}

export const postgres: StackServer = {
  name: 'postgres',
  address: () => `${HOST}:${PORTS.postgres}`,
  env: () => ({ DATABASE_URL: url(), EVENTSTORE_URL: url(), READ_DB_URL: url(POSTGRES.readDatabase) }),
  logFile: log,

  async install() {
    if (!binDir()) await aptInstall(VERSIONS.postgresAptPackage);
  },

  runningPid() {
    const pid = readPidFile(join(pgdata(), 'postmaster.pid'));
    return isOurProcess(pid, pgdata()) ? pid : undefined;
  },

  clearStalePid() {
    // pg_ctl/postgres handle a stale postmaster.pid themselves (they check the pid); nothing to do.
  },

  async start() {
    await ensureServiceDir(dir());
    await ensureServiceDir(socketDir());
    if (!existsSync(join(pgdata(), 'PG_VERSION'))) {
      // A half-made data dir (initdb interrupted) would make initdb refuse to run.
      rmSync(pgdata(), { recursive: true, force: true });
      await ensureServiceDir(pgdata());
      const pwfile = join(dir(), '.pwfile');
      writeFileSync(pwfile, `${POSTGRES.password}\n`, { mode: 0o600 });
      const user = await serviceUser();
      if (user.switchUser) chownSync(pwfile, user.uid, user.gid);
      try {
        await run(
          bin('initdb'),
          ['-D', pgdata(), '-U', POSTGRES.user, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--data-checksums'],
          { asServiceUser: true, logFile: log(), timeoutMs: 120_000 },
        );
      } finally {
        rmSync(pwfile, { force: true });
      }
      const conf = join(pgdata(), 'postgresql.conf');
      writeFileSync(conf, "\n# annals stack settings\ninclude 'annals-stack.conf'\n", { flag: 'a' });
    }
    const stackConf = join(pgdata(), 'annals-stack.conf');
    writeFileSync(stackConf, settings());
    const user = await serviceUser();
    if (user.switchUser) chownSync(stackConf, user.uid, user.gid);

    // pg_ctl forks the postmaster and waits (-w) until it accepts connections, or reports why not.
    const r = await runUnchecked(bin('pg_ctl'), ['start', '-D', pgdata(), '-l', log(), '-w', '-t', '90'], { asServiceUser: true, timeoutMs: 120_000 });
    if (r.code !== 0) {
      throw new StackError(`postgres failed to start: ${r.output.trim()}\n--- ${log()} (tail) ---\n${tailFile(log())}`);
    }
    await waitHealthy(() => this.health(), { name: 'postgres', timeoutMs: 30_000, logFile: log(), pid: () => this.runningPid() });
    await this.ensureReady?.();
  },

  // Databases are (re)created after a fresh start and on reuse, so a test that dropped one gets
  // it back with the next `up`.
  async ensureReady() {
    for (const db of [POSTGRES.database, POSTGRES.readDatabase]) {
      const exists = await query('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (exists.rowCount === 0) await query('postgres', `CREATE DATABASE "${db}" OWNER "${POSTGRES.user}"`);
    }
  },

  async stop() {
    const pid = this.runningPid();
    if (pid === undefined) return 'not running';
    // Fast shutdown: rolls back open transactions and checkpoints, instead of waiting for clients.
    const r = await runUnchecked(bin('pg_ctl'), ['stop', '-D', pgdata(), '-m', 'fast', '-w', '-t', '60'], { asServiceUser: true, timeoutMs: 90_000 });
    if (r.code !== 0) throw new StackError(`pg_ctl stop failed: ${r.output.trim()}`);
    return `stopped (pid ${pid})`;
  },

  async health(): Promise<Health> {
    try {
      const r = await query<{ v: string }>('postgres', 'SELECT version() AS v');
      return { ok: true, detail: r.rows[0]?.v.split(' on ')[0] ?? 'ok' };
    } catch (e) {
      return { ok: false, detail: errorMessage(e) };
    }
  },
};
