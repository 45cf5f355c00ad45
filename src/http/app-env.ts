import type { Principal } from '../auth/principal.ts';
import type { Deadline } from '../deadline.ts';

/** Per-request variables, typed once. Handlers fill what the canonical log line reports. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Operations check it immediately before committing a change. */
    deadline: Deadline;
    principal?: Principal;
    action?: string;
    resource?: string;
    decision?: string;
  };
}
