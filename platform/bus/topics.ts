import { aggregates, parseStreamName, type AggregateName } from '../../schemas/events/streams.js';

/**
 * Topic and group names are part of the contract (SPEC: Kafka). One topic per aggregate keeps a topic's
 * schema family small and lets a read model subscribe to the aggregates it needs only; the key (stream id)
 * keeps the events of one entity on one partition, hence in order.
 */
export const eventsTopic = (aggregate: AggregateName): string => `annals.${aggregate}.events`;

export const allEventsTopics: readonly string[] = aggregates.map(eventsTopic);

/** Topic of the stream's aggregate, or undefined for a stream that is not an aggregate stream. */
export function topicOfStream(streamId: string): string | undefined {
  const parsed = parseStreamName(streamId);
  return parsed ? eventsTopic(parsed.aggregate) : undefined;
}

/** Dead letters of one consumer (`relay` or a projector name), kept for `annals dlq list|show|retry|skip`. */
export const deadLetterTopic = (consumer: string): string => `annals.dlq.${consumer}`;

/** One consumer group per read model, so each keeps its own progress and can be rebuilt alone. */
export const projectorGroup = (projection: string): string => `annals.projector.${projection}`;
