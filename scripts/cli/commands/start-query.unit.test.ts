import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embeddedStartEnv, startAndWaitReady, waitFor } from './testing.js';
import { signDevToken } from '../../../platform/auth/sign.js';
import type { Role } from '../../../schemas/events/common.js';

const port = 19_000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;

/**
 * The query API inside `npm start`, on the command API's port, over data written the real way: commands
 * over HTTP, the relay, the in-process bus and the projectors (the lead-conversion process manager and the
 * GDPR erasure workflow included). What a frontend does: write through /api/v1, read through /graphql.
 */
describe('annals start serves GraphQL on the same port', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'annals-start-query-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('commands in, GraphQL out: relationships, conversion, masking, erasure, isolation', { timeout: 240_000 }, async () => {
    const env = embeddedStartEnv(dataDir, port);
    const { child, output, exited } = await startAndWaitReady(env, base);
    try {
      // The command API's OpenAPI document stays whole with GraphQL mounted beside it (its plain JSON Schemas
      // once made /docs/json answer 500), and does not claim the GraphQL routes as commands.
      const docs = await fetch(`${base}/docs/json`);
      assert.equal(docs.status, 200, await docs.clone().text());
      const paths = Object.keys(((await docs.json()) as { paths: Record<string, unknown> }).paths);
      assert.ok(paths.includes('/api/v1/contacts'), paths.join(' '));
      assert.deepEqual(paths.filter((p) => p.startsWith('/graph')), []);
      // Signed here with the development secret the process generated (what `annals token` does, without three CLI starts).
      const secret = (await readFile(join(dataDir, 'secrets', 'auth-jwt-secret'), 'utf8')).trim();
      const token = (role: Role, tenant = 'acme') => signDevToken({ secret, issuer: 'annals', audience: 'annals-api', tenant, sub: 'u-1', roles: [role], ttlSeconds: 600 });
      const [sales, analyst, dpo, other] = await Promise.all([token('sales'), token('analyst'), token('dpo'), token('sales', 'globex')]);
      const post = async (path: string, body: unknown, tok = sales) => {
        const res = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.ok(res.status < 300, `${path}: ${res.status} ${await res.clone().text()}`);
        return (await res.json()) as { id: string; contactId?: string; dealId?: string };
      };
      const gql = async (query: string, tok = sales) => {
        const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
        const body = (await res.json()) as { data: Record<string, unknown> | null; errors?: unknown[] };
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
        return body.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      };

      const ada = await post('/contacts', { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', company: 'Analytical Engines', tags: ['vip'] });
      const deal = await post('/deals', { name: 'Engine No. 2', contactId: ada.id, value: { amountMinor: 1_250_000, currency: 'GBP' }, expectedCloseDate: '2026-12-31', ownerId: 'u-1' });
      await post(`/deals/${deal.id}/stage`, { stage: 'proposal' });
      const lead = await post('/leads', { name: 'Charles Babbage', email: 'charles@example.com', source: 'referral' });
      const converted = await post(`/leads/${lead.id}/convert`, { deal: { name: 'Difference engine', value: { amountMinor: 500_000, currency: 'GBP' }, pipeline: 'default' } });

      // Eventually consistent (read-your-writes is X-Consistent-With's job): wait for the projectors.
      let seen: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
      await waitFor(
        async () => {
          seen = await gql(`{
            contact(id: "${ada.id}") { firstName email tags deals { id name stage stageHistory { toStage } contact { id } } timeline { type } }
            lead(id: "${lead.id}") { status convertedContact { id firstName } convertedDeal { id name pipeline stage status contact { id } } }
          }`);
          return seen.contact?.deals?.[0]?.stage === 'proposal' && seen.lead?.convertedDeal?.contact?.id !== undefined;
        },
        60_000,
        () => JSON.stringify(seen),
      );
      assert.equal(seen.contact.firstName, 'Ada');
      assert.deepEqual(seen.contact.deals[0].stageHistory.map((h: { toStage: string }) => h.toStage), ['prospecting', 'proposal']);
      assert.equal(seen.contact.deals[0].contact.id, ada.id);
      assert.ok(seen.contact.timeline.some((e: { type: string }) => e.type === 'deal_stage_moved'));
      assert.equal(seen.lead.status, 'CONVERTED');
      assert.equal(seen.lead.convertedContact.id, converted.contactId);
      assert.equal(seen.lead.convertedDeal.id, converted.dealId);
      // Asked after the wait: fields of one request run concurrently, so one answer may mix two instants of a projector.
      const { pipeline } = await gql(`{ pipeline(pipeline: "default") { stages { stage count } } }`);
      assert.deepEqual(pipeline.stages, [
        { stage: 'prospecting', count: 1 },
        { stage: 'proposal', count: 1 },
      ]);

      const masked = await gql(`{ contact(id: "${ada.id}") { firstName email company } }`, analyst);
      assert.deepEqual(masked.contact, { firstName: 'A***', email: 'a***@example.com', company: 'Analytical Engines' });
      assert.deepEqual(await gql(`{ contact(id: "${ada.id}") { id } contacts { nodes { id } } }`, other), { contact: null, contacts: { nodes: [] } });

      // GDPR erasure through the command API; the query API then shows the contact as erased.
      await post(`/subjects/${ada.id}/erase`, {}, dpo);
      let erased: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
      await waitFor(
        async () => {
          erased = await gql(`{ contact(id: "${ada.id}") { status erased firstName lastName email company deals { name } } }`);
          return erased.contact?.erased === true;
        },
        60_000,
        () => JSON.stringify(erased),
      );
      assert.deepEqual(erased.contact, { status: 'ERASED', erased: true, firstName: '[erased]', lastName: '[erased]', email: '[erased]', company: 'Analytical Engines', deals: [{ name: 'Engine No. 2' }] });
      assert.equal((await fetch(`${base}/graphiql`)).status, 200, 'GraphiQL in development');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `graceful stop\n${output()}`);
  });
});
