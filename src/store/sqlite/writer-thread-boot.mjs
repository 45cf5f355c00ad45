// Entry of the SQLite writer thread (writer-thread.ts). A worker thread does not get the loader
// hooks of its parent (see src/policy/reload-worker-boot.mjs), so register tsx before loading TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./writer-thread.ts');
