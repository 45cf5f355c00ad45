/** Signing in to a test gateway's console as a browser does (sign-in page, its nonce, the POST). */
import { expect } from 'vitest';
import type { TestGateway } from '../helpers/gateway.ts';

/** The CSRF token (or sign-in nonce) a console form carries. */
export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

/** A console session for `sub`: its token, the cookie to send, and the Set-Cookie it came with. */
export async function signedIn(gw: TestGateway, sub: string, groups: string[]): Promise<{ token: string; cookie: string; setCookie: string }> {
  const token = await gw.token(sub, groups);
  const page = await gw.app.request('/console/sign-in');
  const nonce = csrfOf(await page.text())!;
  const loginCookie = page.headers.get('set-cookie')!.split(';')[0]!;
  const res = await gw.app.request('/console/sign-in', { method: 'POST', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: nonce, token }).toString() });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get('set-cookie')!;
  return { token, cookie: setCookie.split(';')[0]!, setCookie };
}
