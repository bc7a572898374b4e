import { collectDeadLetters, deadLetterConsumers } from '../../../projections/dead-letters/collect.js';
import { DeadLetterError, retryDeadLetter, skipDeadLetter } from '../../../projections/dead-letters/retry.js';
import { getDeadLetter, listDeadLetters, type DeadLetter } from '../../../projections/dead-letters/store.js';
import { CliFailure, OPS_ENV_HELP, openOps, parseArgs, parseOpsEnv, runCommand } from './ops-env.js';
import { opsModels, parseOpsModelsEnv } from './ops-models.js';

const USAGE = `usage: annals dlq list [--all] [--consumer NAME] [--json]
       annals dlq show <id> [--json]
       annals dlq retry (<id> | --all) [--actor NAME]
       annals dlq skip <id> [--actor NAME]
  The dead letters of every read model of every store and of the relay, in one place. Every command first
  collects what is new on the annals.dlq.* topics into the read database (annals_dead_letters).
  list    pending letters (--all: retried and skipped too), in stream order per consumer
  show    one letter: error, event coordinates, bus coordinates, attempts, resolution
  retry   re-applies the event through the read model's own apply path, IN STREAM ORDER: the stream's
          later events are re-applied after it, so the model ends as if it had never failed; a relay
          letter is applied to every read model, then published. --all: every pending letter, in order.
  skip    marks it skipped: the event stays unapplied; who (--actor, default $USER) and when are recorded
  exit 0: done; 1: the letter still fails / does not exist / is resolved already (one line on stderr)
  ${OPS_ENV_HELP}`;

const jsonOf = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

function parseId(raw: string | undefined): bigint {
  if (raw === undefined || !/^[1-9]\d{0,17}$/.test(raw)) throw new CliFailure(`a dead-letter id is a positive integer (from \`annals dlq list\`), not ${JSON.stringify(raw ?? '')}`, 2);
  return BigInt(raw);
}

export async function run(args: string[]): Promise<number> {
  return runCommand('dlq', async () => {
    const { flags, positional } = parseArgs(args, ['consumer', 'actor']);
    const [sub, arg, ...extra] = positional;
    if (flags.has('help') || sub === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (!['list', 'show', 'retry', 'skip'].includes(sub ?? '') || extra.length > 0) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const actor = typeof flags.get('actor') === 'string' ? (flags.get('actor') as string) : process.env.USER;
    if ((sub === 'retry' || sub === 'skip') && (actor === undefined || actor.trim() === '')) throw new CliFailure('who is acting? pass --actor NAME (or set USER)', 2);
    const retryAll = sub === 'retry' && flags.get('all') === true;
    const id = sub === 'show' || sub === 'skip' || (sub === 'retry' && !retryAll) ? parseId(arg) : undefined;

    const ops = openOps(parseOpsEnv(process.env), 'annals-dlq');
    const modelsEnv = parseOpsModelsEnv(process.env);
    let models: ReturnType<typeof opsModels> | undefined;
    try {
      const sql = await ops.readSql();
      models = opsModels(sql, { ...modelsEnv, DATA_DIR: ops.env.DATA_DIR });
      await collectDeadLetters({ sql, bus: ops.bus(), consumers: await deadLetterConsumers(sql, models.catalogue.map((t) => t.name)) });
      switch (sub) {
        case 'list': {
          const consumer = flags.get('consumer');
          const letters = await listDeadLetters(sql, { status: flags.get('all') === true ? 'all' : 'pending', consumer: typeof consumer === 'string' ? consumer : undefined });
          process.stdout.write(flags.has('json') ? `${jsonOf(letters)}\n` : formatList(letters));
          return 0;
        }
        case 'show': {
          const letter = await getDeadLetter(sql, id!);
          if (!letter) throw new CliFailure(`no dead letter #${id}`);
          process.stdout.write(flags.has('json') ? `${jsonOf(letter)}\n` : formatLetter(letter));
          return 0;
        }
        case 'skip': {
          const letter = await skipDeadLetter({ sql, actor: actor! }, id!);
          process.stdout.write(`skipped #${letter.id} (${letter.consumer}, ${letter.streamId ?? '?'} revision ${letter.streamRevision ?? '?'}) by ${letter.resolvedBy} at ${letter.resolvedAt?.toISOString()}\n`);
          return 0;
        }
        case 'retry': {
          const letters = retryAll ? await listDeadLetters(sql) : [await getDeadLetter(sql, id!)].filter((l) => l !== undefined);
          const ids = retryAll ? letters.map((l) => l.id) : [id!];
          // A relay letter goes to every model; a model's letter to that model (only then is an engine opened).
          const needed = letters.some((l) => l.consumer === 'relay') ? ['all'] : letters.map((l) => l.consumer);
          const targets = await models.targets(needed);
          const deps = { sql, store: await ops.decodingStore(), bus: ops.bus(), targets: new Map(targets.map((t) => [t.name, t])), actor: actor! };
          let failed = 0;
          for (const next of ids) {
            // A letter resolved by an earlier retry of the same stream (applied in its tail) is passed over.
            if (retryAll && (await getDeadLetter(sql, next))?.status !== 'pending') continue;
            try {
              const o = await retryDeadLetter(deps, next);
              const what = o.applied.map((a) => `${a.model} revisions ${a.fromRevision}…${a.toRevision} (${a.applied} applied)`).join(', ') || 'no read model handles its type';
              const also = o.alsoResolved.length > 0 ? `; also resolves #${o.alsoResolved.join(', #')}` : '';
              process.stdout.write(`retried #${next} (${o.letter.consumer}, ${o.letter.streamId} revision ${o.letter.streamRevision}): ${what}${o.published ? '; published again' : ''}${also}\n`);
            } catch (err) {
              if (!(err instanceof DeadLetterError) || !retryAll) throw err;
              failed++;
              process.stdout.write(`FAILED  #${next}: ${err.message}\n`);
            }
          }
          if (failed > 0) throw new CliFailure(`${failed} of ${ids.length} dead letters still fail (they stay pending)`);
          return 0;
        }
      }
      return 2;
    } finally {
      await models?.close();
      await ops.close();
    }
  });
}

const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function formatList(letters: readonly DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters\n';
  const header = ['id', 'consumer', 'status', 'stream', 'rev', 'position', 'type', 'code', 'attempts', 'dead-lettered at', 'error'];
  const rows = letters.map((l) => [
    String(l.id),
    l.consumer,
    l.status,
    l.streamId ?? '-',
    l.streamRevision?.toString() ?? '-',
    l.position?.toString() ?? '-',
    l.eventType ?? '-',
    l.code,
    l.occurrences > 1 ? `${l.attempts} (×${l.occurrences})` : String(l.attempts),
    l.deadLetteredAt.toISOString(),
    oneLine(l.error, 60),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatLetter(l: DeadLetter): string {
  const lines: Array<[string, string]> = [
    ['id', String(l.id)],
    ['consumer', l.consumer],
    ['status', l.status + (l.resolvedBy ? ` by ${l.resolvedBy} at ${l.resolvedAt?.toISOString()}` : '')],
    ['event', `${l.eventType ?? '?'} ${l.eventId ?? '(no id)'}`],
    ['stream', `${l.streamId ?? '?'} revision ${l.streamRevision ?? '?'}, position ${l.position ?? '?'}`],
    ['consumed from', l.source ? `${l.source.topic}[${l.source.partition}]@${l.source.offset}` : '-'],
    ['dead-letter topic', `${l.dlq.topic}[${l.dlq.partition}]@${l.dlq.offset}`],
    ['dead-lettered at', l.deadLetteredAt.toISOString()],
    ['attempts', `${l.attempts}${l.occurrences > 1 ? `, dead-lettered ${l.occurrences} times` : ''}`],
    ['code', l.code],
    ['error', l.error],
    ['retries', `${l.retryCount}${l.lastRetryAt ? `, last at ${l.lastRetryAt.toISOString()}` : ''}${l.lastRetryError ? `: ${l.lastRetryError}` : ''}`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
