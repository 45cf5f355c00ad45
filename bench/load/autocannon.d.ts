// autocannon ships no types, and there is no @types package installed: this declares the part of its
// API that bench/load/drive.ts uses (see node_modules/autocannon/README.md).
declare module 'autocannon' {
  interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }
  interface AutocannonClient {
    /** Replaces the requests this connection cycles through. */
    setRequests(requests: AutocannonRequest[]): void;
  }
  interface AutocannonOptions extends AutocannonRequest {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Seconds to wait for a response before counting a timeout. */
    timeout?: number;
    pipelining?: number;
    /** Called once per connection, before its first request. */
    setupClient?: (client: AutocannonClient) => void;
  }
  /** The run: a promise of the result, and an emitter whose 'start' fires when the connections open. */
  interface AutocannonRun extends PromiseLike<Record<string, unknown>> {
    on(event: 'start', listener: () => void): this;
  }
  function autocannon(options: AutocannonOptions): AutocannonRun;
  export default autocannon;
}
