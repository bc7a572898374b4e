#!/usr/bin/env node
// Runs node's built-in test runner over the test files of one level.
//   unit  *.unit.test.ts             pure code and embedded adapters (PGlite, in-process bus); `npm test`
//   int   *.int.test.ts              needs real servers (`annals stack up`)
//   real  *.int.test.ts + *.e2e.test.ts
// Node 20's runner does not expand globs, so we find the files ourselves.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const level = process.argv[2] ?? 'unit';
const extra = process.argv.slice(3);
const suffixes = { unit: ['.unit.test.ts'], int: ['.int.test.ts'], e2e: ['.e2e.test.ts'], real: ['.int.test.ts', '.e2e.test.ts'] }[level];
if (!suffixes) {
  console.error(`unknown test level "${level}" (unit | int | e2e | real)`);
  process.exit(2);
}
// tests/: tests across deployables (e.g. the query API on read models the real projections wrote).
const roots = ['schemas', 'platform', 'write-side', 'projections', 'query-api', 'scripts', 'tests'];
const files = [];
const walk = (dir) => {
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); }
    else if (suffixes.some((s) => e.name.endsWith(s))) files.push(relative(process.cwd(), p));
  }
};
roots.forEach(walk);
const filter = extra.find((a) => !a.startsWith('-'));
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
if (selected.length === 0) {
  console.error(`no ${level} test files found`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? (level === 'unit' ? '2' : '1');
// --test-force-exit: a file whose tests all finished is ended even if a client library left a socket open
// (kafkajs can keep a connection to a freshly started broker after disconnect, seen once on a brand-new
// KRaft cluster): a leaked handle must never turn a green run into a CI that hangs until its time limit.
// --test-timeout: no single test may wait forever either (each test also sets its own, tighter, timeout).
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-force-exit', '--test-timeout=600000', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...selected.sort()],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
