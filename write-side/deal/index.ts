export * from './commands.js';
export * from './decide.js';
export * from './pipelines.js';
export * from './state.js';
