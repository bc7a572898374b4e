// The write side opens its store through the platform's one opener (shared with relay and projections).
export { openEventStore } from '../platform/event-store/open.js';
