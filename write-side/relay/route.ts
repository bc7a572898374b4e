import { encodeEvent, deadLetter, type OutgoingMessage } from '../../platform/bus/message.js';
import { deadLetterTopic, eventsTopic } from '../../platform/bus/topics.js';
import type { StoredRecord } from '../../platform/event-store/port.js';
import { checkSealedRecord } from '../../platform/event-store/read-events.js';
import { parseStreamName } from '../../schemas/events/streams.js';

export const RELAY = 'relay';

export interface RoutedBatch {
  /** In store order: events to their aggregate topic, rejected ones to `annals.dlq.relay`. */
  readonly messages: OutgoingMessage[];
  readonly published: number;
  readonly rejected: ReadonlyArray<{ readonly record: StoredRecord; readonly error: unknown }>;
  /** Records of streams that are not aggregate streams. */
  readonly skipped: number;
}

/**
 * Pure routing of one batch (no I/O), so its rules are unit-tested directly:
 * - a stream that is not `<aggregate>-<id>` (parseStreamName undefined) is not published, by design:
 *   such streams (process-manager bookkeeping, EventStoreDB system streams `$…`) are no aggregate's
 *   history and no read model consumes them;
 * - every other event is checked first (`checkSealedRecord`: envelope, JSON and every non-personal field;
 *   personal ciphertexts are neither decrypted nor validated: the relay holds no key), so nothing invalid reaches a topic; one that
 *   fails (unknown type, unsupported version, corrupt bytes) goes to the relay's dead-letter topic with
 *   the error and its coordinates, and the batch goes on (never silently dropped, never blocking);
 * - the message forwards the stored bytes, not the re-serialized parse result: consumers parse again
 *   (and upcast with their own code version), and the hash chain still matches the bytes they see.
 */
export function routeBatch(records: readonly StoredRecord[], now: Date): RoutedBatch {
  const messages: OutgoingMessage[] = [];
  const rejected: Array<{ record: StoredRecord; error: unknown }> = [];
  let published = 0;
  let skipped = 0;
  for (const record of records) {
    const stream = parseStreamName(record.streamId);
    if (!stream) {
      skipped++;
      continue;
    }
    const message = encodeEvent(record);
    try {
      checkSealedRecord(record);
    } catch (error) {
      rejected.push({ record, error });
      messages.push(deadLetter(message, deadLetterTopic(RELAY), { consumer: RELAY, error, attempts: 1, at: now }));
      continue;
    }
    messages.push({ topic: eventsTopic(stream.aggregate), ...message });
    published++;
  }
  return { messages, published, rejected, skipped };
}
