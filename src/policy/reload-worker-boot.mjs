// Entry of the reload worker thread (reload-worker.ts). A worker thread does not get the loader
// hooks of its parent: bin/versiongate.js registers tsx with its API, `node --import tsx` is not
// applied to workers on Node 20, and vitest transforms modules itself. So register tsx here, as the
// launcher does, before loading TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./reload-worker.ts');
