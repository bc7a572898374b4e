import { AuditInputError } from '../../../platform/audit/errors.js';
import { createHistoryReader } from '../../../platform/audit/history.js';
import { parseInstant } from '../../../platform/audit/input.js';
import { aggregates } from '../../../schemas/events/streams.js';
import { auditFolds } from '../../../write-side/audit-folds.js';
import { formatAsOf, formatHistory, historyJson, parseEntityArg } from '../../replay/history.js';
import { CliFailure, OPS_ENV_HELP, openOps, parseArgs, parseOpsEnv, runCommand } from './ops-env.js';

const USAGE = `usage: annals replay history <entity> [--as-of <instant>] [--tenant <tenant>] [--json]
  <entity>   an id (every stream with it: a contact or lead and its consent stream) or one stream,
             <aggregate>-<id> (lead, contact, deal, consent, budget)
  (default)  every event, oldest first: time, type, stream@revision, position, actor, correlation and
             causation ids, and the fields of the state it changed (before → after); personal values
             decrypted, "[erased]" for an erased subject
  --as-of    the state at that instant instead: the events that occurred at or before it, folded with the
             write side's own deciders (the same fold as GraphQL …AsOf). An ISO 8601 instant with an offset,
             e.g. 2026-03-01T09:00:00Z
  --tenant   only that tenant's streams (another tenant's stream reads as absent)
  --json     machine-readable output
  exit 0: printed; 1: no such entity; 2: bad arguments; 78: bad configuration
  ${OPS_ENV_HELP}
  decrypting needs PII_MASTER_KEY (or the embedded development key in DATA_DIR) and the key store
  (KEYSTORE_URL, else READ_DB_URL, else DATA_DIR/read)`;

export async function run(args: string[]): Promise<number> {
  return runCommand('replay history', async () => {
    const { flags, positional } = parseArgs(args, ['as-of', 'tenant']);
    if (flags.has('help')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const unknown = [...flags.keys()].find((f) => !['as-of', 'tenant', 'json'].includes(f));
    if (unknown) throw new CliFailure(`--${unknown} is not an option of replay history (see --help)`, 2);
    if (positional.length !== 1) throw new CliFailure(positional.length === 0 ? 'which entity? (an id or <aggregate>-<id>; see --help)' : 'one entity at a time', 2);
    let entity: ReturnType<typeof parseEntityArg>;
    let at: Date | undefined;
    try {
      entity = parseEntityArg(positional[0]!);
      const asOf = flags.get('as-of');
      if (asOf === true) throw new CliFailure('--as-of needs an instant', 2);
      at = asOf === undefined ? undefined : parseInstant(asOf, '--as-of');
    } catch (err) {
      if (err instanceof AuditInputError) throw new CliFailure(err.message, 2);
      throw err;
    }
    const tenant = flags.get('tenant');
    if (tenant === true) throw new CliFailure('--tenant needs a value', 2);
    const json = flags.has('json');

    const ops = openOps(parseOpsEnv(process.env), 'annals-history');
    try {
      const reader = createHistoryReader({ store: await ops.decodingStore(), folds: auditFolds });
      const scope = tenant === undefined ? {} : { tenantId: tenant };
      const label = entity.aggregate ? `${entity.aggregate}-${entity.id}` : entity.id;
      const history = (await reader.entityHistory(entity.id, scope)).filter((e) => !entity.aggregate || e.aggregate === entity.aggregate);
      if (history.length === 0) throw new CliFailure(`no events for ${label}${tenant === undefined ? '' : ` in tenant ${tenant}`}`);
      if (at === undefined) {
        process.stdout.write(json ? `${historyJson(history)}\n` : formatHistory(history));
        return 0;
      }
      const streams = entity.aggregate ? [entity.aggregate] : aggregates.filter((a) => history.some((e) => e.aggregate === a));
      const states = await Promise.all(streams.map(async (aggregate) => ({ aggregate, id: entity.id, state: await reader.stateAsOf(aggregate, entity.id, at, scope) })));
      process.stdout.write(json ? `${historyJson(states)}\n` : formatAsOf(at, states));
      return 0;
    } finally {
      await ops.close();
    }
  });
}
