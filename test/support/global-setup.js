// jest loads globalSetup outside its module mapper, so the TypeScript setup is loaded
// through tsx, the same loader `npm start` uses.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { makeSnapshot } = await tsImport('./make-snapshot.ts', import.meta.url);
  await makeSnapshot();
}
