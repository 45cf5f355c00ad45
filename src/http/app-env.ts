import type { Principal } from '../auth/principal.ts';

/** Per-request variables, typed once. Handlers fill what the canonical log line reports. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal?: Principal;
    action?: string;
    resource?: string;
    decision?: string;
  };
}
