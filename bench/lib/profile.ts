import { writeFile } from 'node:fs/promises';

/** A CPU profile of this process from now until `stop()` (node:inspector), written to `file`; none without a file. */
export async function startProfile(file: string | undefined): Promise<{ stop(): Promise<void> } | undefined> {
  if (!file) return undefined;
  const { Session } = await import('node:inspector');
  const session = new Session();
  const post = (method: string): Promise<unknown> => new Promise((ok, ko) => session.post(method, (e, r) => (e ? ko(e) : ok(r))));
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
