import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A command load: `connections` concurrent clients POST `body` to `url` + `path` until `amount` answers. */
export interface LoadSpec {
  readonly url: string;
  readonly path: string;
  readonly token: string;
  readonly body: Record<string, unknown>;
  readonly connections: number;
  /** Commands sent before measuring (JIT, pools, plan caches), not counted. */
  readonly warmup: number;
  readonly amount: number;
}

export interface LoadResult {
  readonly commands: number;
  readonly elapsedMs: number;
  readonly commandsPerSec: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/** Runs the load from a separate process (bench/load-client.ts); rejects on any non-2xx answer. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(here, '..', 'load-client.ts'), [JSON.stringify(spec)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let result: LoadResult | undefined;
    let error: string | undefined;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('message', (msg: LoadResult | { error: string }) => ('error' in msg ? (error = msg.error) : (result = msg)));
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`load client exited with ${code}: ${error ?? stderr.trim().slice(-500)}`))));
  });
}

/** A realistic CaptureLead body (write-side/lead/commands.ts), the same for every command: each creates a new lead. */
export const captureLeadBody = {
  name: 'Margaret Oyelaran-Whitfield',
  email: 'margaret@northwind-logistics.example',
  phone: '+44 20 7946 0958',
  company: 'Northwind Logistics Ltd',
  source: 'web',
  campaign: 'Q3 logistics webinar series',
  notes: 'Met at the Manchester supply-chain expo; interested in fleet CRM integration and a pilot for two depots.',
};
