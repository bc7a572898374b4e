// Apache Kafka, single-node KRaft (one process is both broker and controller), from the Maven
// Central jars rather than the release tarball: Maven Central is reachable where the Apache
// download mirrors may not be, and `mvn dependency:copy-dependencies` gives us the exact runtime
// classpath. Runs on Java 17 with a small heap.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Health } from './proc.js';
import type { StackServer } from './server.js';
import { HEAP, HOST, PORTS, VERSIONS } from './versions.js';
import {
  StackError,
  assertPortsFree,
  cacheDir,
  chownTree,
  ensureServiceDir,
  errorMessage,
  isOurProcess,
  javaHome,
  mvn,
  readPidFile,
  removeFile,
  run,
  spawnDaemon,
  stackDir,
  stageFromCache,
  stopPidFileServer,
  waitHealthy,
  writeFileAs,
  writePidFile,
} from './proc.js';

const { Kafka, logLevel } = kafkajs;

/**
 * A KRaft cluster id: 16 random bytes in base64url, never starting with '-'. One id in 64 would,
 * and the storage tool's argument parser then reads it as an option ("--cluster-id: expected one
 * argument"); Kafka's own `Uuid.randomUuid` draws again for the same reason.
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (isUsableClusterId(id)) return id;
  }
}

export const isUsableClusterId = (id: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id);

const dir = (): string => stackDir('kafka');
const distDir = (): string => join(dir(), 'dist');
const propsFile = (): string => join(dir(), 'server.properties');
const pidFile = (): string => join(dir(), 'kafka.pid');
const log = (): string => join(dir(), 'kafka.log');
const cache = (): string => cacheDir('kafka', VERSIONS.kafka);
const brokers = (): string => `${HOST}:${PORTS.kafka}`;

function pom(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by annals stack (scripts/stack/kafka.ts): only used to resolve the broker's runtime classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>annals.stack</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${VERSIONS.kafka}</version></dependency>
    <!-- slf4j binding + core so the broker actually logs (the kafka_2.13 pom carries none). -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${VERSIONS.log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${VERSIONS.log4j}</version></dependency>
  </dependencies>
</project>
`;
}

const LOG4J2 = `# Written by annals stack (scripts/stack/kafka.ts). Everything to stdout = the daemon log.
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`;

function serverProperties(): string {
  return [
    '# Written by annals stack (scripts/stack/kafka.ts) at every start; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${PORTS.kafkaController}`,
    `listeners=PLAINTEXT://${HOST}:${PORTS.kafka},CONTROLLER://${HOST}:${PORTS.kafkaController}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${PORTS.kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dir(), 'data')}`,
    'num.partitions=3',
    // Single node: every internal topic must accept replication factor 1.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // 50 offsets partitions (the default) makes the first consumer group slow to come up.
    'offsets.topic.num.partitions=5',
    // Tests start consumer groups constantly; the 3 s rebalance delay would dominate them.
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    '',
  ].join('\n');
}

function classpath(): string {
  return join(distDir(), 'libs', '*');
}

// The storage tool moved from Scala (kafka.tools) to Java (org.apache.kafka.tools) across
// versions; ask the jars rather than hard-coding the version boundary.
async function storageToolClass(): Promise<string> {
  const libs = join(distDir(), 'libs');
  for (const jarFile of readdirSync(libs).filter((f) => f.startsWith('kafka') && f.endsWith('.jar'))) {
    const listing = (await run(join(javaHome(), 'bin', 'jar'), ['tf', join(libs, jarFile)])).output;
    if (listing.includes('org/apache/kafka/tools/StorageTool.class')) return 'org.apache.kafka.tools.StorageTool';
    if (listing.includes('kafka/tools/StorageTool.class')) return 'kafka.tools.StorageTool';
  }
  throw new StackError(`no StorageTool class in ${libs}`);
}

function javaEnv(): NodeJS.ProcessEnv {
  return { ...process.env, JAVA_HOME: javaHome(), HOME: dir() };
}

function admin(): kafkajs.Admin {
  const kafka = new Kafka({ clientId: 'annals-stack-health', brokers: [brokers()], logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 3_000, retry: { retries: 0 } });
  return kafka.admin();
}

export const kafka: StackServer = {
  name: 'kafka',
  address: brokers,
  env: () => ({ KAFKA_BROKERS: brokers() }),
  logFile: log,

  async install() {
    const marker = join(cache(), '.complete');
    if (existsSync(marker)) return;
    writeFileAs(join(cache(), 'pom.xml'), pom());
    await mvn(['dependency:copy-dependencies', '-DincludeScope=runtime', '-DoutputDirectory=libs'], cache(), join(cache(), 'mvn.log'));
    writeFileSync(marker, new Date().toISOString());
  },

  runningPid() {
    const pid = readPidFile(pidFile());
    return isOurProcess(pid, propsFile()) ? pid : undefined;
  },

  clearStalePid() {
    removeFile(pidFile());
  },

  async start() {
    await assertPortsFree('kafka', HOST, [PORTS.kafka, PORTS.kafkaController]);
    await ensureServiceDir(dir());
    await stageFromCache(cache(), distDir(), `kafka ${VERSIONS.kafka}`);
    writeFileAs(propsFile(), serverProperties());
    writeFileAs(join(dir(), 'log4j2.properties'), LOG4J2);
    await ensureServiceDir(join(dir(), 'data'));
    await chownTree(propsFile());
    const java = join(javaHome(), 'bin', 'java');
    const log4j = `-Dlog4j2.configurationFile=${join(dir(), 'log4j2.properties')}`;

    // KRaft log dirs must be formatted once with a cluster id; the id is kept so a reformat
    // (data dir wiped) does not leave a mismatching meta.properties behind.
    if (!existsSync(join(dir(), 'data', 'meta.properties'))) {
      const idFile = join(dir(), 'cluster-id');
      const kept = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
      const clusterId = isUsableClusterId(kept) ? kept : newClusterId();
      if (clusterId !== kept) writeFileSync(idFile, clusterId);
      await run(java, ['-Xmx256m', log4j, '-cp', classpath(), await storageToolClass(), 'format', '--cluster-id', clusterId, '-c', propsFile(), '--ignore-formatted'], {
        asServiceUser: true,
        env: javaEnv(),
        logFile: log(),
        timeoutMs: 120_000,
      });
    }

    const pid = await spawnDaemon({
      cmd: java,
      args: [`-Xms${HEAP.kafka}`, `-Xmx${HEAP.kafka}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', log4j, '-cp', classpath(), 'kafka.Kafka', propsFile()],
      cwd: dir(),
      env: javaEnv(),
      logFile: log(),
    });
    writePidFile(pidFile(), pid);
    await waitHealthy(() => this.health(), { name: 'kafka', timeoutMs: 90_000, logFile: log(), pid: () => this.runningPid() });
  },

  stop() {
    // SIGTERM runs Kafka's controlled shutdown (flushes logs, writes the clean-shutdown marker).
    return stopPidFileServer(this, pidFile(), 60_000);
  },

  async health(): Promise<Health> {
    const a = admin();
    try {
      await a.connect();
      const c = await a.describeCluster();
      return { ok: c.brokers.length > 0, detail: `Kafka ${VERSIONS.kafka}, cluster ${c.clusterId}, ${c.brokers.length} broker(s)` };
    } catch (e) {
      return { ok: false, detail: errorMessage(e) };
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
};
