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
const child = spawn(process.execPath, ['--import', tsx, join(here, 'annals.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// Forward Ctrl-C / termination so the CLI can clean up instead of being orphaned.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
