// `annals` CLI entry point. Each subcommand is one module under ./commands, loaded lazily so a
// command never pays for another's imports (pg, kafkajs, the ES client…).
// Adding a command = one module exporting `run(args): Promise<number>` + one line below.

export interface CliCommand {
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  start: { summary: 'the whole product in one process (same as `npm start`); embedded adapters unless configured', load: () => import('./commands/start.js') },
  seed: {
    summary: '[--contacts N] [--tenant T] [--seed S]: deterministic demo data through the write side (contacts, leads, deals, interactions, consents, budgets)',
    load: () => import('./commands/seed.js'),
  },
  'write-side': {
    summary: 'the command API as a standalone service, with GDPR erasure (projectors and relay run elsewhere; compose runs this)',
    load: () => import('./commands/write-side.js'),
  },
  replay: { summary: 'status | chain verify|anchors | … (annals replay --help): read models, hash chain', load: () => import('./commands/replay.js') },
  stack: { summary: 'up|down|status|env: the real servers on this machine (no Docker)', load: () => import('./commands/stack.js') },
  import: {
    summary: 'contacts <file.csv> [--on-duplicate skip|update|merge] [--map H:field,…]: streams a CSV to the running API, prints the per-row report',
    load: () => import('./commands/import.js'),
  },
  token: { summary: '--tenant T --sub U --roles r1,r2 [--ttl 1h]: a development token for the APIs', load: () => import('./commands/token.js') },
  projections: {
    summary: 'the projectors as a standalone service: PostgreSQL read models, search (ELASTICSEARCH_URL), analytics (CLICKHOUSE_URL) (same as `npm run projections`)',
    load: () => import('./commands/projections.js'),
  },
  'query-api': {
    summary: 'the GraphQL query API as a standalone service (same as `npm run query-api`): read models, search, analytics, auditTrail/…AsOf, X-Consistent-With',
    load: () => import('./commands/query-api.js'),
  },
  gdpr: {
    summary: 'erase|certificate|verify|export <subject>, retention run [--dry-run], rotate-master-key --new-key-env VAR: GDPR erasure with certificate, re-scan, export, retention (running API, dpo/admin token); key rotation (key store)',
    load: () => import('./commands/gdpr.js'),
  },
  dlq: { summary: 'list | show <id> | retry <id|--all> | skip <id>: dead letters of every read model and of the relay', load: () => import('./commands/dlq.js') },
  // Planned, one module each: seed.
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['usage: annals <command> [args…]', '', 'commands:', ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`annals: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return (await command.load()).run(args);
}

// Set exitCode rather than calling process.exit() so pending stdout (e.g. `stack env` piped
// into eval) is flushed before the process ends.
process.exitCode = await main(process.argv.slice(2));
