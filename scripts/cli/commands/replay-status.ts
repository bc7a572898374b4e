import { formatStatus, replayStatus } from '../../replay/status.js';
import { OPS_ENV_HELP, openOps, parseArgs, parseOpsEnv, runCommand } from './ops-env.js';

const USAGE = `usage: annals replay status [--json]
  every read model: version (code/live), generation, applied position, store head, lag, dead letters
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
      const bus = ops.env.KAFKA_BROKERS ? ops.bus() : undefined;
      const rows = await replayStatus({ readSql: await ops.readSql(), store: await ops.store(), bus });
      process.stdout.write(`${formatStatus(rows)}\n`);
      return 0;
    } finally {
      await ops.close();
    }
  });
}
