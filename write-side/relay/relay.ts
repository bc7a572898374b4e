import type { Logger } from 'pino';
import { backoffDelay, defaultBackoff, sleep, type BackoffPolicy } from '../../platform/bus/backoff.js';
import type { Bus } from '../../platform/bus/port.js';
import { allEventsTopics, deadLetterTopic } from '../../platform/bus/topics.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { Position } from '../../schemas/events/envelope.js';
import { advanceOffsets } from '../../platform/bus/relay-offsets.js';
import type { RelayCheckpointStore } from './checkpoint.js';
import { RELAY, routeBatch } from './route.js';

export interface RelayOptions {
  readonly store: EventStore;
  readonly bus: Bus;
  readonly checkpoint: RelayCheckpointStore;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Injected clock for dead-letter timestamps. */
  readonly now?: () => Date;
}

export interface RelayStats {
  checkpoint: Position | undefined;
  published: number;
  deadLettered: number;
  skipped: number;
  caughtUp: boolean;
  lastError: string | undefined;
}

/**
 * The relay: the ONLY code that publishes events (no dual writes in command handlers). A catch-up
 * subscription on `$all` from the stored checkpoint; each batch is published (events in store order,
 * so per-stream order holds on every partition) and the checkpoint moves ONLY after the broker
 * acknowledged the whole batch. Consequences, by design:
 * - a crash after the ack and before the checkpoint republishes that batch on restart (at-least-once):
 *   projectors dedupe by per-stream revision, so a republish changes nothing;
 * - a broker outage stalls the relay (publish retried with backoff), it never skips.
 * Run one relay per event store: a second one would only duplicate messages (harmless, wasteful).
 */
export async function runRelay(options: RelayOptions, stats: RelayStats = newRelayStats()): Promise<void> {
  const { store, bus, checkpoint, log, signal } = options;
  const backoff = options.backoff ?? defaultBackoff;
  const now = options.now ?? (() => new Date());
  let failures = 0;
  while (!signal.aborted) {
    try {
      await bus.ensureTopics([...allEventsTopics, deadLetterTopic(RELAY)]);
      const after = await checkpoint.load();
      // Read-your-writes (platform/bus/relay-offsets.ts): the last offset written per partition, cumulative.
      let offsets = (await checkpoint.loadOffsets?.()) ?? new Map<string, bigint>();
      stats.checkpoint = after;
      log.info({ after: after?.toString() ?? null }, 'relay: subscribing to $all');
      await store.subscribeToAll({
        after,
        batchSize: options.batchSize ?? 500,
        // Appends from other processes are seen by polling; 25 ms keeps relay latency well under the
        // end-to-end budget for the price of one indexed query per poll.
        pollIntervalMs: options.pollIntervalMs ?? 25,
        signal,
        onCaughtUp: () => {
          stats.caughtUp = true;
        },
        onBatch: async (records) => {
          stats.caughtUp = false;
          const routed = routeBatch(records, now());
          for (const { record, error } of routed.rejected) {
            // Coordinates and the error code only: the payload may hold personal data.
            log.error(
              { err: error, streamId: record.streamId, streamRevision: record.streamRevision.toString(), position: record.position.toString(), eventId: record.eventId, type: record.type },
              'relay: event failed parseEvent; sent to the dead-letter topic',
            );
          }
          await publishWithRetry(bus, routed.messages, { backoff, signal, log });
          const last = records[records.length - 1]!.position;
          if (checkpoint.loadOffsets) {
            // After the ack, each touched partition's end offset is at or past what this batch wrote there (the
            // relay is the topics' only publisher, so it is exactly that, or later offsets that also exist).
            const topics = [...new Set(routed.messages.map((m) => m.topic))];
            const ends = await Promise.all(topics.map((t) => bus.endOffsets(t)));
            topics.forEach((t, i) => (offsets = advanceOffsets(offsets, t, ends[i]!)));
            await checkpoint.save(last, offsets);
          } else {
            await checkpoint.save(last);
          }
          stats.checkpoint = last;
          stats.published += routed.published;
          stats.deadLettered += routed.rejected.length;
          stats.skipped += routed.skipped;
          failures = 0;
        },
      });
    } catch (err) {
      if (signal.aborted) break;
      failures++;
      stats.lastError = (err as Error).message;
      const delay = backoffDelay(backoff, failures, Math.random());
      // Resuming from the stored checkpoint is always safe: at worst it republishes an acknowledged batch.
      log.error({ err, retryInMs: delay }, 'relay: subscription failed; resuming from the checkpoint');
      await sleep(delay, signal);
    }
  }
}

export function newRelayStats(): RelayStats {
  return { checkpoint: undefined, published: 0, deadLettered: 0, skipped: 0, caughtUp: false, lastError: undefined };
}

async function publishWithRetry(
  bus: Bus,
  messages: Parameters<Bus['publish']>[0],
  { backoff, signal, log }: { backoff: BackoffPolicy; signal: AbortSignal; log: Logger },
): Promise<void> {
  if (messages.length === 0) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await bus.publish(messages);
      return;
    } catch (err) {
      if (signal.aborted) throw err;
      const delay = backoffDelay(backoff, attempt, Math.random());
      // The whole batch is sent again: partial acks become duplicates, which projectors absorb.
      log.warn({ err, attempt, retryInMs: delay, messages: messages.length }, 'relay: publish not acknowledged; retrying');
      await sleep(delay, signal);
      if (signal.aborted) throw err;
    }
  }
}
