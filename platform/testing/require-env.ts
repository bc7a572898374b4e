// Integration tests read server addresses from the environment (`annals stack env`). A missing
// variable must FAIL the test, never skip it: a silently skipped suite looks green in CI while
// testing nothing.

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(
      `${name} is not set. This test needs the real servers: run \`npx annals stack up\` and then ` +
        `\`eval "$(npx annals stack env)"\` in the same shell before running the tests.`,
    );
  }
  return value;
}
