import { formatStatus, replayStatus, statusJson } from '../../replay/status.js';
import { OPS_ENV_HELP, openOps, parseArgs, parseOpsEnv, runCommand } from './ops-env.js';
import { opsModels, parseOpsModelsEnv } from './ops-models.js';

const USAGE = `usage: annals replay status [--json [--partitions]]
  every read model of every store: store, version (code/live: different = needs rebuild), generation in
  use, checkpoint (last applied position), lag in events (bus messages not applied) and in seconds (age of
  the oldest event not applied), dead letters waiting (annals dlq list), and the relay's dead letters
  ${OPS_ENV_HELP}`;

export async function run(args: string[]): Promise<number> {
  return runCommand('replay status', async () => {
    const { flags, positional } = parseArgs(args, []);
    if (flags.has('help')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positional.length > 0) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const ops = openOps(parseOpsEnv(process.env), 'annals-replay');
    try {
      const readSql = await ops.readSql();
      const models = opsModels(readSql, { ...parseOpsModelsEnv(process.env), DATA_DIR: ops.env.DATA_DIR });
      const report = await replayStatus({ readSql, store: await ops.store(), bus: ops.bus(), models: models.catalogue }).finally(() => models.close());
      process.stdout.write(`${flags.has('json') ? statusJson(report, flags.has('partitions')) : formatStatus(report)}\n`);
      return 0;
    } finally {
      await ops.close();
    }
  });
}
