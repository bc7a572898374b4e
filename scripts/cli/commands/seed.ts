import { parseArgs } from 'node:util';
import { ConfigError, EX_CONFIG } from '../../../platform/config/env.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { loadConfig } from '../../../write-side/config.js';
import { defaultConcurrency, defaultWorkers, openSeedTarget } from '../../seed/open.js';
import { seed, type SeedProgress } from '../../seed/seed.js';
import { seedInWorkers } from '../../seed/workers.js';

const USAGE = `usage: annals seed [--contacts N] [--tenant T] [--seed S] [--concurrency C] [--workers W]

Writes realistic, deterministic demo data through the write side (the command API's handlers, the lead
conversion process): contacts, leads through the funnel, deals won and lost, interactions, consents,
budgets with allocations and spend. Same --seed and --tenant → the same events.
Embedded (DATA_DIR) unless EVENTSTORE_URL / READ_DB_URL / KEYSTORE_URL name servers; stop \`annals start\`
first when embedded (PGlite opens in one process only). Defaults: --contacts 1000 --tenant demo --seed annals,
--concurrency 8 embedded, 32 on a server (persons seeded at once), --workers 1 embedded, one per core (at
most 4) on a server (threads sharing the persons out); the data depends on neither.`;

/** One line that redraws itself on a terminal; plain lines (every 10 %) otherwise. */
function progressPrinter(out: NodeJS.WriteStream, started: number) {
  let lastDecile = -1;
  let drawn = -Infinity;
  return (p: SeedProgress, final = false) => {
    // A redraw per person would cost more than the bar is worth at 100,000 persons: at most ten a second.
    if (!final && out.isTTY && performance.now() - drawn < 100) return;
    drawn = performance.now();
    const elapsed = (performance.now() - started) / 1000;
    const rate = p.events / Math.max(elapsed, 0.001);
    const done = p.total === 0 ? 1 : p.contacts / p.total;
    const eta = done > 0 ? (elapsed / done) * (1 - done) : 0;
    const text = `${p.contacts.toLocaleString('en')}/${p.total.toLocaleString('en')} contacts · ${p.events.toLocaleString('en')} events · ${Math.round(rate).toLocaleString('en')} events/s · ${final ? `${elapsed.toFixed(1)} s` : `ETA ${Math.ceil(eta)} s`}`;
    if (out.isTTY) {
      const width = 30;
      const bar = '█'.repeat(Math.round(done * width)).padEnd(width, '░');
      out.write(`\r${bar} ${String(Math.floor(done * 100)).padStart(3)}% ${text}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor(done * 10);
    if (final || decile > lastDecile) {
      lastDecile = decile;
      out.write(`seed: ${String(Math.floor(done * 100)).padStart(3)}% ${text}\n`);
    }
  };
}

export async function run(args: string[], io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args,
      options: { contacts: { type: 'string', default: '1000' }, tenant: { type: 'string', default: 'demo' }, seed: { type: 'string', default: 'annals' }, concurrency: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.stderr.write(`annals seed: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const contacts = Number(opts.contacts);
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  const problems = [
    !/^\d+$/.test(opts.contacts) || contacts < 1 || contacts > 10_000_000 ? '--contacts must be a whole number from 1 to 10000000' : undefined,
    opts.concurrency !== undefined && (!/^\d+$/.test(opts.concurrency) || Number(opts.concurrency) < 1 || Number(opts.concurrency) > 256) ? '--concurrency must be a whole number from 1 to 256' : undefined,
    opts.workers !== undefined && (!/^\d+$/.test(opts.workers) || Number(opts.workers) < 1 || Number(opts.workers) > 16) ? '--workers must be a whole number from 1 to 16' : undefined,
    // The tenant ends up in tokens, keys and every row: the same rule as a token's tenant claim.
    !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(opts.tenant) ? '--tenant must be 1–100 letters, digits, dots, dashes or underscores' : undefined,
    opts.seed.length === 0 || opts.seed.length > 200 ? '--seed must be 1–200 characters' : undefined,
  ].filter((x) => x !== undefined);
  if (problems.length > 0) {
    io.stderr.write(`annals seed: ${problems.join('; ')}\n${USAGE}\n`);
    return 2;
  }

  let loaded;
  try {
    loaded = await loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`annals seed: ${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  const { config } = loaded;
  const embedded = config.eventStore.kind === 'pglite';
  const inFlight = concurrency ?? defaultConcurrency(!embedded);
  const workers = opts.workers === undefined ? defaultWorkers(!embedded) : Number(opts.workers);
  if (embedded && workers > 1) {
    io.stderr.write('annals seed: --workers above 1 needs a server (EVENTSTORE_URL): an embedded data directory opens in one thread only\n');
    return 2;
  }
  const logger = createLogger({ level: 'warn', name: 'seed' });
  let target;
  try {
    target = await openSeedTarget(config, inFlight);
  } catch (err) {
    io.stderr.write(`annals seed: ${(err as Error).message}\n`);
    return EX_CONFIG;
  }
  const eventStore = target.eventStore;
  const print = progressPrinter(io.stdout, performance.now());
  try {
    const options = { contacts, tenant: opts.tenant, seed: opts.seed, concurrency: inFlight, onProgress: (p: SeedProgress) => print(p) };
    const report = workers > 1 ? await seedInWorkers(config, eventStore, options, workers) : await seed({ config, logger, eventStore }, options);
    print(report, true);
    io.stdout.write(
      `seeded tenant ${opts.tenant} (seed ${JSON.stringify(opts.seed)}): ${report.contacts} contacts, ${report.leads} leads, ${report.deals} deals, ${report.budgets} budgets — ${report.commands} commands, ${report.events} events in ${(report.elapsedMs / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } catch (err) {
    io.stderr.write(`\nannals seed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await target.close();
  }
}
