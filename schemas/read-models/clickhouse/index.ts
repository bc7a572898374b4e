export * from './events.js';
export * from './sql.js';
export * from './aggregates.js';
