import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ids } from './fixture.js';
import { fixtureHistory } from './fixture.js';
import { openReadModels, openTestApi, type ReadModels, type TestApi } from './testing.js';

/**
 * Every query of SPEC and its filters, on read models written by the real projections (fixture.ts).
 * One PGlite and one app for the file.
 */
const T = { timeout: 30_000 };

describe('query API: every query and filter', () => {
  let rm: ReadModels;
  let t: TestApi;
  before(async () => {
    rm = await openReadModels();
    await rm.apply(fixtureHistory().events);
    t = await openTestApi(rm.sql);
  });
  after(async () => {
    await t?.close();
    await rm?.close();
  });

  const data = async (query: string, variables?: Record<string, unknown>, token?: string) => {
    const r = await t.gql(query, { ...(variables ? { variables } : {}), ...(token ? { token } : {}) });
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.equal(r.status, 200);
    return r.body.data;
  };
  const idsOf = (conn: { nodes: { id: string }[] }) => conn.nodes.map((n) => n.id);

  it('contact(id): fields and every relationship (deals, timeline, consents, merged, converted lead)', T, async () => {
    const d = await data(`{
      contact(id: "${ids.alice}") {
        id firstName lastName email phone company title tags customFields status erased createdAt position revision
        deals { id name status value { minor currency } }
        timeline(first: 10) { type summary outcome occurredAt }
        consents { purpose status active source }
      }
      dan: contact(id: "${ids.dan}") { status mergedInto { id firstName } mergedAt }
      frank: contact(id: "${ids.frank}") { convertedFromLead { id status convertedDeal { id name } } }
    }`);
    const c = d.contact;
    assert.deepEqual(
      { ...c, deals: undefined, timeline: undefined, consents: undefined, createdAt: undefined, position: undefined },
      {
        id: ids.alice,
        firstName: 'Alice',
        lastName: 'Smith',
        email: 'alice@example.com',
        phone: '+1 555 0100 42',
        company: 'Acme',
        title: 'CTO',
        tags: ['vip', 'emea'],
        customFields: { birthday: '1990-01-01' },
        status: 'ACTIVE',
        erased: false,
        revision: 1,
        deals: undefined,
        timeline: undefined,
        consents: undefined,
        createdAt: undefined,
        position: undefined,
      },
    );
    assert.match(c.position, /^\d+$/);
    assert.deepEqual(c.deals.map((x: { id: string }) => x.id).sort(), [ids.dealProposal, ids.dealWon].sort());
    assert.deepEqual(c.deals.find((x: { id: string }) => x.id === ids.dealWon).value, { minor: 5_000_000, currency: 'EUR' });
    const call = c.timeline.find((e: { type: string }) => e.type === 'interaction');
    assert.equal(call.summary, 'Talked about pricing');
    assert.equal(call.outcome, 'Wants a proposal');
    assert.ok(c.timeline.some((e: { type: string }) => e.type === 'deal_opened'));
    assert.deepEqual(c.consents, [
      { purpose: 'marketing_email', status: 'GRANTED', active: true, source: 'web form /newsletter' },
      { purpose: 'sms', status: 'WITHDRAWN', active: false, source: 'unsubscribe link' },
    ]);
    assert.equal(d.dan.status, 'MERGED');
    assert.deepEqual(d.dan.mergedInto, { id: ids.alice, firstName: 'Alice' });
    assert.equal(d.frank.convertedFromLead.id, ids.leadConverted);
    assert.equal(d.frank.convertedFromLead.status, 'CONVERTED');
    assert.deepEqual(d.frank.convertedFromLead.convertedDeal, { id: ids.dealConverted, name: 'Frank deal' });
  });

  it('contact(id) of an unknown id is null, not an error', T, async () => {
    assert.equal((await data(`{ contact(id: "${ids.missing}") { id } }`)).contact, null);
  });

  it('contacts: filters by status, tags (all / any), company, email, created and interaction ranges', T, async () => {
    const q = `query($f: ContactFilter) { contacts(filter: $f, first: 50) { totalCount nodes { id } } }`;
    const run = async (f: Record<string, unknown>) => idsOf((await data(q, { f })).contacts).sort();
    assert.deepEqual(await run({ status: ['MERGED'] }), [ids.dan]);
    assert.deepEqual(await run({ status: ['ERASED'] }), [ids.erin]);
    assert.deepEqual(await run({ tags: ['vip', 'emea'] }), [ids.alice]);
    assert.deepEqual(await run({ anyTags: ['vip', 'emea'] }), [ids.alice, ids.bob].sort());
    assert.deepEqual(await run({ company: 'ACME' }), [ids.alice, ids.carol].sort());
    assert.deepEqual(await run({ email: 'BOB@example.com' }), [ids.bob]);
    assert.deepEqual(await run({ noInteractionSince: '2024-12-31T00:00:00Z', tags: ['vip'] }), []);
    assert.deepEqual(await run({ noInteractionSince: '2025-02-01T00:00:00Z', tags: ['vip'] }), [ids.alice]);
    const all = (await data(`{ contacts(first: 100) { totalCount nodes { id createdAt } } }`)).contacts;
    assert.equal(all.totalCount, 7, 'tenant-a has 7 contacts; other tenants are not counted');
    const alice = all.nodes.find((n: { id: string }) => n.id === ids.alice);
    assert.deepEqual(await run({ createdAfter: alice.createdAt, createdBefore: alice.createdAt }), [], 'createdBefore is exclusive');
    const from = await run({ createdAfter: alice.createdAt });
    assert.ok(from.includes(ids.alice) && from.length === 7);
  });

  it('contacts: orderBy UPDATED_AT ASC is the reverse of the default', T, async () => {
    const desc = idsOf((await data(`{ contacts(first: 100) { nodes { id } } }`)).contacts);
    const asc = idsOf((await data(`{ contacts(first: 100, orderBy: { field: UPDATED_AT, direction: ASC }) { nodes { id } } }`)).contacts);
    assert.deepEqual(asc, [...desc].reverse());
  });

  it('lead(id) and leads: status, source, owner, campaign, company, inactive, score and date ranges', T, async () => {
    const d = await data(`{ lead(id: "${ids.leadQualified}") {
      id name email notes company source status score inactive inactiveAt ownerId
      bant { budget { minor currency } authority need timeline }
      convertedContact { id }
    } }`);
    assert.deepEqual(
      { ...d.lead, inactiveAt: undefined },
      {
        id: ids.leadQualified,
        name: 'Quinn Qualified',
        email: 'quinn@example.com',
        notes: 'Met at the fair',
        company: 'Globex',
        source: 'EMAIL',
        status: 'QUALIFIED',
        score: 65,
        inactive: false,
        inactiveAt: undefined,
        ownerId: 'rep-2',
        bant: { budget: { minor: 2_000_000, currency: 'EUR' }, authority: 'decision-maker', need: 'A CRM for 40 people', timeline: 'within-3-months' },
        convertedContact: null,
      },
    );
    const conv = (await data(`{ lead(id: "${ids.leadConverted}") { status convertedContact { id firstName } convertedDeal { id } convertedAt } }`)).lead;
    assert.deepEqual({ ...conv, convertedAt: undefined }, { status: 'CONVERTED', convertedContact: { id: ids.frank, firstName: 'Frank' }, convertedDeal: { id: ids.dealConverted }, convertedAt: undefined });
    assert.ok(conv.convertedAt);

    const q = `query($f: LeadFilter, $o: LeadOrder) { leads(filter: $f, orderBy: $o, first: 50) { totalCount nodes { id } } }`;
    const run = async (f: Record<string, unknown>, o?: Record<string, unknown>) => idsOf((await data(q, { f, ...(o ? { o } : {}) })).leads);
    assert.deepEqual((await run({ status: ['NEW'] })).sort(), [ids.leadNew, ids.leadErased].sort());
    assert.deepEqual(await run({ status: ['LOST'] }), [ids.leadLost]);
    assert.deepEqual(await run({ source: ['REFERRAL'] }), [ids.leadConverted]);
    assert.deepEqual((await run({ ownerId: 'rep-1' })).sort(), [ids.leadNew, ids.leadLost].sort());
    assert.deepEqual(await run({ campaign: 'spring' }), [ids.leadNew]);
    assert.deepEqual((await run({ company: 'globex' })).sort(), [ids.leadNew, ids.leadQualified].sort());
    assert.deepEqual(await run({ inactive: true }), [ids.leadNew], 'open and untouched for 30 days (erased, lost, converted leads never are)');
    assert.ok((await run({ inactive: false })).includes(ids.leadQualified));
    assert.deepEqual(await run({ scoreMin: 60, scoreMax: 70 }), [ids.leadQualified]);
    assert.deepEqual(await run({}, { field: 'SCORE', direction: 'DESC' }).then((r) => r.slice(0, 3)), [ids.leadNew, ids.leadQualified, ids.leadLost]);
    assert.deepEqual(await run({ capturedAfter: new Date(Date.now() - 7 * 86_400_000).toISOString() }), [ids.leadQualified]);
    assert.deepEqual(await run({ updatedBefore: '2000-01-01T00:00:00Z' }), []);
  });

  it('deal(id) with contact and stage history; deals: status, owner, pipeline, stage, contact, currency, value, dates', T, async () => {
    const d = await data(`{ deal(id: "${ids.dealProposal}") {
      id name stage probability status value { minor currency } weightedValueMinor expectedCloseDate ownerId
      contact { id email }
      stageHistory { change fromStage toStage probability status actorId }
    } }`);
    assert.deepEqual(d.deal, {
      id: ids.dealProposal,
      name: 'Acme renewal',
      stage: 'proposal',
      probability: 50,
      status: 'OPEN',
      value: { minor: 1_000_000, currency: 'EUR' },
      weightedValueMinor: 500_000,
      expectedCloseDate: '2025-06-30',
      ownerId: 'rep-1',
      contact: { id: ids.alice, email: 'alice@example.com' },
      stageHistory: [
        { change: 'opened', fromStage: null, toStage: 'prospecting', probability: 10, status: 'OPEN', actorId: 'user-1' },
        { change: 'moved', fromStage: 'prospecting', toStage: 'proposal', probability: 50, status: 'OPEN', actorId: 'rep-2' },
      ],
    });
    const q = `query($f: DealFilter, $o: DealOrder) { deals(filter: $f, orderBy: $o, first: 50) { totalCount nodes { id } } }`;
    const run = async (f: Record<string, unknown>, o?: Record<string, unknown>) => idsOf((await data(q, { f, ...(o ? { o } : {}) })).deals);
    assert.deepEqual(await run({ status: ['WON'] }), [ids.dealWon]);
    assert.deepEqual(await run({ status: ['LOST'] }), [ids.dealLost]);
    assert.deepEqual((await run({ ownerId: 'rep-2' })).sort(), [ids.dealWon, ids.dealConverted].sort());
    assert.deepEqual(await run({ pipeline: 'enterprise' }), [ids.dealEnterprise]);
    assert.deepEqual((await run({ stage: ['proposal'] })).sort(), [ids.dealProposal, ids.dealEnterprise].sort());
    assert.deepEqual((await run({ contactId: ids.alice })).sort(), [ids.dealProposal, ids.dealWon].sort());
    assert.deepEqual(await run({ currency: 'usd' }), [ids.dealConverted]);
    assert.deepEqual((await run({ valueMin: 300_000, valueMax: '1000000' })).sort(), [ids.dealProposal, ids.dealLost].sort());
    assert.deepEqual(await run({ expectedCloseFrom: '2025-12-01', expectedCloseTo: '2025-12-31' }), [ids.dealEnterprise]);
    assert.deepEqual(await run({ openedBefore: '2000-01-01T00:00:00Z' }), []);
    assert.deepEqual(await run({ updatedAfter: '2000-01-01T00:00:00Z', status: ['WON'] }), [ids.dealWon]);
    assert.deepEqual(await run({}, { field: 'VALUE', direction: 'ASC' }), [ids.dealConverted, ids.dealLost, ids.dealProposal, ids.dealWon, ids.dealEnterprise]);
    assert.deepEqual(await run({}, { field: 'EXPECTED_CLOSE_DATE', direction: 'DESC' }).then((r) => r[0]), ids.dealEnterprise);
  });

  it('pipeline(pipeline): stages by probability with count, value and weighted value per currency', T, async () => {
    const d = await data(`{ pipeline(pipeline: "default") { pipeline count stages { stage probability count value { minor currency } weightedValue { minor currency } } } }`);
    assert.deepEqual(d.pipeline, {
      pipeline: 'default',
      count: 2,
      stages: [
        { stage: 'qualification', probability: 20, count: 1, value: [{ minor: 200_000, currency: 'USD' }], weightedValue: [{ minor: 40_000, currency: 'USD' }] },
        { stage: 'proposal', probability: 50, count: 1, value: [{ minor: 1_000_000, currency: 'EUR' }], weightedValue: [{ minor: 500_000, currency: 'EUR' }] },
      ],
    });
    const all = await data(`{ pipeline(pipeline: "default", status: [OPEN, WON, LOST]) { count } unknown: pipeline(pipeline: "nope") { count stages { stage } } }`);
    assert.equal(all.pipeline.count, 4);
    assert.deepEqual(all.unknown, { count: 0, stages: [] });
  });

  it('consents(subjectId): one entry per purpose; an unknown subject has none', T, async () => {
    const d = await data(`{ consents(subjectId: "${ids.alice}") { subjectId subjectType purpose status active lawfulBasis noticeVersion grantedAt withdrawnAt } none: consents(subjectId: "${ids.missing}") { purpose } }`);
    assert.deepEqual(
      d.consents.map((c: Record<string, unknown>) => [c.purpose, c.status, c.active, c.subjectType]),
      [
        ['marketing_email', 'GRANTED', true, 'contact'],
        ['sms', 'WITHDRAWN', false, 'contact'],
      ],
    );
    assert.equal(d.consents[0].grantedAt, '2025-01-02T00:00:00.000Z');
    assert.deepEqual(d.none, []);
  });

  it('budget(id) with allocations and spend; budgets: status, owner, category, overrun, period, amount', T, async () => {
    const d = await data(`{ budget(id: "${ids.budgetSpring}") {
      name category periodStart periodEnd amount { minor currency } allocated { minor } spent { minor } remaining { minor } unallocated { minor }
      overrun thresholdsReached status ownerId
      allocations { campaign amount { minor currency } }
      spend(first: 10) { vendor campaign amount { minor } externalReference spentAt overridden }
    } }`);
    assert.deepEqual(d.budget, {
      name: 'Spring campaigns',
      category: 'marketing',
      periodStart: '2025-03-01',
      periodEnd: '2025-05-31',
      amount: { minor: 1_000_000, currency: 'EUR' },
      allocated: { minor: 600_000 },
      spent: { minor: 200_000 },
      remaining: { minor: 800_000 },
      unallocated: { minor: 400_000 },
      overrun: false,
      thresholdsReached: [],
      status: 'OPEN',
      ownerId: 'rep-3',
      allocations: [
        { campaign: 'spring', amount: { minor: 400_000, currency: 'EUR' } },
        { campaign: 'summer', amount: { minor: 200_000, currency: 'EUR' } },
      ],
      spend: [
        { vendor: 'PrintCo', campaign: 'spring', amount: { minor: 50_000 }, externalReference: 'INV-2', spentAt: '2025-03-12T10:00:00.000Z', overridden: false },
        { vendor: 'AdCo', campaign: 'spring', amount: { minor: 150_000 }, externalReference: 'INV-1', spentAt: '2025-03-10T10:00:00.000Z', overridden: false },
      ],
    });
    const q = `query($f: BudgetFilter) { budgets(filter: $f, first: 10) { nodes { id } } }`;
    const run = async (f: Record<string, unknown>) => idsOf((await data(q, { f })).budgets).sort();
    assert.deepEqual(await run({ status: ['CLOSED'] }), [ids.budgetClosed]);
    assert.deepEqual(await run({ ownerId: 'rep-3' }), [ids.budgetSpring, ids.budgetClosed].sort());
    assert.deepEqual(await run({ category: 'events' }), [ids.budgetClosed]);
    assert.deepEqual(await run({ overrun: true }), []);
    assert.deepEqual(await run({ periodFrom: '2025-04-01', periodTo: '2025-04-30' }), [ids.budgetSpring]);
    assert.deepEqual(await run({ amountMin: 600_000 }), [ids.budgetSpring]);
    assert.deepEqual(await run({ currency: 'EUR', createdAfter: '2000-01-01T00:00:00Z' }), [ids.budgetSpring, ids.budgetClosed].sort());
  });

  it('me: the caller as the token says', T, async () => {
    const d = await data(`{ me { userId tenantId roles seesPersonalData } }`, undefined, await t.token({ roles: ['analyst'], sub: 'ana' }));
    assert.deepEqual(d.me, { userId: 'ana', tenantId: 'tenant-a', roles: ['analyst'], seesPersonalData: false });
  });
});
