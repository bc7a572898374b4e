import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { createBus } from '../../../platform/bus/create-bus.js';
import { deadLetter, encodeEvent } from '../../../platform/bus/message.js';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { openPglite, pgliteClient } from '../../../platform/sql/client.js';
import { contactsProjection } from '../../../projections/postgres/index.js';
import { postgresReadModelTarget } from '../../../projections/postgres/target.js';
import { cli } from './testing.js';

/**
 * `annals dlq` as a user runs it, on an embedded data directory (PGlite event store and read database, the
 * embedded bus's log on disk): a dead letter of the `contacts` read model is listed, shown, retried (the
 * contact appears in the read model) and then refused a second resolution; bad input exits non-zero with
 * one line. The retry logic itself is tested in projections/dead-letters.
 */
function annals(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (err += String(d)));
    p.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe('annals dlq (embedded data directory)', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'annals-dlq-'));
  const env = { ...process.env, DATA_DIR: dataDir, EVENTSTORE_URL: '', READ_DB_URL: '', KAFKA_BROKERS: '', KEYSTORE_URL: '', PII_ENCRYPTION: 'off', LOG_LEVEL: 'warn', USER: 'carol' };
  const contactId = uuidv7();

  before(async () => {
    const store = await openEventStore(eventStoreConfig(undefined, dataDir), { encryption: { codec: undefined } });
    const readSql = pgliteClient(await openPglite(join(dataDir, 'read')));
    const bus = createBus({ dataDir, clientId: 'test' });
    try {
      await postgresReadModelTarget(readSql, contactsProjection).register();
      const stream = `contact-${contactId}`;
      await store.append(stream, [
        {
          type: 'ContactCreated',
          data: { contactId, firstName: 'Zoë', lastName: 'Ø \u202Eevil\u202C 😀', email: 'zoe@example.com', customFields: {}, tags: [] },
          metadata: { tenantId: 't-dlq-cli', actor: { userId: 'u1', roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: '2026-11-30T10:00:00.000Z' },
        },
      ]);
      const [record] = await store.readStreamRaw(stream);
      const error = Object.assign(new Error('contacts: ContactCreated at stream "…" failed: simulated'), { code: 'PROJECTION_ERR_EVENT(22021)' });
      await bus.publish([deadLetter(encodeEvent(record!), 'annals.dlq.contacts', { consumer: 'contacts', error, attempts: 5, at: new Date('2026-11-30T10:00:01.000Z') })]);
    } finally {
      await bus.close();
      await readSql.close();
      await store.close();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('list, show, retry (applied in the read model), then a second resolution is refused', async () => {
    const list = await annals(['dlq', 'list'], env);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^id +consumer +status +stream/);
    assert.match(list.out, new RegExp(`1 +contacts +pending +contact-${contactId} +0 +\\d+ +ContactCreated +PROJECTION_ERR_EVENT\\(22021\\) +5 +2026-11-30T10:00:01.000Z`));

    const show = await annals(['dlq', 'show', '1'], env);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /consumed from +- ?\n|dead-letter topic +annals\.dlq\.contacts\[\d+\]@0/);
    assert.match(show.out, /attempts +5/);

    const retry = await annals(['dlq', 'retry', '1'], env);
    assert.equal(retry.code, 0, retry.err);
    assert.match(retry.out, new RegExp(`retried #1 \\(contacts, contact-${contactId} revision 0\\): contacts revisions 0…0 \\(1 applied\\)`));
    const readSql = pgliteClient(await openPglite(join(dataDir, 'read')));
    try {
      const { rows } = await readSql.query<{ last_name: string }>(`SELECT last_name FROM contacts WHERE contact_id = $1`, [contactId]);
      assert.equal(rows.length, 1, 'the contact is in the read model now');
    } finally {
      await readSql.close();
    }
    const after = await annals(['dlq', 'show', '1', '--json'], env);
    const letter = JSON.parse(after.out) as { status: string; resolvedBy: string };
    assert.deepEqual([letter.status, letter.resolvedBy], ['retried', 'carol'], 'the actor defaults to $USER');

    const again = await annals(['dlq', 'skip', '1', '--actor', 'dave'], env);
    assert.equal(again.code, 1);
    assert.equal(again.err, 'annals dlq: dead letter #1 is retried already (by carol)\n');
  });

  // Refused before any database is opened (a missing letter is refused by the library: projections/dead-letters).
  it('bad input: one line on stderr and a non-zero exit', async () => {
    for (const [args, code, line] of [
      [['dlq', 'show', 'abc'], 2, /a dead-letter id is a positive integer/],
      [['dlq', 'retry'], 2, /a dead-letter id is a positive integer/],
      [['dlq', 'frobnicate'], 2, /usage: annals dlq list/],
    ] as const) {
      const r = await annals([...args], env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, line);
    }
    const help = await annals(['dlq', '--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.out, /retry +re-applies the event/);
  });
});
