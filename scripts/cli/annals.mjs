#!/usr/bin/env node
// Launcher for the `annals` CLI (package.json "bin", `npx annals`, `npm run annals --`).
// Plain JS so it runs without a build step: it re-executes node with tsx loaded on annals.ts.
// Both tsx and annals.ts are resolved from this file (not the cwd), so it works from any
// directory and through the npm bin symlink, while relative arguments keep meaning the cwd.
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const tsx = import.meta.resolve('tsx');
// The processes that serve GraphQL get a larger young generation: a query's rows, nodes and answer live
// across a few awaits, and with V8's default semi-space (16 MB) many of them outlive a scavenge and are
// copied, then promoted; at 32 MB they die young. Measured: −25% CPU per 50-deal page (bench/query-api.ts,
// which launches its servers with the same flag). At most +32 MB of RSS under load, none at idle.
// A rebuild or a verification decodes and serialises events as fast as the stores take them: with 64 MB
// most of each batch dies young instead of being copied and promoted (ClickHouse alone: 21.2 s → 19.7 s
// for 1.19M events, bench:rebuild, which runs with the same flag).
const cmd = process.argv[2] ?? '';
const serving = ['start', 'query-api'].includes(cmd) ? ['--max-semi-space-size=32'] : cmd === 'replay' ? ['--max-semi-space-size=64'] : [];
const child = spawn(process.execPath, [...serving, '--import', tsx, join(here, 'annals.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// Forward Ctrl-C / termination so the CLI can clean up instead of being orphaned.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
