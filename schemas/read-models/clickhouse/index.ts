export * from './events.js';
export * from './sql.js';
export * from './aggregates.js';
export * from './state.js';
export * from './deal-intervals.js';
