import { describeBreak } from '../../../platform/event-store/chain-walk.js';
import { ensureAnchorTable, readAnchors, verifyChains, type ChainAnchor, type ChainReport } from '../../replay/chain.js';
import { CliFailure, OPS_ENV_HELP, openOps, parseArgs, parseOpsEnv, runCommand } from './ops-env.js';

const USAGE = `usage: annals replay chain verify (<stream> | --all) [--no-anchor] [--batch N] [--json]
       annals replay chain anchors [--json]
  verify <stream>  recompute one stream's hash chain from its stored bytes (ciphertext included, so it
                   verifies after erasure) and name the first broken link
  verify --all     every stream in one pass over $all (bounded batches), checking every chain anchor on
                   the way; when all is intact, writes a new anchor at the verified head (--no-anchor: don't).
                   Run it periodically (cron): each run anchors what it verified.
  anchors          the anchors (position, streams, events, heads digest, anchor hash), oldest first; keep
                   the newest anchor hash outside the databases
  exit 0: intact; 1: a broken link or anchor (one line per finding on stdout, a summary on stderr)
  ${OPS_ENV_HELP}`;

const jsonOf = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

export async function run(args: string[]): Promise<number> {
  return runCommand('replay chain', async () => {
    const { flags, positional } = parseArgs(args, ['batch']);
    if (flags.has('help')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const [sub, stream, ...extra] = positional;
    const all = flags.get('all') === true;
    if (sub === 'anchors' && stream === undefined) return anchors(flags.has('json'));
    if (sub !== 'verify' || extra.length > 0 || (stream === undefined) === !all) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const batch = flags.get('batch');
    const batchSize = batch === undefined ? undefined : Number(batch);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)) throw new CliFailure('--batch must be an integer from 1 to 100000', 2);
    const ops = openOps(parseOpsEnv(process.env), 'annals-chain');
    try {
      const store = await ops.store();
      const tty = process.stderr.isTTY === true && !flags.has('json');
      const report = await verifyChains({
        adapter: store.adapter,
        anchorsSql: all ? await ops.readSql() : undefined,
        stream: all ? undefined : stream,
        batchSize,
        writeAnchor: flags.get('no-anchor') !== true,
        onProgress: tty ? (p) => process.stderr.write(`\r  ${p.events} events, position ${p.position} of ${p.head}`) : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      process.stdout.write(flags.has('json') ? `${jsonOf(report)}\n` : formatChainReport(report));
      const findings = report.breaks.length + report.anchorMismatches.length;
      if (report.scope !== 'all' && report.events === 0) throw new CliFailure(`stream ${JSON.stringify(report.scope.stream)} holds no events`);
      if (findings === 0) return 0;
      process.stderr.write(
        `annals replay chain: ${report.breaks.length} broken chain${report.breaks.length === 1 ? '' : 's'}, ${report.anchorMismatches.length} anchor finding${report.anchorMismatches.length === 1 ? '' : 's'}\n`,
      );
      return 1;
    } finally {
      await ops.close();
    }
  });
}

async function anchors(json: boolean): Promise<number> {
  const ops = openOps(parseOpsEnv(process.env), 'annals-chain');
  try {
    const sql = await ops.readSql();
    await ensureAnchorTable(sql);
    const list = await readAnchors(sql);
    process.stdout.write(json ? `${jsonOf(list)}\n` : formatAnchors(list));
    return 0;
  } finally {
    await ops.close();
  }
}

export function formatAnchors(list: readonly ChainAnchor[]): string {
  if (list.length === 0) return 'no anchors yet: `annals replay chain verify --all` writes one when the store verifies intact\n';
  const header = ['#', 'position', 'streams', 'events', 'created at', 'heads digest', 'anchor hash'];
  const rows = list.map((a) => [String(a.seq), String(a.position), String(a.streams), String(a.events), a.createdAt.toISOString(), a.headsDigest, a.anchorHash]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatChainReport(r: ChainReport): string {
  const lines: string[] = [];
  const rate = r.elapsedMs > 0 ? Math.round((r.events * 1000) / r.elapsedMs) : r.events;
  const scope = r.scope === 'all' ? 'all streams' : `stream ${JSON.stringify(r.scope.stream)}`;
  lines.push(`chain verify, ${scope}: ${r.events} events in ${r.streams} stream${r.streams === 1 ? '' : 's'} up to position ${r.position ?? '-'} (${(r.elapsedMs / 1000).toFixed(2)} s, ${rate} events/s)`);
  for (const b of r.breaks) lines.push(`BROKEN  ${describeBreak(b)}`);
  if (r.scope === 'all') {
    for (const m of r.anchorMismatches) lines.push(`ANCHOR  ${m.detail}`);
    lines.push(`anchors: ${r.anchorsChecked} checked, ${r.anchorMismatches.length === 0 ? 'all match' : `${r.anchorMismatches.length} mismatch${r.anchorMismatches.length === 1 ? '' : 'es'}`}`);
  }
  if (r.breaks.length === 0 && r.anchorMismatches.length === 0) lines.push(r.events === 0 && r.scope !== 'all' ? 'NOT FOUND: the stream holds no events' : 'OK: every chain intact');
  if (r.anchorWritten) lines.push(`anchor #${r.anchorWritten.seq} written at position ${r.anchorWritten.position}: ${r.anchorWritten.streams} streams, ${r.anchorWritten.events} events, anchor hash ${r.anchorWritten.anchorHash}`);
  return lines.join('\n') + '\n';
}
