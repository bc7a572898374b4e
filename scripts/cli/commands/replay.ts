import type { CliCommand } from '../annals.js';

/**
 * `annals replay <subcommand>`: one module per subcommand (loaded lazily, like the top-level commands), so
 * engineers working on different subcommands never edit the same file for more than one line.
 * Adding a subcommand = a module exporting `run(args): Promise<number>` + one line below.
 */
const SUBCOMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  status: { summary: 'checkpoint, head, lag, generation, needs-rebuild and dead letters of every read model [--json]', load: () => import('./replay-status.js') },
  chain: { summary: 'verify [<stream>|--all] | anchors: the tamper-evident hash chain and its anchors', load: () => import('./replay-chain.js') },
  rebuild: { summary: '<model…|all>: one read of the event store into shadow generations, then switch them all (resumable)', load: () => import('./replay-rebuild.js') },
  verify: { summary: '<model…|all>: replay into a temporary generation and list missing/extra/different rows; exit 0 only when none', load: () => import('./replay-verify.js') },
  history: { summary: '<entity> [--as-of <instant>] [--json]: every event (who, when, why, what changed) or the state as of an instant', load: () => import('./replay-history.js') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((c) => c.length));
  return [
    'usage: annals replay <subcommand> [args…] (each takes --help)',
    '',
    ...Object.entries(SUBCOMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${usage()}\n`);
    return sub === undefined ? 2 : 0;
  }
  const command = SUBCOMMANDS[sub];
  if (!command) {
    process.stderr.write(`annals replay: unknown subcommand "${sub}"\n${usage()}\n`);
    return 2;
  }
  return (await command.load()).run(rest);
}
