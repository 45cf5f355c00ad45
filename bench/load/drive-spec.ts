/**
 * What the orchestrator tells the load driver (bench/load/drive.ts) and what it reads back: the
 * driver is a process of its own, so this is its whole interface, as JSON.
 */

export interface DriveRequest {
  /** Path and query. */
  path: string;
  /** The JSON body, already serialised; none for a bodiless request. */
  body?: string;
}

export interface DriveSpec {
  /** The target's origin, such as http://127.0.0.1:41234. */
  url: string;
  connections: number;
  seconds: number;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /**
   * Connection i sends cycles[i % cycles.length]: its requests in order, over and over. This is how
   * each connection gets a package version of its own and alternates its target status.
   */
  cycles: DriveRequest[][];
}

/** The part of autocannon's result the benchmark reads (see node_modules/autocannon/README.md, Results). */
export interface DriveResult {
  /** Seconds the load ran. */
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Responses by status code. */
  statusCodeStats: Record<string, { count: number }>;
  /** Milliseconds. */
  latency: { p50: number; p99: number; average: number; max: number };
  /** Responses per second (sampled each second); `total` is every response. */
  requests: { average: number; total: number; sent: number };
}
