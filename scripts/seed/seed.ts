import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { WriteSideConfig } from '../../write-side/config.js';
import { processLeadConverted, readCheckpoint, writeCheckpoint } from '../../write-side/lead/conversion-process.js';
import { createWriteSide } from '../../write-side/service.js';
import {
  BUDGET_CATEGORIES,
  CAMPAIGNS,
  CHANNELS,
  COMPANY_STEMS,
  COMPANY_SUFFIXES,
  COMPETITORS,
  CURRENCIES,
  FIRST_NAMES,
  LAST_NAMES,
  LOST_REASONS,
  NEEDS,
  NOTES,
  OUTCOMES,
  OWNERS,
  SOURCES,
  STAGES,
  SUMMARIES,
  TAGS,
  TITLES,
  VENDORS,
} from './data.js';
import { prng, uuidV7At, type Prng } from './prng.js';

/**
 * `annals seed`: realistic demo data written THROUGH THE WRITE SIDE — every command goes through the
 * command API (app.inject: validation, deciders, email claims, consent rules, encryption) and every lead
 * conversion through the conversion process's own handler — never as raw inserts.
 *
 * Deterministic: the same seed, tenant and size give the same events (ids and data). Every choice comes
 * from a PRNG named after the seed and the person (`<seed>:person:<i>`), so the order in which concurrent
 * work runs changes nothing; the write side's clock and id generator read the command being seeded
 * (AsyncLocalStorage: each command carries its simulated time and a name its ids are hashed from), and
 * event ids are hashed from stream, correlation id, type and index.
 *
 * What one "contact" brings: 55 % are created directly (interactions, consents, sometimes a deal); 45 %
 * come from a lead that is captured, qualified, scored and converted with a deal. Beside them, four leads
 * in ten never convert (new, nurturing or lost). Deals move through the stages and are won, lost or left
 * open. One budget per 1 000 contacts (at least 3) with allocations, spend and some closed.
 */
export interface SeedOptions {
  readonly contacts: number;
  readonly tenant: string;
  readonly seed: string;
  /** Persons seeded at once (default 8). */
  readonly concurrency?: number;
  /** End of the simulated two years (default 2026-11-01T00:00:00Z): fixed, so a seed means the same data on any day. */
  readonly anchor?: Date;
  readonly onProgress?: (p: SeedProgress) => void;
  /**
   * This run's share of the data when several processes or threads seed one tenant together
   * (scripts/seed/workers.ts): persons and budgets whose number is `index` modulo `count`. Every choice
   * and id is named after the person or budget, so the shards together write exactly the events of one
   * run. A shard leaves the conversion checkpoint alone: its coordinator moves it once all are done
   * (`conversionCheckpoint`).
   */
  readonly shard?: { readonly index: number; readonly count: number };
}

export interface SeedProgress {
  readonly contacts: number;
  readonly total: number;
  readonly events: number;
  readonly commands: number;
}

export interface SeedReport extends SeedProgress {
  readonly leads: number;
  readonly deals: number;
  readonly budgets: number;
  readonly elapsedMs: number;
}

export interface SeedDeps {
  readonly config: WriteSideConfig;
  readonly logger: Logger;
  readonly eventStore: EventStore;
}

interface CommandContext {
  /** What the ids of this command are hashed from. */
  readonly key: string;
  n: number;
  readonly at: Date;
}

const DAY = 86_400_000;

export async function seed(deps: SeedDeps, options: SeedOptions): Promise<SeedReport> {
  const { tenant } = options;
  const name = `${options.seed}:${tenant}`;
  const anchor = (options.anchor ?? new Date('2026-11-01T00:00:00.000Z')).getTime();
  const als = new AsyncLocalStorage<CommandContext>();
  let free = 0;
  const clock = () => als.getStore()?.at ?? new Date(anchor);
  const ids = () => {
    const c = als.getStore();
    return c ? uuidV7At(c.at.getTime(), `${name}:${c.key}:${c.n++}`) : uuidV7At(anchor, `${name}:free:${free++}`);
  };
  let events = 0;
  const store: EventStore = {
    ...deps.eventStore,
    append: (streamId, batch, opts) => {
      events += batch.length;
      return deps.eventStore.append(
        streamId,
        batch.map((e, i) => ({
          ...e,
          eventId: e.eventId ?? uuidV7At(Date.parse(e.metadata.occurredAt), `${name}:event:${streamId}:${e.metadata.correlationId}:${e.type}:${i}`),
        })),
        opts,
      );
    },
  };
  const writeSide = await createWriteSide({
    // The conversions run in the seeder, inside the command's context (deterministic clock and ids).
    // No rate limit: the seeder is one in-process client of its own app, not a user of the API.
    config: { ...deps.config, conversionProcess: false, rateLimit: { maxPerWindow: 1_000_000, windowMs: 1_000 } },
    logger: deps.logger,
    eventStore: store,
    clock,
    ids,
    // In-process only (the app never listens): the seeder acts as an admin of the tenant.
    verifier: async () => ({ userId: 'seed', tenantId: tenant, roles: ['admin'] }),
  });
  const app = writeSide.app;
  // The command's context enters with its request. A callback hook, because fastify starts a request in a
  // context of its own (AsyncLocalStorage.run around inject does not reach the route); what runs after
  // done() — the other hooks, the body parser, the handler — continues in the context entered here.
  app.addHook('onRequest', (request, _reply, done) => {
    const key = request.headers['x-seed-key'];
    const at = request.headers['x-seed-at'];
    if (typeof key === 'string' && typeof at === 'string') als.enterWith({ key, n: 0, at: new Date(Number(at)) });
    done();
  });
  const conversion = { store, logger: deps.logger, clock, emailHashKey: deps.config.emailHashKey, legacyEmailHashKey: deps.config.piiMasterKey };

  let commands = 0;
  const send = async (key: string, at: number, method: 'POST' | 'PATCH', url: string, body: unknown): Promise<{ id?: string; contactId?: string; revision?: string }> => {
    const ctx: CommandContext = { key, n: 0, at: new Date(Math.min(at, anchor)) };
    const res = await app.inject({
      method,
      url,
      payload: body as object,
      headers: { authorization: 'Bearer seed', 'x-correlation-id': uuidV7At(ctx.at.getTime(), `${name}:corr:${key}`), 'x-seed-key': key, 'x-seed-at': String(ctx.at.getTime()) },
    });
    commands++;
    if (res.statusCode >= 300) throw new Error(`seed: ${method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 500)}`);
    return res.json();
  };

  const counts = { contacts: 0, leads: 0, deals: 0, budgets: 0 };
  const progress = () => options.onProgress?.({ contacts: counts.contacts, total, events, commands });

  const deal = async (r: Prng, key: string, t: number, dealId: string) => {
    counts.deals++;
    const stages = r.int(0, 3);
    for (let s = 1; s <= stages; s++) await send(`${key}:stage${s}`, (t += r.int(2, 20) * DAY), 'POST', `/api/v1/deals/${dealId}/stage`, { stage: STAGES[s] });
    const end = r.next();
    if (end < 0.4) await send(`${key}:win`, t + r.int(1, 30) * DAY, 'POST', `/api/v1/deals/${dealId}/win`, {});
    else if (end < 0.7) await send(`${key}:lose`, t + r.int(1, 30) * DAY, 'POST', `/api/v1/deals/${dealId}/lose`, { reason: r.pick(LOST_REASONS), ...(r.chance(0.6) ? { competitor: r.pick(COMPETITORS) } : {}) });
  };

  const value = (r: Prng) => ({ amountMinor: r.int(20, 2_000) * 1_000, currency: r.pick(CURRENCIES) });
  const closeDate = (t: number, r: Prng) => new Date(t + r.int(20, 180) * DAY).toISOString().slice(0, 10);

  const person = async (i: number) => {
    const r = prng(`${name}:person:${i}`);
    const first = r.pick(FIRST_NAMES);
    const last = r.pick(LAST_NAMES);
    const stem = r.pick(COMPANY_STEMS);
    const company = `${stem} ${r.pick(COMPANY_SUFFIXES)}`;
    const domain = `${stem.toLowerCase().replace(/[^a-z]/g, '')}.example`;
    const email = `${first}.${last}.${i}@${domain}`.toLowerCase().replace(/[^a-z0-9.@-]/g, '');
    const phone = `+44 20 7946 ${String(r.int(0, 9999)).padStart(4, '0')}`;
    let t = anchor - r.int(0, 730) * DAY - r.int(0, DAY - 1);
    const owner = r.pick(OWNERS);
    const key = `p${i}`;
    let contactId: string;
    if (r.chance(0.55)) {
      const created = await send(`${key}:contact`, t, 'POST', '/api/v1/contacts', {
        firstName: first,
        lastName: last,
        email,
        phone,
        company,
        title: r.pick(TITLES),
        tags: [...new Set([r.pick(TAGS), r.pick(TAGS)])].slice(0, r.int(0, 2)),
        customFields: r.chance(0.3) ? { segment: r.pick(['A', 'B', 'C']) } : {},
      });
      contactId = created.id!;
      if (r.chance(0.2)) {
        t += r.int(1, 30) * DAY;
        const opened = await send(`${key}:deal`, t, 'POST', '/api/v1/deals', {
          name: `${company} — ${r.pick(['pilot', 'rollout', 'renewal', 'expansion'])}`,
          contactId,
          value: value(r),
          pipeline: 'default',
          stage: 'prospecting',
          expectedCloseDate: closeDate(t, r),
          ownerId: owner,
        });
        await deal(r, `${key}:deal`, t, opened.id!);
      }
    } else {
      counts.leads++;
      const lead = await send(`${key}:lead`, t, 'POST', '/api/v1/leads', {
        name: `${first} ${last}`,
        email,
        phone,
        company,
        source: r.pick(SOURCES),
        campaign: r.pick(CAMPAIGNS),
        notes: r.pick(NOTES),
        ownerId: owner,
      });
      const leadId = lead.id!;
      await send(`${key}:qualify`, (t += r.int(1, 14) * DAY), 'POST', `/api/v1/leads/${leadId}/qualify`, {
        ...(r.chance(0.7) ? { budget: value(r) } : {}),
        authority: r.pick(['decision-maker', 'influencer', 'user']),
        need: r.pick(NEEDS),
        timeline: r.pick(['immediate', 'within-3-months', 'within-6-months']),
      });
      await send(`${key}:score`, (t += DAY), 'POST', `/api/v1/leads/${leadId}/score`, { score: r.int(55, 98), factors: [{ name: 'fit', points: r.int(10, 40) }, { name: 'engagement', points: r.int(5, 30) }] });
      t += r.int(1, 21) * DAY;
      const accepted = await send(`${key}:convert`, t, 'POST', `/api/v1/leads/${leadId}/convert`, {
        deal: { name: `${company} — first order`, value: value(r), pipeline: 'default', expectedCloseDate: closeDate(t, r) },
      });
      // The conversion process's own handler, in this command's context: the contact and the deal. The
      // answer's revision is the LeadConverted event's: read (and decrypt) that one, not the whole lead.
      const converted = (await store.readStream(`lead-${leadId}`, { fromRevision: BigInt(accepted.revision ?? 0) })).find((e) => e.type === 'LeadConverted');
      if (converted?.type !== 'LeadConverted') throw new Error(`seed: lead ${leadId} has no LeadConverted`);
      await als.run({ key: `${key}:conversion`, n: 0, at: new Date(Math.min(t, anchor)) }, () => processLeadConverted(conversion, converted));
      contactId = converted.data.contactId;
      if (converted.data.dealId) await deal(r, `${key}:cdeal`, t, converted.data.dealId);
    }
    counts.contacts++;
    for (let k = r.int(0, 3); k > 0; k--) {
      await send(`${key}:interaction${k}`, (t += r.int(1, 40) * DAY), 'POST', `/api/v1/contacts/${contactId}/interactions`, {
        kind: r.pick(['email', 'call', 'meeting', 'note']),
        channel: r.pick(CHANNELS),
        summary: r.pick(SUMMARIES),
        outcome: r.pick(OUTCOMES),
        direction: r.pick(['inbound', 'outbound']),
      });
    }
    if (r.chance(0.5)) {
      await send(`${key}:consent`, (t += DAY), 'POST', `/api/v1/consents/${contactId}/grant`, {
        purpose: r.pick(['marketing_email', 'sms', 'profiling']),
        lawfulBasis: r.chance(0.8) ? 'consent' : 'legitimate_interests',
        source: r.pick(['web form', 'event badge scan', 'signed order form']),
        noticeVersion: r.pick(['v2', 'v3']),
      });
    }
    // Leads that never become contacts: new, nurturing, or lost.
    if (r.chance(0.4)) {
      counts.leads++;
      const lf = r.pick(FIRST_NAMES);
      const ll = r.pick(LAST_NAMES);
      let u = anchor - r.int(0, 730) * DAY;
      const other = await send(`${key}:xlead`, u, 'POST', '/api/v1/leads', {
        name: `${lf} ${ll}`,
        email: `${lf}.${ll}.${i}x@${domain}`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
        company,
        source: r.pick(SOURCES),
        campaign: r.pick(CAMPAIGNS),
        ownerId: r.pick(OWNERS),
      });
      const fate = r.next();
      if (fate < 0.5) await send(`${key}:xlost`, (u += r.int(3, 60) * DAY), 'POST', `/api/v1/leads/${other.id}/status`, { status: 'Lost', reason: r.pick(LOST_REASONS) });
      else if (fate < 0.8) await send(`${key}:xnurture`, (u += r.int(3, 60) * DAY), 'POST', `/api/v1/leads/${other.id}/status`, { status: 'Nurturing' });
    }
    progress();
  };

  const budget = async (j: number) => {
    const r = prng(`${name}:budget:${j}`);
    const start = new Date(anchor - r.int(0, 3) * 90 * DAY);
    const period = { start: start.toISOString().slice(0, 10), end: new Date(start.getTime() + 89 * DAY).toISOString().slice(0, 10) };
    let t = start.getTime();
    const currency = 'EUR';
    const amount = r.int(20, 200) * 100_000;
    const created = await send(`b${j}:create`, t, 'POST', '/api/v1/budgets', {
      name: `${r.pick(['Q', 'H'])}${r.int(1, 4)} ${r.pick(BUDGET_CATEGORIES)} budget ${j + 1}`,
      category: r.pick(BUDGET_CATEGORIES),
      period,
      amount: { amountMinor: amount, currency },
      ownerId: r.pick(OWNERS),
    });
    const campaigns = [r.pick(CAMPAIGNS), r.pick(CAMPAIGNS), r.pick(CAMPAIGNS)].filter((c, k, all) => all.indexOf(c) === k);
    for (const [k, campaign] of campaigns.entries()) {
      await send(`b${j}:alloc${k}`, (t += DAY), 'POST', `/api/v1/budgets/${created.id}/allocations`, { campaign, amount: { amountMinor: Math.floor(amount / 4), currency } });
    }
    for (let k = r.int(2, 6); k > 0; k--) {
      await send(`b${j}:spend${k}`, (t += r.int(1, 10) * DAY), 'POST', `/api/v1/budgets/${created.id}/spend`, {
        vendor: r.pick(VENDORS),
        campaign: r.pick(campaigns),
        amount: { amountMinor: r.int(1, Math.max(1, Math.floor(amount / 80_000))) * 10_000, currency },
        spentAt: new Date(Math.min(t, anchor)).toISOString(),
        externalReference: `INV-${j}-${k}`,
      });
    }
    if (r.chance(0.2)) await send(`b${j}:close`, t + 30 * DAY, 'POST', `/api/v1/budgets/${created.id}/close`, {});
    counts.budgets++;
  };

  const started = performance.now();
  const shard = options.shard ?? { index: 0, count: 1 };
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new Error(`seed: shard ${shard.index} of ${shard.count} does not exist`);
  }
  const mine = (n: number) => n % shard.count === shard.index;
  const budgets = Math.max(3, Math.ceil(options.contacts / 1_000));
  const persons = Array.from({ length: options.contacts }, (_, i) => i).filter(mine);
  const total = persons.length;
  const tasks: (() => Promise<void>)[] = [
    ...Array.from({ length: budgets }, (_, j) => j)
      .filter(mine)
      .map((j) => () => budget(j)),
    ...persons.map((i) => () => person(i)),
  ];
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    // The first failure stops every worker (after its command in flight): nothing runs on a closing store.
    while (failure === undefined && next < tasks.length) {
      try {
        await tasks[next++]!();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  const checkpoint = options.shard ? undefined : await conversionCheckpoint(deps.eventStore);
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
    if (failure !== undefined) throw failure;
    await checkpoint?.advance(new Date(anchor));
  } finally {
    await writeSide.stop();
  }
  progress();
  return { ...counts, total, events, commands, elapsedMs: Math.round(performance.now() - started) };
}

/**
 * The seed runs the lead conversions itself (in each command's context), so the conversion process of a
 * later start must begin after them. Taken before the seed writes anything: whether that process had
 * handled everything (an empty store, or its checkpoint at the head); only then may `advance`, called
 * once every conversion of the seed is written, move its checkpoint to the head.
 */
export async function conversionCheckpoint(store: EventStore): Promise<{ advance(now: Date): Promise<void> }> {
  const headBefore = await store.headPosition();
  const checkpointBefore = await readCheckpoint(store);
  const upToDate = headBefore === undefined || (checkpointBefore !== undefined && checkpointBefore >= headBefore);
  return {
    async advance(now) {
      const head = await store.headPosition();
      if (upToDate && head !== undefined) await writeCheckpoint(store, head, now);
    },
  };
}
