import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { openPii } from '../../../platform/pii/open.js';
import { openPglite, pgliteClient } from '../../../platform/sql/client.js';
import { TEST_PII_MASTER_KEY } from '../../../write-side/testing.js';
import { cli } from './testing.js';

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

/**
 * `annals replay history` as an auditor runs it, on an embedded data directory with an encrypted event
 * store (the key store in DATA_DIR/read, PII_MASTER_KEY set): the history with who/when/why and what
 * changed, the state as of an instant, JSON, and the refusals (exit code + one line).
 */
describe('annals replay history (embedded data directory)', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'annals-history-'));
  const env = { ...process.env, DATA_DIR: dataDir, EVENTSTORE_URL: '', READ_DB_URL: '', KAFKA_BROKERS: '', KEYSTORE_URL: '', PII_MASTER_KEY: TEST_PII_MASTER_KEY, LOG_LEVEL: 'warn' };
  const id = uuidv7();
  const meta = (occurredAt: string, correlationId: string) => ({ tenantId: 'acme', actor: { userId: 'seller-1', roles: ['sales' as const] }, correlationId, causationId: correlationId, occurredAt, subjectId: id });

  before(async () => {
    const readSql = pgliteClient(await openPglite(join(dataDir, 'read')));
    const { codec } = await openPii(readSql, { masterKey: TEST_PII_MASTER_KEY });
    const store = await openEventStore(eventStoreConfig(undefined, dataDir), { encryption: { codec } });
    try {
      await store.append(`contact-${id}`, [
        { type: 'ContactCreated', data: { contactId: id, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', company: 'Engines', customFields: {}, tags: [] }, metadata: meta('2026-03-01T09:00:00.000Z', 'corr-create') },
      ]);
      await store.append(`contact-${id}`, [{ type: 'ContactUpdated', data: { contactId: id, company: 'Analytical Engines Ltd' }, metadata: meta('2026-03-02T09:00:00.000Z', 'corr-update') }]);
    } finally {
      await store.close();
      await readSql.close();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints every event with actor, correlation/causation and what changed; --as-of folds to that instant', async () => {
    const h = await annals(['replay', 'history', id], env);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, new RegExp(`^2026-03-01T09:00:00.000Z  ContactCreated  contact-${id}@0  position \\d+\\n  actor seller-1 \\[sales\\]  correlation corr-create  causation corr-create\\n`));
    assert.match(h.out, / {2}email: — → "ada@example.com"\n/, 'personal values decrypted');
    assert.match(h.out, /2026-03-02T09:00:00.000Z {2}ContactUpdated .*\n {2}actor seller-1 \[sales\] {2}correlation corr-update {2}causation corr-update\n {2}company: "Engines" → "Analytical Engines Ltd"\n$/);

    const asOf = await annals(['replay', 'history', `contact-${id}`, '--as-of', '2026-03-01T23:59:59+01:00', '--json'], env);
    assert.equal(asOf.code, 0, asOf.err);
    const [state] = JSON.parse(asOf.out) as [{ aggregate: string; state: { revision: string; state: { company: string; email: string } } }];
    assert.equal(state.aggregate, 'contact');
    assert.equal(state.state.revision, '0');
    assert.deepEqual([state.state.state.company, state.state.state.email], ['Engines', 'ada@example.com']);
  });

  it('refusals with an exit code and one line: an instant of year 0000, a non-UUID entity, an unknown entity; --help', async () => {
    // The first three fail before the data directory is opened: run together (PGlite admits one process at a time).
    const [badAt, badId, help] = await Promise.all([
      annals(['replay', 'history', id, '--as-of', '0000-01-01T00:00:00Z'], env),
      annals(['replay', 'history', 'contact-42'], env),
      annals(['replay', 'history', '--help'], env),
    ]);
    assert.equal(badAt.code, 2);
    assert.match(badAt.err, /^annals replay history: --as-of must be an ISO 8601 instant[^\n]*\n$/);
    assert.equal(badId.code, 2);
    assert.match(badId.err, /^annals replay history: entity must be a UUID\n$/);
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: annals replay history <entity> \[--as-of <instant>\]/);
    // Another tenant's entity reads as no entity at all.
    const other = await annals(['replay', 'history', id, '--tenant', 'globex'], env);
    assert.equal(other.code, 1);
    assert.match(other.err, /^annals replay history: no events for [0-9a-f-]{36} in tenant globex\n$/);
  });
});
