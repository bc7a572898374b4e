import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, int, KafkaBrokers, parseEnv, parseEnvs, SharedEnv } from './env.js';

const Service = z.object({
  PORT: int(1, 65_535).default(8080),
  READ_DB_URL: SharedEnv.READ_DB_URL,
  KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS,
  KAFKA_SESSION_TIMEOUT_MS: SharedEnv.KAFKA_SESSION_TIMEOUT_MS,
  LOG_LEVEL: SharedEnv.LOG_LEVEL,
  REQUIRED_THING: z.string().min(1),
});

const variablesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.code, 'CONFIG_ERR_INVALID');
    return e.issues.map((i) => i.variable).sort();
  }
  assert.fail('expected a ConfigError');
};

describe('platform/config: the one environment parser', () => {
  it('applies defaults, ignores variables it does not name, and freezes the result', () => {
    const c = parseEnv(Service, { REQUIRED_THING: 'x', PATH: '/usr/bin', KAFKA_SESSION_TIMEOUT_MS: '30000' });
    assert.deepEqual(c, { PORT: 8080, KAFKA_SESSION_TIMEOUT_MS: 30_000, LOG_LEVEL: 'info', REQUIRED_THING: 'x' });
    assert.ok(Object.isFrozen(c));
  });

  it('an empty or blank variable means unset (its default applies; a required one is reported as required)', () => {
    const c = parseEnv(Service, { REQUIRED_THING: 'x', PORT: '', READ_DB_URL: '   ', KAFKA_BROKERS: '' });
    assert.equal(c.PORT, 8080);
    assert.equal(c.READ_DB_URL, undefined);
    assert.equal(c.KAFKA_BROKERS, undefined);
    assert.throws(() => parseEnv(Service, { REQUIRED_THING: ' ' }), (e: unknown) => e instanceof ConfigError && e.message.includes('REQUIRED_THING: is required'));
  });

  it('a failure lists every bad variable at once, across every schema of a composition root, each issue once', () => {
    const env = { PORT: '80.5', READ_DB_URL: 'mysql://db', KAFKA_BROKERS: 'localhost9092', KAFKA_SESSION_TIMEOUT_MS: '10', LOG_LEVEL: 'loud' };
    assert.deepEqual(variablesOf(() => parseEnv(Service, env)), ['KAFKA_BROKERS', 'KAFKA_SESSION_TIMEOUT_MS', 'LOG_LEVEL', 'PORT', 'READ_DB_URL', 'REQUIRED_THING']);
    const Other = z.object({ LOG_LEVEL: SharedEnv.LOG_LEVEL, STALL_MS: int(1_000, 10_000).default(5_000) });
    assert.deepEqual(variablesOf(() => parseEnvs({ ...env, STALL_MS: 'soon' }, [Service, Other])), [
      'KAFKA_BROKERS',
      'KAFKA_SESSION_TIMEOUT_MS',
      'LOG_LEVEL',
      'PORT',
      'READ_DB_URL',
      'REQUIRED_THING',
      'STALL_MS',
    ]);
    const [a, b] = parseEnvs({ REQUIRED_THING: 'x', STALL_MS: '2000' }, [Service, Other]);
    assert.equal(a.REQUIRED_THING, 'x');
    assert.equal(b.STALL_MS, 2_000);
  });

  it('KAFKA_BROKERS is a comma-separated host:port list (hostile and near-miss values refused)', () => {
    for (const ok of ['localhost:9092', 'kafka-1.internal:9092,kafka-2.internal:9093', ' a:1 , b:65535 ', '[::1]:9092', '10.0.0.7:19092']) {
      assert.equal(KafkaBrokers.safeParse(ok).success, true, ok);
    }
    for (const bad of ['localhost9092', 'localhost:', ':9092', 'kafka:0', 'kafka:65536', 'kafka:90922', 'a:1,,b:2', 'a:1,', 'kafka\u0000:9092', 'kafka :9092', 'http://kafka:9092', '-kafka:9092', `${'a'.repeat(300)}:1`]) {
      assert.equal(KafkaBrokers.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('URLs must name their database: READ_DB_URL is postgres, EVENTSTORE_URL postgres or esdb', () => {
    assert.equal(SharedEnv.READ_DB_URL.safeParse('postgresql://u@h/db').success, true);
    assert.equal(SharedEnv.READ_DB_URL.safeParse('esdb://h:2113').success, false);
    assert.equal(SharedEnv.READ_DB_URL.safeParse('postgres:// h/db').success, false);
    assert.equal(SharedEnv.EVENTSTORE_URL.safeParse('esdb+discover://h:2113').success, true);
    assert.equal(SharedEnv.EVENTSTORE_URL.safeParse('mysql://h/db').success, false);
  });
});
