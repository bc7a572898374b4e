export * from './commands.js';
export * from './decide.js';
export * from './state.js';
