/**
 * GET /v1/policies/source (the console playground's starting point), found by a hostile probe: a
 * folder without its schema answered 500 with a stack in the log, and a 50 MB stray .cedar file was
 * read and serialised on the event loop (8-10 s a call, /healthz stalled). Now a folder that cannot
 * be read is a 503 in the API's envelope, and one past MAX_SOURCE_BYTES a 413, before it is read.
 */
import { readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SOURCE_BYTES } from '../../src/http/policy-check-api.ts';
import { liveServer, type LiveServer } from './live-server.ts';

describe('GET /v1/policies/source', () => {
  let s: LiveServer;
  let security: string;
  beforeAll(async () => {
    s = await liveServer();
    security = await s.token('sam', ['security']);
  });
  afterAll(() => s?.close());

  const source = async () => {
    const res = await s.get('/v1/policies/source', security);
    return { status: res.status, type: res.headers.get('x-amzn-errortype'), body: (await res.json()) as Record<string, unknown> & { message?: string } };
  };

  it('serves the folder as it is on disk, symbolic links followed, and an empty policy file as it is', async () => {
    writeFileSync(join(s.policyDir, '..', 'outside.cedar'), '// kept elsewhere\n');
    symlinkSync(join(s.policyDir, '..', 'outside.cedar'), join(s.policyDir, 'linked.cedar'));
    writeFileSync(join(s.policyDir, 'draft.cedar'), '');
    try {
      const { status, body } = await source();
      expect(status).toBe(200);
      expect(body.schema).toBe(readFileSync(join(s.policyDir, 'schema.cedarschema'), 'utf8'));
      expect(body.files).toEqual(expect.arrayContaining([{ file: 'linked.cedar', text: '// kept elsewhere\n' }, { file: 'draft.cedar', text: '' }]));
      expect(body.templates).toEqual([{ file: 'templates/delegation.cedar', text: expect.stringContaining('?resource') }]);
      expect((body.tests as Array<{ file: string }>).map((t) => t.file)).toContain('tests/dispose.json');
      expect(body.liveHash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(join(s.policyDir, 'linked.cedar'));
      rmSync(join(s.policyDir, 'draft.cedar'));
    }
  });

  it('answers 503 in the envelope, never 500, when the schema is missing, and names it', async () => {
    renameSync(join(s.policyDir, 'schema.cedarschema'), join(s.policyDir, 'schema.moved'));
    try {
      const { status, type, body } = await source();
      expect(status).toBe(503);
      expect(type).toBe('ServiceUnavailableException');
      expect(body.message).toMatch(/^the policy folder cannot be read now: schema\.cedarschema:1:1: error: missing schema\.cedarschema/);
    } finally {
      renameSync(join(s.policyDir, 'schema.moved'), join(s.policyDir, 'schema.cedarschema'));
    }
  });

  it('answers 503 naming a link to nothing, and a file that is not UTF-8', async () => {
    symlinkSync(join(s.policyDir, 'nowhere.cedar'), join(s.policyDir, 'dangling.cedar'));
    try {
      const { status, body } = await source();
      expect(status).toBe(503);
      expect(body.message).toContain('dangling.cedar:1:1: error: is a symbolic link to');
    } finally {
      rmSync(join(s.policyDir, 'dangling.cedar'));
    }
    writeFileSync(join(s.policyDir, 'tests', 'latin1.json'), Buffer.from('[{"name":"caf\xe9"}]', 'latin1'));
    try {
      const { status, body } = await source();
      expect(status).toBe(503);
      expect(body.message).toBe('the policy folder cannot be read now: tests/latin1.json:1:14: error: is not UTF-8 text: save it as UTF-8');
    } finally {
      rmSync(join(s.policyDir, 'tests', 'latin1.json'));
    }
  });

  it('refuses with 413, without reading it, a folder whose files exceed MAX_SOURCE_BYTES, and /healthz is not held up', async () => {
    writeFileSync(join(s.policyDir, 'stray.cedar'), Buffer.alloc(MAX_SOURCE_BYTES + 1, 0x20));
    try {
      const started = performance.now();
      const answer = source();
      const health = await s.get('/healthz');
      const { status, type, body } = await answer;
      expect(status).toBe(413);
      expect(type).toBe('ValidationException');
      expect(body.message).toMatch(/^the policy folder's files hold \d+ bytes, more than the 8388608 this endpoint serves \(the largest is stray\.cedar, 8388609 bytes\)/);
      expect(health.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      rmSync(join(s.policyDir, 'stray.cedar'));
    }
    expect((await source()).status).toBe(200);
  });
});
