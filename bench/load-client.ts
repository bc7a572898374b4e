/**
 * The load generator, in its own process so that it never shares an event loop (or a heap) with the
 * service it measures: `node --import tsx bench/load-client.ts '<LoadSpec JSON>'`, forked by
 * bench/lib/load.ts. autocannon keeps `connections` HTTP/1.1 keep-alive connections busy (a closed
 * loop: each sends its next command when the previous answer arrives) until `amount` commands are
 * answered, first for the warm-up, then for the measurement.
 *
 * Throughput is measured here, from the start to the LAST answer: autocannon reports the end of an
 * `amount` run only on its next sampling tick (sampleInt, 1 s by default), so its own clock rounds every
 * run up to whole seconds (2,000 answers in 3.1 s read as 4.0 s: 499/s whatever the server did). The
 * tick is also shortened so the pause between the warm-up and the measurement stays short.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './lib/load.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const run = randomUUID().slice(0, 8);
let sent = 0;

function fire(amount: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  let lastAnswer = started;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        amount,
        timeout: 30,
        sampleInt: 50,
        requests: [
          {
            method: 'POST',
            path: spec.path,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.token}` },
            body: JSON.stringify(spec.body),
            // A client that may retry sends a fresh Idempotency-Key with every command (write-side/README.md).
            setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'idempotency-key': `bench-${run}-${sent++}` } }),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const elapsedMs = lastAnswer - started;
        if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
          return reject(new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts out of ${amount}`));
        }
        latencies.sort((a, b) => a - b);
        const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
        resolve({ commands: latencies.length, elapsedMs, commandsPerSec: latencies.length / (elapsedMs / 1000), p50Ms: pct(50), p95Ms: pct(95), p99Ms: pct(99) });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastAnswer = performance.now();
    });
  });
}

try {
  if (spec.warmup > 0) await fire(spec.warmup);
  const result = await fire(spec.amount);
  if (process.send) process.send(result);
  else console.log(JSON.stringify(result));
} catch (e) {
  // The message, not a stack trace, is what the bench report shows.
  if (process.send) process.send({ error: (e as Error).message });
  process.exitCode = 1;
}
