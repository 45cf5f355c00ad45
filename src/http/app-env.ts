import type { Principal } from '../auth/principal.ts';
import type { Deadline } from '../deadline.ts';
import type { CallerOf } from './authenticate.ts';

/** Per-request variables, typed once. Handlers fill what the canonical log line reports. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Operations check it immediately before committing a change. */
    deadline: Deadline;
    /** Set by the authentication middleware on every /v1 route: the request's Caller, or its 401. */
    caller: CallerOf;
    principal?: Principal;
    action?: string;
    resource?: string;
    decision?: string;
  };
}
