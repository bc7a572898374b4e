export * from './errors.js';
export * from './permissions.js';
export * from './sign.js';
export * from './verify.js';
