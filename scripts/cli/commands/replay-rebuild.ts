import { setPriority } from 'node:os';
import { createLogger } from '../../../platform/logging/logger.js';
import { deadLetter, encodeEvent } from '../../../platform/bus/message.js';
import { deadLetterTopic } from '../../../platform/bus/topics.js';
import type { ReadModelTarget } from '../../../projections/kernel/target.js';
import type { ReplayFailure } from '../../../projections/kernel/replay.js';
import { rebuildModels, type RebuildReport, type ShadowProgress } from '../../replay/rebuild.js';
import { verifyModels, type VerifyReport } from '../../replay/verify.js';
import { CliFailure, OPS_ENV_HELP, openOps, parseArgs, parseOpsEnv, runCommand, type OpsHandles } from './ops-env.js';
import { opsModels, parseOpsModelsEnv } from './ops-models.js';

const REBUILD_USAGE = `usage: annals replay rebuild (<model>… | all) [--batch N] [--grace DURATION]
  Rebuilds the chosen read models from ONE read of the event store (not Kafka) into shadow generations
  while the live ones keep serving, catches them up, then switches all of them (view / alias / table),
  each atomically in its store, only once every shadow is complete. Resumable: killed, the next run
  continues from the shadows' own checkpoints. Short transactions (one batch each).
  --batch N         events per read and per transaction (default 2000)
  --rate N          read at most N events per second (default: no ceiling), to leave the live pipeline room
  --priority P      low (default) or normal: the CPU priority of this process. Low (nice 19) lets the live
                    services on the same machine go first whenever the CPU is contended
  --grace DURATION  keep the previous generations this long (default 10m; 0 drops them at once; older
                    retired generations are dropped by the next run): 30s, 10m, 2h
  Events a model cannot apply go to its dead letters (annals dlq list). Exit 0: switched.
  ${OPS_ENV_HELP}`;

const VERIFY_USAGE = `usage: annals replay verify (<model>… | all) [--batch N] [--max N] [--json]
  Replays the whole history into a temporary generation of each chosen model and lists the differences
  from the live model with their keys: missing (replay has it, live does not), extra, different (columns).
  The temporary generation is dropped afterwards. Exit 0 only when there are none. PostgreSQL models are
  compared row by row, Elasticsearch documents by id, the ClickHouse fact table row by (tenant_id, position).
  --max N   differences listed per table (default 100; the rest are counted)
  ${OPS_ENV_HELP}`;

const jsonOf = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Error ? x.message : x), 2);

export function parseDuration(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h)?$/.exec(text);
  if (!m) throw new CliFailure(`--grace takes a duration such as 0, 30s, 10m, 2h, not ${JSON.stringify(text)}`, 2);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

function checkNames(known: readonly string[], names: readonly string[]): void {
  if (names.length === 0) throw new CliFailure('name the read models to act on, or all', 2);
  if (names.includes('all')) return;
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new CliFailure(`unknown read model ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known: ${known.join(', ')}`, 2);
}

function chooseTargets(all: readonly ReadModelTarget[], names: readonly string[]): ReadModelTarget[] {
  if (names.includes('all')) return [...all];
  const byName = new Map(all.map((t) => [t.name, t]));
  return [...new Set(names)].map((n) => byName.get(n)!);
}

function batchOf(flags: Map<string, string | true>): number | undefined {
  const raw = flags.get('batch');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new CliFailure('--batch must be an integer from 1 to 100000', 2);
  return n;
}

/** A progress bar on a terminal (events/s, position, ETA), a plain line every few seconds otherwise. */
export function progressPrinter(out: NodeJS.WriteStream, label: string): { update: (p: ShadowProgress) => void; done: () => void } {
  const tty = out.isTTY === true;
  let lastLine = 0;
  return {
    update(p) {
      const rate = p.elapsedMs > 0 ? (p.events * 1000) / p.elapsedMs : 0;
      // Positions are not counts, but they grow with the history: the share of the range read is the best
      // estimate of the share of the work done without counting the store first.
      const span = p.head !== undefined && p.position !== undefined ? Number(p.head - (p.from ?? 0n)) : 0;
      const done = span > 0 && p.position !== undefined ? Math.min(1, Number(p.position - (p.from ?? 0n)) / span) : 1;
      const eta = done > 0 && done < 1 ? ((p.elapsedMs / done) * (1 - done)) / 1000 : 0;
      const text = `${label}: ${p.events} events, ${Math.round(rate)} events/s, position ${p.position ?? '-'} of ${p.head ?? '-'}, ${Math.round(done * 100)}%, ETA ${eta.toFixed(0)} s`;
      if (tty) {
        const width = 30;
        const filled = Math.round(done * width);
        out.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
      } else if (Date.now() - lastLine >= 2_000) {
        lastLine = Date.now();
        out.write(`${text}\n`);
      }
    },
    done() {
      if (tty) out.write('\r\x1b[K');
    },
  };
}

/** Failures go where the runtime's go: the model's dead-letter topic (annals dlq list collects them). */
function deadLettering(ops: OpsHandles) {
  return async (model: string, f: ReplayFailure) => {
    const store = await ops.decodingStore();
    const [record] = await store.readStreamRaw(f.streamId, { fromRevision: f.streamRevision, toRevision: f.streamRevision });
    if (!record) return;
    await ops.bus().publish([deadLetter(encodeEvent(record), deadLetterTopic(model), { consumer: model, error: f.error, attempts: 1, at: new Date() })]);
  };
}

export function formatRebuild(r: RebuildReport): string {
  const secs = r.elapsedMs / 1000;
  const lines = [
    `${r.switched ? 'rebuilt' : 'NOT switched (interrupted; run again to resume)'}: ${r.models.length} model${r.models.length === 1 ? '' : 's'}, ${r.events} events read once in ${secs.toFixed(2)} s (${Math.round(r.events / Math.max(secs, 0.001))} events/s), up to position ${r.position ?? '-'}`,
  ];
  const header = ['read model', 'store', 'generation', 'resumed from', 'applied', 'duplicates', 'failed'];
  const rows = r.models.map((m) => [m.name, m.store, `${m.previousGeneration ?? '-'} → ${m.generation}`, m.resumedFrom?.toString() ?? '-', String(m.applied), String(m.duplicates), String(m.failures.length)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  lines.push(...[header, ...rows].map((x) => x.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()));
  if (r.dropped.length > 0) lines.push(`dropped retired generations: ${r.dropped.map((d) => `${d.name} g${d.generation}`).join(', ')}`);
  return lines.join('\n') + '\n';
}

export function formatVerify(r: VerifyReport): string {
  const lines = [`verify: ${r.events} events replayed in ${(r.elapsedMs / 1000).toFixed(2)} s`];
  for (const m of r.models) {
    if (!m.comparable) {
      lines.push(`${m.name} (${m.store}): not comparable by this build yet`);
      continue;
    }
    const n = m.differences.length + m.unlisted;
    lines.push(`${m.name}: ${n === 0 ? 'identical' : `${n} difference${n === 1 ? '' : 's'}`} (${Object.entries(m.rows).map(([t, c]) => `${t} ${c} rows`).join(', ')})`);
    for (const d of m.differences) lines.push(`  ${d.kind.padEnd(9)} ${d.table} ${JSON.stringify(d.key)}${d.kind === 'different' ? ` columns: ${d.columns.join(', ')}` : ''}`);
    if (m.unlisted > 0) lines.push(`  … and ${m.unlisted} more`);
  }
  return lines.join('\n') + '\n';
}

/** nice 19 for this process; a platform that refuses (no permission) leaves the priority as it was. */
function lowerPriority(): void {
  try {
    setPriority(0, 19);
  } catch {
    // not fatal: the rebuild still runs, at normal priority
  }
}

export async function run(args: string[], mode: 'rebuild' | 'verify' = 'rebuild'): Promise<number> {
  return runCommand(`replay ${mode}`, async () => {
    const { flags, positional } = parseArgs(args, ['batch', 'grace', 'max', 'rate', 'priority']);
    if (flags.has('help')) {
      process.stdout.write(`${mode === 'rebuild' ? REBUILD_USAGE : VERIFY_USAGE}\n`);
      return 0;
    }
    const batchSize = batchOf(flags);
    const graceMs = mode === 'rebuild' && typeof flags.get('grace') === 'string' ? parseDuration(flags.get('grace') as string) : undefined;
    const rateRaw = flags.get('rate');
    const rate = typeof rateRaw === 'string' ? Number(rateRaw) : undefined;
    if (rate !== undefined && (!Number.isFinite(rate) || rate < 1 || rate > 10_000_000)) throw new CliFailure('--rate must be a number of events per second from 1 to 10000000', 2);
    const maxRaw = flags.get('max');
    const maxListed = typeof maxRaw === 'string' ? Number(maxRaw) : undefined;
    if (maxListed !== undefined && (!Number.isInteger(maxListed) || maxListed < 0 || maxListed > 1_000_000)) throw new CliFailure('--max must be an integer from 0 to 1000000', 2);
    const priority = flags.get('priority') ?? 'low';
    if (priority !== 'low' && priority !== 'normal') throw new CliFailure('--priority must be low or normal', 2);
    // A rebuild is background work: with the live pipeline on the same cores (2 here), decoding and SQL
    // building in this process would take CPU from the live consumers and show up as their lag.
    if (priority === 'low') lowerPriority();
    const ops = openOps(parseOpsEnv(process.env), `annals-${mode}`);
    const modelsEnv = parseOpsModelsEnv(process.env);
    let models: ReturnType<typeof opsModels> | undefined;
    const controller = new AbortController();
    // Ctrl-C stops after the batch in flight: everything committed so far is the next run's starting point.
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const readSql = await ops.readSql();
      models = opsModels(readSql, { ...modelsEnv, DATA_DIR: ops.env.DATA_DIR });
      checkNames(models.catalogue.map((m) => m.name), positional);
      const targets = chooseTargets(await models.targets(positional), positional);
      for (const t of targets) await t.register();
      const store = await ops.decodingStore();
      const progress = progressPrinter(process.stderr, mode);
      const log = createLogger({ level: 'warn', name: `annals-${mode}` });
      const common = { store, log, controlSql: readSql, signal: controller.signal, onProgress: progress.update, onFailure: deadLettering(ops), ...(batchSize ? { batchSize } : {}), ...(rate !== undefined ? { maxEventsPerSecond: rate } : {}) };
      if (mode === 'rebuild') {
        const report = await rebuildModels(targets, { ...common, ...(graceMs !== undefined ? { graceMs } : {}) });
        progress.done();
        process.stdout.write(flags.has('json') ? `${jsonOf(report)}\n` : formatRebuild(report));
        if (!report.switched) throw new CliFailure('interrupted before the switch; run the same command again to resume');
        return 0;
      }
      const report = await verifyModels(targets, { ...common, comparators: models.comparators, ...(maxListed !== undefined ? { maxListed } : {}) });
      progress.done();
      process.stdout.write(flags.has('json') ? `${jsonOf(report)}\n` : formatVerify(report));
      const total = report.models.reduce((n, m) => n + m.differences.length + m.unlisted, 0);
      if (total > 0) throw new CliFailure(`${total} difference${total === 1 ? '' : 's'} between the live models and a fresh replay`);
      if (report.models.some((m) => !m.comparable)) throw new CliFailure(`${report.models.filter((m) => !m.comparable).map((m) => m.name).join(', ')}: not comparable by this build`);
      return 0;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await models?.close();
      await ops.close();
    }
  });
}
