// Entry of the manifest worker thread (manifest-worker.ts). A worker thread does not get the loader
// hooks of its parent (see src/policy/reload-worker-boot.mjs), so register tsx before loading TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./manifest-worker.ts');
