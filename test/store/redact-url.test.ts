/** A database URL in a message never carries its secrets, wherever pg would read them from. */
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/store/postgres/postgres-store.ts';

describe('redactUrl', () => {
  it('masks the password in the userinfo and in the query parameters pg reads secrets from', () => {
    const shown = redactUrl('postgres://vg:UserInfoPw@db.example:5432/vg?password=QueryPw&sslpassword=KeyPw&SSLKEY=/secret/key.pem&application_name=gateway');
    expect(shown).not.toMatch(/UserInfoPw|QueryPw|KeyPw|secret\/key/);
    expect(shown).toBe('postgres://vg:***@db.example:5432/vg?password=***&sslpassword=***&SSLKEY=***&application_name=gateway');
    expect(redactUrl('not a url')).toBe('the configured database URL');
  });
});
