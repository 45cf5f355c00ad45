/**
 * The console's calls into the API are real requests run in this process: a page that starts
 * hundreds of them at once (a versions page of 100 versions: 300 reads, then 600 permission checks)
 * must leave the gateway's other clients their turns between them.
 */
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { apiClient, CALLS_AT_ONCE } from '../../src/console/api-client.ts';

const page = { get: () => 'page-1', env: undefined } as unknown as Context;

describe("the console's API client", () => {
  it(`has at most ${CALLS_AT_ONCE} calls of a page in flight, and lets the event loop turn between them`, async () => {
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    const api = apiClient(
      async (request) => {
        inFlight++;
        most = Math.max(most, inFlight);
        events.push('call');
        // A call's own wait (an audited read waits for its record's commit).
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        return Response.json({ path: new URL(request.url).pathname });
      },
      page,
      'token',
    );
    // Another client's requests, as the event loop would take them up.
    let ticking = true;
    const tick = () => {
      events.push('tick');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => api.get(`/v1/thing/${i}`)));
    ticking = false;
    expect(answers.map((a) => a.body.path)).toEqual(Array.from({ length: 60 }, (_, i) => `/v1/thing/${i}`));
    expect(most).toBeLessThanOrEqual(CALLS_AT_ONCE);
    // Between two turns of the other client, no more calls start than the page may have in flight.
    const runs = events.join(' ').split('tick').map((between) => between.split('call').length - 1);
    expect(Math.max(...runs)).toBeLessThanOrEqual(CALLS_AT_ONCE);
    expect(runs.filter((r) => r > 0).length).toBeGreaterThan(60 / CALLS_AT_ONCE - 1);
  });

  it('gives each call its request id (derived from the page) and the bearer token, and frees its slot when a call fails', async () => {
    const seen: Array<[string | null, string | null]> = [];
    let fail = true;
    const api = apiClient(
      (request) => {
        seen.push([request.headers.get('x-request-id'), request.headers.get('authorization')]);
        if (fail) throw new Error('the handler failed');
        return Response.json({});
      },
      page,
      'tok',
    );
    const failures = await Promise.allSettled(Array.from({ length: CALLS_AT_ONCE * 2 }, () => api.get('/v1/x')));
    expect(failures.every((f) => f.status === 'rejected')).toBe(true);
    fail = false;
    // Had a failed call kept its slot, this would wait for ever.
    await expect(api.get('/v1/x')).resolves.toMatchObject({ status: 200 });
    expect(seen[0]).toEqual(['page-1.1', 'Bearer tok']);
    expect(seen.at(-1)).toEqual([`page-1.${CALLS_AT_ONCE * 2 + 1}`, 'Bearer tok']);
  });
});
