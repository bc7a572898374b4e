// The one place where the versions, ports and credentials of the local stack are pinned.
// Changing a version here is all it takes: downloads are cached per version under
// ~/.cache/annals/<server>/<version>, so switching back and forth never re-downloads.

export const VERSIONS = {
  // Kafka 4.3.1, not 4.4.0: 4.4.0's kafka_2.13 pom is on Maven Central but two of its runtime
  // artifacts (kafka-tools-api, kafka-tools) were not yet published there, so it cannot be resolved.
  // kafkajs 2.2.4 is proven against this broker by scripts/stack/kafka-compat.int.test.ts; the
  // fallback if a future bump breaks that test is the 3.9 line (3.9.2), which still accepts
  // every protocol version kafkajs knows.
  kafka: '4.3.1',
  // Kafka's server code logs through slf4j 1.x; without a binding it would log nothing at all.
  // Same log4j2 line that Kafka itself depends on.
  log4j: '2.25.4',
  // ES 8.19 is the newest release line published as a proper Maven artifact of the
  // integ-test-zip (ES 9.x zips exist on Central without pom/metadata) and it runs on Java 17
  // like Kafka. The npm client must share the major: @elastic/elasticsearch 8.19.2 in package.json.
  elasticsearch: '8.19.21',
  // PostgreSQL and ClickHouse come from Debian packages: whatever the distribution ships
  // (bookworm: PostgreSQL 15, ClickHouse 18.16).
  postgresAptPackage: 'postgresql',
  clickhouseAptPackage: 'clickhouse-server',
} as const;

// Non-default ports so the stack never collides with a system-wide install of the same server.
export const PORTS = {
  postgres: 55432,
  clickhouseHttp: 18123,
  clickhouseNative: 19000,
  kafka: 19092,
  kafkaController: 19093,
  elasticsearch: 19200,
  elasticsearchTransport: 19300,
} as const;

export const HOST = '127.0.0.1';

// Local development credentials only; the stack listens on loopback.
export const POSTGRES = { user: 'annals', password: 'annals', database: 'annals', readDatabase: 'annals_read' } as const;

// Kept small: the reference machine has 2 cores and every test run starts two JVMs.
export const HEAP = { kafka: '512m', elasticsearch: '512m' } as const;

// Unprivileged system user the servers run as when the CLI runs as root
// (PostgreSQL and Elasticsearch refuse to run as root).
export const SERVICE_USER = 'annals';

// JDK used for Kafka and Elasticsearch. ANNALS_JAVA_HOME overrides.
export const JAVA_HOME_CANDIDATES = ['/usr/lib/jvm/java-17-openjdk-amd64'];
