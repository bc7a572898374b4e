// ClickHouse server from the Debian package (bookworm ships 18.16, which is old: the analytics SQL
// we write must stay within what it understands, or be checked against chDB too). It runs with
// our own minimal config under DATA_DIR, never /etc/clickhouse-server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Health } from './proc.js';
import type { StackServer } from './server.js';
import { HOST, PORTS, VERSIONS } from './versions.js';
import {
  aptInstall,
  assertPortsFree,
  chownTree,
  ensureServiceDir,
  errorMessage,
  httpGet,
  isOurProcess,
  readPidFile,
  removeFile,
  spawnDaemon,
  stackDir,
  stopPidFileServer,
  waitHealthy,
  writeFileAs,
  writePidFile,
} from './proc.js';

// Debian puts it in /usr/sbin; upstream packages in /usr/bin.
const binary = (): string | undefined => ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'].find((p) => existsSync(p));
const dir = (): string => stackDir('clickhouse');
const configFile = (): string => join(dir(), 'config.xml');
const pidFile = (): string => join(dir(), 'clickhouse.pid');
const log = (): string => join(dir(), 'clickhouse.log');
const httpUrl = (): string => `http://${HOST}:${PORTS.clickhouseHttp}`;

// Minimal config: loopback only, our ports, every path inside DATA_DIR, small caches (the
// package default reserves 8 GiB uncompressed + 5 GiB mark cache).
function configXml(): string {
  const d = dir();
  return `<?xml version="1.0"?>
<!-- Written by annals stack (scripts/stack/clickhouse.ts) at every start; edits are overwritten. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>${d}/clickhouse-server.log</log>
        <errorlog>${d}/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>${HOST}</listen_host>
    <http_port>${PORTS.clickhouseHttp}</http_port>
    <tcp_port>${PORTS.clickhouseNative}</tcp_port>
    <path>${d}/data/</path>
    <tmp_path>${d}/tmp/</tmp_path>
    <user_files_path>${d}/user_files/</user_files_path>
    <format_schema_path>${d}/format_schemas/</format_schema_path>
    <users_config>${d}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
</yandex>
`;
}

// One passwordless `default` user reachable from loopback only (IPv4 may be reported mapped).
const USERS_XML = `<?xml version="1.0"?>
<!-- Written by annals stack (scripts/stack/clickhouse.ts) at every start; edits are overwritten. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
                <ip>::ffff:127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`;

export const clickhouse: StackServer = {
  name: 'clickhouse',
  address: httpUrl,
  env: () => ({ CLICKHOUSE_URL: httpUrl() }),
  logFile: () => join(dir(), 'clickhouse-server.err.log'),

  async install() {
    if (!binary()) await aptInstall(VERSIONS.clickhouseAptPackage);
  },

  runningPid() {
    const pid = readPidFile(pidFile());
    return isOurProcess(pid, configFile()) ? pid : undefined;
  },

  clearStalePid() {
    removeFile(pidFile());
  },

  async start() {
    await assertPortsFree('clickhouse', HOST, [PORTS.clickhouseHttp, PORTS.clickhouseNative]);
    await ensureServiceDir(dir());
    writeFileAs(configFile(), configXml());
    writeFileAs(join(dir(), 'users.xml'), USERS_XML);
    await chownTree(dir());
    // Foreground mode (no --daemon): the pid we spawn is the server itself, and stdout/stderr
    // land in our log, which catches errors before the server's own logger is configured.
    const pid = await spawnDaemon({ cmd: binary() ?? 'clickhouse-server', args: [`--config-file=${configFile()}`], cwd: dir(), env: { ...process.env, HOME: dir() }, logFile: log() });
    writePidFile(pidFile(), pid);
    await waitHealthy(() => this.health(), { name: 'clickhouse', timeoutMs: 60_000, logFile: log(), pid: () => this.runningPid() });
  },

  stop() {
    return stopPidFileServer(this, pidFile());
  },

  async health(): Promise<Health> {
    try {
      const r = await httpGet(`${httpUrl()}/?query=${encodeURIComponent('SELECT version()')}`);
      return r.status === 200 ? { ok: true, detail: `ClickHouse ${r.body.trim()}` } : { ok: false, detail: `HTTP ${r.status}: ${r.body.trim().slice(0, 200)}` };
    } catch (e) {
      return { ok: false, detail: errorMessage(e) };
    }
  },
};
