/**
 * The versions page's action flow, over app.request(): the revision a person saw goes with the action
 * (a stale page never overwrites another person's change), a row's button with boxes ticked is refused
 * rather than guessed, the bulk form's default is "choose an action", the answer is a GET page that a
 * reload shows again without sending it again, one version's own page, and a session that ended.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { fixedClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { signedIn as signInAs } from './console-session.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { sqlOnGateway } from '../helpers/raw-sql.ts';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

const unescape = (s: string) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'");
const WHERE = { domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', pkg: 'npm//chalk' };
const LIST = `/console/versions?${new URLSearchParams(WHERE)}`;

const signedIn = (sub: string, groups: string[]) => signInAs(gw, sub, groups);

/** A page as the browser gets it. */
const get = async (cookie: string, path: string, headers: Record<string, string> = {}) => {
  const res = await gw.app.request(path, { headers: { cookie, ...headers } });
  return { res, html: await res.text() };
};
/** The confirmation form's fields, sent as the browser sends them. */
function formFields(html: string): URLSearchParams {
  const form = /<form method="post" action="\/console\/versions\/apply"[^>]*>([\s\S]*?)<\/form>/.exec(html)![1]!;
  const fields = new URLSearchParams();
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields.append(m[1]!, unescape(m[2]!));
  const ids = /<textarea id="identifiers" name="identifiers"[^>]*>([^<]*)<\/textarea>/.exec(form);
  if (ids) fields.set('identifiers', ids[1]!);
  return fields;
}
const post = (cookie: string, path: string, fields: URLSearchParams) =>
  gw.app.request(path, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
/** What a list page's checkbox (`seen`) or a row's button (`row`) sends for a version. */
const seenOf = (html: string, version: string) => unescape(new RegExp(`<input type="checkbox" name="seen" value="([^"]* ${version.replaceAll('.', '\\.')})"`).exec(html)![1]!);
const rowOf = (html: string, action: string, version: string) => unescape(new RegExp(`name="row" value="(${action} [^"]* ${version.replaceAll('.', '\\.')})"`).exec(html)![1]!);
const statusOf = async (version: string, token: string) =>
  ((await (await gw.app.request(`/v1/package/version?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk&version=${version}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { packageVersion: { status: string } }).packageVersion.status;
const records = (action: string) => gw.store.listAudit({ filter: { action }, limit: 20 });

describe('versions: acting on what was seen', () => {
  it("refuses an action from a page loaded before someone else's change (MISMATCHED_REVISION), and says the version changed since", async () => {
    gw = await testGateway();
    const alice = await signedIn('alice', ['release-managers']);
    const bob = await signedIn('bob', ['release-managers']);
    // Alice loads the list; Bob then archives 4.1.0 from his own page.
    const alicesList = (await get(alice.cookie, LIST)).html;
    const bobsList = (await get(bob.cookie, LIST)).html;
    const bobs = await get(bob.cookie, `/console/versions/confirm?${new URLSearchParams({ ...WHERE, row: rowOf(bobsList, 'Archive', '4.1.0') })}`);
    expect((await post(bob.cookie, '/console/versions/apply', formFields(bobs.html))).status).toBe(303);
    expect(await statusOf('4.1.0', alice.token)).toBe('Archived');

    // Alice, from her stale page, unlists 4.1.0 and 4.0.0: the confirmation shows 4.1.0 as it is now.
    const confirm = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['action', 'Unlist'], ['seen', seenOf(alicesList, '4.1.0')], ['seen', seenOf(alicesList, '4.0.0')]])}`);
    expect(confirm.res.status).toBe(200);
    expect(confirm.html).toMatch(/<th scope="row">4\.1\.0<\/th><td data-testid="current-status">Archived<\/td>/);
    expect(confirm.html).toContain('4.1.0 changed since the page was loaded');
    const applied = await post(alice.cookie, '/console/versions/apply', formFields(confirm.html));
    expect(applied.status).toBe(303);
    const result = await get(alice.cookie, applied.headers.get('location')!);
    expect(result.html).toContain('Nothing was changed');
    expect(result.html).toMatch(/<th scope="row">4\.1\.0<\/th><td>MISMATCHED_REVISION<\/td><td>changed since the page was loaded/);
    // Bob's change stands, and 4.0.0 (all or nothing) is untouched.
    expect(await statusOf('4.1.0', alice.token)).toBe('Archived');
    expect(await statusOf('4.0.0', alice.token)).toBe('Published');
    expect((await records('UpdatePackageVersionsStatus')).map((r) => [r.principal?.subject, r.outcome])).toEqual(expect.arrayContaining([['bob', 'applied']]));
    expect((await records('UpdatePackageVersionsStatus')).filter((r) => r.principal?.subject === 'alice' && r.outcome === 'applied')).toEqual([]);
  });

  it('asks Cedar in advance, in one request and one audit record, only about actions that can apply to each version', async () => {
    gw = await testGateway();
    const sam = await signedIn('sam', ['security', 'release-managers']);
    const seqBefore = (await gw.store.listAudit({ limit: 1 }))[0]!.seq;
    await get(sam.cookie, LIST);
    const asked = (await gw.store.listAudit({ filter: { action: 'SimulateAuthorization' }, limit: 100 })).filter((r) => r.seq > seqBefore);
    expect(asked).toHaveLength(1);
    // Three versions, six actions each, less the status each already has (Publish, Unlist or Archive).
    expect(asked[0]!.request).toMatchObject({ simulation: { principal: 'sam', questions: 3 * 6 - 3 } });
  });

  it("refuses a delete of a version changed since the page was loaded in a way that keeps its status (a resync completing), even just before the delete", async () => {
    // The version gets a new revision and keeps its status just as the delete reads the package: after
    // anything the console could compare itself. Its revision goes with the delete, which the API
    // checks in the delete's own transaction.
    let armed = false;
    gw = await testGateway({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver) as unknown;
            if (prop !== 'readPackage' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
            return async (...args: unknown[]) => {
              if (armed) {
                armed = false;
                await sqlOnGateway(gw, [`UPDATE package_versions SET revision = 'resynced-meanwhile' WHERE version = '4.0.0' AND package_id = (SELECT id FROM packages WHERE name = 'chalk' AND repository_id = (SELECT id FROM repositories WHERE name = 'my_repo'))`]);
              }
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    });
    const sam = await signedIn('sam', ['security', 'release-managers']);
    const list = (await get(sam.cookie, LIST)).html;
    const confirm = await get(sam.cookie, `/console/versions/confirm?${new URLSearchParams({ ...WHERE, row: rowOf(list, 'Delete', '4.0.0') })}`);
    armed = true;
    const before = (await gw.store.auditHead())!.seq;
    const applied = await post(sam.cookie, '/console/versions/apply', formFields(confirm.html));
    // One request: the delete, with the revision, refused; the console reads nothing before it.
    const written = await gw.store.readAuditRange(before, 100);
    expect(written.map((r) => [r.action, r.outcome])).toEqual([['DeletePackageVersions', 'rejected']]);
    expect(written[0]!.request).toMatchObject({ versions: ['4.0.0'], versionRevisions: { '4.0.0': expect.any(String) } });
    const result = await get(sam.cookie, applied.headers.get('location')!);
    expect(result.html).toMatch(/<th scope="row">4\.0\.0<\/th><td>MISMATCHED_REVISION<\/td><td>changed since the page was loaded \(current revision: resynced-meanwhile, expected revision: /);
    expect(await statusOf('4.0.0', sam.token)).toBe('Published');
  });

  it('refuses a delete and a dispose from a stale page too, and leaves the version as the other person left it', async () => {
    gw = await testGateway();
    const sam = await signedIn('sam', ['security', 'release-managers']);
    const stale = (await get(sam.cookie, LIST)).html;
    const fresh = await get(sam.cookie, `/console/versions/confirm?${new URLSearchParams({ ...WHERE, row: rowOf(stale, 'Unlist', '4.0.0') })}`);
    expect((await post(sam.cookie, '/console/versions/apply', formFields(fresh.html))).status).toBe(303);
    for (const action of ['Delete', 'Dispose']) {
      const confirm = await get(sam.cookie, `/console/versions/confirm?${new URLSearchParams({ ...WHERE, row: rowOf(stale, action, '4.0.0') })}`);
      const applied = await post(sam.cookie, '/console/versions/apply', formFields(confirm.html));
      const result = await get(sam.cookie, applied.headers.get('location')!);
      expect(result.html).toMatch(/<th scope="row">4\.0\.0<\/th><td>MISMATCHED_REVISION<\/td><td>changed since the page was loaded/);
      expect(await statusOf('4.0.0', sam.token)).toBe('Unlisted');
    }
  });
});

describe('versions: bulk operation mode and the bulk form', () => {
  it("refuses a row's button sent with boxes ticked (400, nothing done), and asks for an action when the bulk form is sent without one", async () => {
    gw = await testGateway();
    const alice = await signedIn('alice', ['release-managers']);
    const list = (await get(alice.cookie, LIST)).html;
    // The boxes and the toolbar for them come before the table; the form's first button is no action.
    expect(list.indexOf('Resync selected')).toBeLessThan(list.indexOf('<table class="versions"'));
    expect(/<form id="bulk"[^>]*>[\s\S]*?<button([^>]*)>/.exec(list)![1]).not.toMatch(/name="(row|action)"/);

    const mixed = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['seen', seenOf(list, '4.0.0')], ['row', rowOf(list, 'Publish', '4.1.1')]])}`);
    expect(mixed.res.status).toBe(400);
    expect(unescape(mixed.html)).toContain("You selected versions with the boxes and also clicked one version's own button, so nothing was done");
    expect(mixed.html).not.toContain('action="/console/versions/apply"');

    // Enter in a checkbox: the form goes with the ticked boxes and no action.
    const chooser = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['seen', seenOf(list, '4.0.0')]])}`);
    expect(chooser.res.status).toBe(200);
    expect(chooser.html).toContain('1 version(s) of chalk selected: 4.0.0. What should be done with them?');
    expect(chooser.html).not.toContain('4.1.1');
    expect(chooser.html).not.toContain('action="/console/versions/apply"');
  });
});

describe('versions without scripts: only what the selection can take is offered', () => {
  /** The buttons for a selection in `html`, each with whether it is off and its reason. */
  const selectionButtons = (html: string) =>
    Object.fromEntries(
      [...html.matchAll(/<button type="submit" name="action" value="([A-Za-z]+)"([^>]*)>/g)].map((m) => {
        const why = /aria-describedby="([^"]+)"/.exec(m[2]!)?.[1];
        return [m[1]!, { disabled: / disabled/.test(m[2]!), why: why ? unescape(new RegExp(`id="${why}" class="reason">([^<]*)<`).exec(html)![1]!.trim()) : undefined }];
      }),
    );

  it("turns a bulk button off, with why, when no version on the page can take it (the page cannot know the ticks)", async () => {
    gw = await testGateway();
    const alice = await signedIn('alice', ['release-managers']);
    const { html } = await get(alice.cookie, LIST);
    // Release managers unlist, archive and resync in my_repo; they neither dispose nor delete (but
    // unfinished uploads), and every chalk version is Published already.
    expect(selectionButtons(html)).toEqual({
      Publish: { disabled: true, why: '⊘ no version on this page can: already Published' },
      Unlist: { disabled: false, why: undefined },
      Archive: { disabled: false, why: undefined },
      Dispose: { disabled: true, why: '⊘ no version on this page can: not allowed: no policy permits it' },
      Delete: { disabled: true, why: '⊘ no version on this page can: not allowed: no policy permits it' },
      Resync: { disabled: false, why: undefined },
    });
  });

  it('the "choose an action" page offers only what the selected versions can take, and an action none can take is not confirmed', async () => {
    gw = await testGateway();
    const alice = await signedIn('alice', ['release-managers']);
    expect((await gw.post(`/v1/package/versions/update_status?${new URLSearchParams({ domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' })}`, { versions: ['4.0.0'], targetStatus: 'Archived' }, alice.token)).status).toBe(200);
    const list = (await get(alice.cookie, LIST)).html;
    // 4.1.0 is Published, 4.0.0 Archived.
    const chooser = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['seen', seenOf(list, '4.1.0')], ['seen', seenOf(list, '4.0.0')]])}`);
    expect(chooser.res.status).toBe(200);
    expect(chooser.html).toContain('What should be done with them?');
    const offered = selectionButtons(chooser.html);
    // Each of Publish and Archive suits one of them; release managers may not dispose.
    expect(offered.Publish).toEqual({ disabled: false, why: undefined });
    expect(offered.Archive).toEqual({ disabled: false, why: undefined });
    expect(offered.Dispose).toEqual({ disabled: true, why: '⊘ none of them can: not allowed: no policy permits it' });

    // Dispose sent anyway (a stale or hand-made link): asked again which, with why, and no confirmation form.
    const dispose = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['action', 'Dispose'], ['seen', seenOf(list, '4.1.0')]])}`);
    expect(dispose.res.status).toBe(200);
    expect(unescape(dispose.html)).toContain('None of the selected versions can take Dispose, so nothing was done: 4.1.0: not allowed: no policy permits it.');
    expect(dispose.html).not.toContain('action="/console/versions/apply"');
    // One a version's state rules out, the same.
    const publish = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['action', 'Publish'], ['seen', seenOf(list, '4.1.0')]])}`);
    expect(publish.html).toContain('None of the selected versions can take Publish, so nothing was done: 4.1.0: already Published.');
    expect(publish.html).not.toContain('action="/console/versions/apply"');
    // An action one of them can take is confirmed (the API decides the rest, all or nothing).
    const archive = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams([...Object.entries(WHERE), ['action', 'Archive'], ['seen', seenOf(list, '4.1.0')], ['seen', seenOf(list, '4.0.0')]])}`);
    expect(archive.html).toContain('action="/console/versions/apply"');
  });
});

describe('versions: results are GET pages', () => {
  it("turns off, with the reason, what cannot apply to a version as it stands: Publish on a Published one, all but Delete on a Disposed one", async () => {
    gw = await testGateway();
    const sam = await signedIn('sam', ['security', 'release-managers', 'maintainers']);
    expect((await gw.post(`/v1/package/versions/dispose?${new URLSearchParams({ domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' })}`, { versions: ['4.0.0'] }, sam.token)).status).toBe(200);
    const { html } = await get(sam.cookie, LIST);
    const button = (action: string, version: string) => {
      const m = new RegExp(`<button[^>]*aria-label="${action} ${version.replaceAll('.', '\\.')}"[^>]*>`).exec(html)![0];
      const why = /aria-describedby="([^"]+)"/.exec(m)?.[1];
      return { disabled: / disabled/.test(m), why: why ? unescape(new RegExp(`id="${why}" class="reason">([^<]*)<`).exec(html)![1]!.trim()) : undefined };
    };
    const published = (await statusOf('4.1.1', sam.token)) === 'Published' ? '4.1.1' : '4.1.0';
    expect(button('Publish', published)).toEqual({ disabled: true, why: '⊘ already Published' });
    expect(button('Unlist', published)).toEqual({ disabled: false, why: undefined });
    for (const action of ['Publish', 'Unlist', 'Archive']) expect(button(action, '4.0.0')).toEqual({ disabled: true, why: "⊘ a disposed version's assets are gone: it can only be deleted" });
    expect(button('Dispose', '4.0.0')).toEqual({ disabled: true, why: '⊘ already Disposed' });
    expect(button('Resync', '4.0.0')).toEqual({ disabled: true, why: '⊘ a disposed version has no assets to resync' });
    expect(button('Delete', '4.0.0')).toEqual({ disabled: false, why: undefined });
  });

  it('answers an action with a redirect to its result, which a reload shows again without acting again', async () => {
    gw = await testGateway();
    const alice = await signedIn('alice', ['release-managers']);
    const list = (await get(alice.cookie, LIST)).html;
    const confirm = await get(alice.cookie, `/console/versions/confirm?${new URLSearchParams({ ...WHERE, row: rowOf(list, 'Archive', '4.1.0') })}`);
    expect(confirm.html).toMatch(/<td data-testid="current-status">Published<\/td>/);
    const applied = await post(alice.cookie, '/console/versions/apply', formFields(confirm.html));
    expect(applied.status).toBe(303);
    const location = applied.headers.get('location')!;
    for (let i = 0; i < 3; i++) {
      const shown = await get(alice.cookie, location);
      expect(shown.res.status).toBe(200);
      expect(shown.html).toContain('1 version(s) now Archived');
    }
    expect((await records('UpdatePackageVersionsStatus')).filter((r) => r.outcome === 'applied')).toHaveLength(1);
    // The link is good for this session only: another person's session does not show it.
    const bob = await signedIn('bob', ['release-managers']);
    const foreign = await get(bob.cookie, location);
    expect(foreign.res.status).toBe(400);
    expect(foreign.html).toContain('This result link was not made for your session');
  });

  it('says a resync of one version "has been scheduled for resynchronization", from its own page and its Resync button', async () => {
    gw = await testGateway();
    const mia = await signedIn('mia', ['maintainers']);
    const list = (await get(mia.cookie, LIST)).html;
    const detailHref = unescape(/<a href="(\/console\/versions\/detail\?[^"]+)">4\.1\.1<\/a>/.exec(list)![1]!);
    const detail = await get(mia.cookie, detailHref);
    expect(detail.res.status).toBe(200);
    expect(detail.html).toMatch(/<th scope="row">Status<\/th><td data-testid="status">Published<\/td>/);
    expect(detail.html).toContain('<th scope="row">Sync</th>');
    expect(detail.html).toContain('<h2>Assets</h2>');
    expect(detail.html).toMatch(/<th scope="row">chalk-4\.1\.1\.tgz<\/th>/);
    const confirm = await get(mia.cookie, `/console/versions/confirm?${new URLSearchParams({ ...WHERE, row: rowOf(detail.html, 'Resync', '4.1.1') })}`);
    expect(confirm.html).toContain('<button type="submit">Resync</button>');
    const applied = await post(mia.cookie, '/console/versions/apply', formFields(confirm.html));
    const result = await get(mia.cookie, applied.headers.get('location')!);
    expect(result.html).toContain('Version 4.1.1 has been scheduled for resynchronization.');
  });
});

describe('versions: a session that ended', () => {
  it('explains an ended session to a form, a poll and a page, and does nothing', async () => {
    gw = await testGateway();
    // No cookie at all (signed out, or gone): a form says nothing was done and links to sign-in.
    const fields = new URLSearchParams({ ...WHERE, action: 'Archive', versions: '4.1.0', csrf: 'x' });
    const noSession = await gw.app.request('/console/versions/apply', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
    expect(noSession.status).toBe(401);
    const said = unescape(await noSession.text());
    expect(said).toContain('Your session has ended');
    expect(said).toContain('so nothing was done');
    expect(said).toContain('<a href="/console/sign-in">Sign in again</a>');
    // An htmx poll: the whole page goes to the sign-in page, with the reason, not into the old page.
    const poll = await gw.app.request('/console/overview/metrics', { headers: { 'hx-request': 'true' } });
    expect(poll.status).toBe(200);
    expect(poll.headers.get('hx-redirect')).toBe('/console/sign-in?error=ended');
    expect(await (await gw.app.request('/console/sign-in?error=ended')).text()).toContain('Your session has ended');

    // A cookie still holding the token after it expired (the cookie outlives it): the form is refused
    // by the gateway, and the page says it expired and nothing was done.
    const expired = await mintDevToken({ key: gw.devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'alice', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 60, clock: fixedClock(new Date(Date.now() - 600_000)) });
    const cookie = `vg_console=${expired}`;
    const confirm = await gw.app.request(`/console/versions/confirm?${new URLSearchParams({ ...WHERE, action: 'Archive', versions: '4.1.0' })}`, { headers: { cookie } });
    expect(confirm.headers.get('location')).toBe('/console/sign-in?error=expired');
    // The form's CSRF token, as the page rendered before expiry carried it (derived from the token).
    const expiredCsrf = createHmac('sha256', 'versiongate console CSRF v1').update(expired).digest('base64url');
    const late = await post(cookie, '/console/versions/apply', new URLSearchParams({ ...WHERE, action: 'Archive', versions: '4.1.0', csrf: expiredCsrf }));
    expect(late.status).toBe(401);
    const lateText = unescape(await late.text());
    expect(lateText).toContain("Your session has ended (your session's token has expired), so nothing was done.");
    expect(lateText).toContain('<a href="/console/sign-in?error=expired">Sign in again</a>');
    expect((await records('UpdatePackageVersionsStatus')).filter((r) => r.outcome === 'applied')).toEqual([]);
  });
});
