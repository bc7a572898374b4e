// Elasticsearch from Maven Central's integ-test-zip: the only ES distribution published there.
// It is a lean server: besides the core it carries only transport-netty4, apm, x-pack-core and
// x-pack-security (security disabled below). Modules such as analysis-common (ngram/edge_ngram,
// asciifolding…), lang-painless (scripts), reindex (_reindex, _delete_by_query,
// _update_by_query) and mapper-extras (search_as_you_type) are NOT there, so the search
// projector must stick to core features (standard analyzer, fuzzy match, aliases, external
// versioning, bulk) to behave the same here and on a full distribution.
// ES refuses to run as root: it runs as the service user, from a copy staged inside DATA_DIR.
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Health } from './proc.js';
import type { StackServer } from './server.js';
import { HEAP, HOST, PORTS, VERSIONS } from './versions.js';
import {
  StackError,
  aptInstall,
  assertPortsFree,
  cacheDir,
  chownTree,
  ensureServiceDir,
  errorMessage,
  httpGet,
  isOurProcess,
  javaHome,
  mvn,
  readPidFile,
  removeFile,
  run,
  runUnchecked,
  stackDir,
  stopPidFileServer,
  tailFile,
  waitHealthy,
  writeFileAs,
} from './proc.js';

const CLUSTER = 'annals-stack';
const dir = (): string => stackDir('elasticsearch');
const home = (): string => join(dir(), 'dist', `elasticsearch-${VERSIONS.elasticsearch}`);
const confDir = (): string => join(dir(), 'config');
const pidFile = (): string => join(dir(), 'elasticsearch.pid');
const launcherLog = (): string => join(dir(), 'launcher.log');
const serverLog = (): string => join(dir(), 'logs', `${CLUSTER}.log`);
const cache = (): string => cacheDir('elasticsearch', VERSIONS.elasticsearch);
const zip = (): string => join(cache(), `elasticsearch-${VERSIONS.elasticsearch}.zip`);
const httpUrl = (): string => `http://${HOST}:${PORTS.elasticsearch}`;

function elasticsearchYml(): string {
  return [
    '# Written by annals stack (scripts/stack/elasticsearch.ts) at every start; edits are overwritten.',
    `cluster.name: ${CLUSTER}`,
    'node.name: annals-stack-1',
    `path.data: ${join(dir(), 'data')}`,
    `path.logs: ${join(dir(), 'logs')}`,
    `network.host: ${HOST}`,
    `http.port: ${PORTS.elasticsearch}`,
    `transport.port: ${PORTS.elasticsearchTransport}`,
    // Single node, no cluster formation; also keeps the production bootstrap checks off (loopback).
    'discovery.type: single-node',
    // Development machines run with full-ish disks; the default 85/90/95 % watermarks would
    // turn indices read-only in the middle of a test run.
    'cluster.routing.allocation.disk.threshold_enabled: false',
    // x-pack-security ships in this zip and is on by default in 8.x; tests talk plain HTTP.
    'xpack.security.enabled: false',
    // Tests drop their indices by pattern.
    'action.destructive_requires_name: false',
    '',
  ].join('\n');
}

export const elasticsearch: StackServer = {
  name: 'elasticsearch',
  address: httpUrl,
  env: () => ({ ELASTICSEARCH_URL: httpUrl() }),
  logFile: serverLog,

  async install() {
    if (!existsSync('/usr/bin/unzip')) await aptInstall('unzip');
    if (existsSync(join(cache(), '.complete'))) return;
    await mvn(
      ['dependency:copy', `-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:${VERSIONS.elasticsearch}:zip`, `-DoutputDirectory=${cache()}`],
      process.cwd(),
      join(cache(), 'mvn.log'),
    );
    if (!existsSync(zip())) throw new StackError(`maven finished but ${zip()} is missing`);
    writeFileSync(join(cache(), '.complete'), new Date().toISOString());
  },

  runningPid() {
    const pid = readPidFile(pidFile());
    // The server JVM carries -Des.path.home=<our staged copy>, unique to this DATA_DIR.
    return isOurProcess(pid, `-Des.path.home=${home()}`) ? pid : undefined;
  },

  clearStalePid() {
    removeFile(pidFile());
  },

  async start() {
    await assertPortsFree('elasticsearch', HOST, [PORTS.elasticsearch, PORTS.elasticsearchTransport]);
    await ensureServiceDir(dir());
    // Unzipping (~1 s) rather than hard-linking the cache: the distribution must be readable by
    // the service user and the cache may sit in a private home directory.
    const marker = join(home(), '.staged');
    if (!existsSync(marker) || readFileSync(marker, 'utf8') !== VERSIONS.elasticsearch) {
      rmSync(join(dir(), 'dist'), { recursive: true, force: true });
      await run('unzip', ['-q', zip(), '-d', join(dir(), 'dist')], { timeoutMs: 120_000 });
      writeFileSync(marker, VERSIONS.elasticsearch);
    }
    // Our own ES_PATH_CONF: the distribution's defaults plus our elasticsearch.yml; the keystore
    // ES creates there on first start survives restarts.
    await ensureServiceDir(confDir());
    for (const f of ['jvm.options', 'log4j2.properties']) copyFileSync(join(home(), 'config', f), join(confDir(), f));
    cpSync(join(home(), 'config', 'jvm.options.d'), join(confDir(), 'jvm.options.d'), { recursive: true });
    writeFileAs(join(confDir(), 'elasticsearch.yml'), elasticsearchYml());
    for (const sub of ['data', 'logs', 'tmp']) await ensureServiceDir(join(dir(), sub));
    await chownTree(confDir());
    this.clearStalePid();

    // `-d` daemonises: the launcher starts the server JVM, waits until it reports started (or
    // failed) and exits, leaving only the server and the pid file it writes.
    const r = await runUnchecked(join(home(), 'bin', 'elasticsearch'), ['-d', '-p', pidFile()], {
      asServiceUser: true,
      cwd: dir(),
      env: {
        ...process.env,
        HOME: dir(),
        ES_JAVA_HOME: javaHome(),
        ES_PATH_CONF: confDir(),
        ES_TMPDIR: join(dir(), 'tmp'),
        ES_JAVA_OPTS: `-Xms${HEAP.elasticsearch} -Xmx${HEAP.elasticsearch}`,
      },
      logFile: launcherLog(),
      timeoutMs: 180_000,
    });
    if (r.code !== 0) {
      throw new StackError(`elasticsearch failed to start (launcher exit ${r.code}):\n${r.output.trim().split('\n').slice(-20).join('\n')}\n--- ${serverLog()} (tail) ---\n${tailFile(serverLog())}`);
    }
    await waitHealthy(() => this.health(), { name: 'elasticsearch', timeoutMs: 90_000, logFile: serverLog(), pid: () => this.runningPid() });
  },

  stop() {
    return stopPidFileServer(this, pidFile(), 60_000);
  },

  async health(): Promise<Health> {
    try {
      const r = await httpGet(`${httpUrl()}/_cluster/health`);
      if (r.status !== 200) return { ok: false, detail: `HTTP ${r.status}: ${r.body.slice(0, 200)}` };
      const status = (JSON.parse(r.body) as { status?: string }).status ?? 'unknown';
      return { ok: status === 'green' || status === 'yellow', detail: `Elasticsearch ${VERSIONS.elasticsearch}, cluster ${status}` };
    } catch (e) {
      return { ok: false, detail: errorMessage(e) };
    }
  },
};
