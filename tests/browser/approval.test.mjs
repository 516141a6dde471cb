// The approval pages (GET /a/{token} shows, POST decides) driven in headless
// Chromium against `mirrorgate serve`, one fresh control plane per test.
//
// Run with scripts/browser-test, or: MIRRORGATE_BIN=target/debug/mirrorgate node --test
// (in tests/browser).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { clock, openBrowser, openRequest, screenshot, submit } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };
const MIRROR = 'HSPROD';
const CANDIDATE = 'HSPROD-DR1';
const APPROVER = 'Dana Whitfield';

/** An open request and a browser, both closed when the test ends. */
async function setup(t, browserOptions) {
  const gate = await openRequest();
  t.after(() => gate.close());
  const browser = await openBrowser(browserOptions);
  t.after(() => browser.close());
  return { gate, page: browser.page, context: browser.context };
}

async function assertStillOpen(gate) {
  const s = await gate.status();
  assert.equal(s.phase, 'promotion_pending', 'the mirror is still waiting for a decision');
  assert.equal(s.requests.length, 1);
  assert.equal(s.requests[0].status, 'open', 'the request is still open');
  assert.deepEqual(s.requests[0].approvers, []);
  assert.equal(gate.promotions().length, 0, 'nothing was promoted');
}

async function heading(page) {
  return (await page.locator('h1').innerText()).trim();
}

test('opening the link twice (as a mail scanner would) shows the request and decides nothing', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, { viewport: { width: 1280, height: 900 } });

  // A mail scanner or link previewer: a plain GET.
  const scanned = await fetch(gate.link, { headers: { 'user-agent': 'LinkPreview/1.0' } });
  assert.equal(scanned.status, 200);
  const scannedHtml = await scanned.text();
  assert.match(scannedHtml, /Promote HSPROD-DR1 to primary of HSPROD\?/);

  // The person: the same link in the browser.
  const response = await page.goto(gate.link);
  assert.equal(response.status(), 200);
  assert.equal(await heading(page), `Promote ${CANDIDATE} to primary of ${MIRROR}?`);
  const facts = await page.locator('dl').innerText();
  assert.match(facts, /Would become primary\s+HSPROD-DR1 \(dr async, us-west-2a, i-0ddddddddddddddd4\)/);
  assert.match(facts, /What failed\s+HSPROD-A: no member answers as primary since/);

  // How much data may be lost: the candidate's journal latency and when it was measured.
  const loss = await page.locator('#data-loss').innerText();
  assert.match(loss, /Data that may be lost/);
  assert.match(loss, /About 1.8 s of the most recent transactions may be lost/);
  // DR1 measured it at its last report while still connected, 3 min 40 s before the request.
  const measured = new Date(gate.raisedAt - 220_000).toISOString().slice(11, 19);
  assert.ok(
    loss.includes(`HSPROD-DR1's journal latency was 1.8 s (324000 bytes of journal), measured at ${measured} UTC (`)
      && loss.includes('ago) while it was connected to the primary'),
    `the journal latency and its time are shown: ${loss}`,
  );

  // When the link expires: 30 minutes after the request was raised.
  const body = await page.locator('main').innerText();
  const expires = clock(gate.raisedAt + 30 * 60_000);
  assert.ok(body.includes(`This link works once and expires at ${expires}`), `the expiry is shown: ${body}`);
  assert.ok(body.includes('Opening this page decides nothing.'));
  await assert.doesNotReject(page.getByRole('button', { name: 'Approve promotion' }).waitFor());
  await assert.doesNotReject(page.getByRole('button', { name: 'Reject' }).waitFor());

  await screenshot(page, 'approval-page.png');

  await assertStillOpen(gate);
  // And the link still works afterwards.
  assert.equal((await fetch(gate.link)).status, 200);
});

test('a confirmation that does not match the mirror name is refused and decides nothing', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);

  const code = await submit(page, { approver: APPROVER, confirm: 'HSPRD', button: 'Approve promotion' });
  assert.equal(code, 422);
  const error = page.locator('#error');
  await error.waitFor();
  assert.match(await error.innerText(), /The confirmation does not match: type HSPROD exactly\. Nothing was decided\./);
  // The form is shown again, filled in, so that only the mistake needs fixing.
  assert.equal(await page.locator('#approver').inputValue(), APPROVER);
  assert.equal(await page.locator('#confirm').inputValue(), 'HSPRD');

  await assertStillOpen(gate);
});

test('approving with the mirror name typed promotes the candidate exactly once', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);

  const code = await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve promotion' });
  assert.equal(code, 200);
  await page.locator('h1', { hasText: 'Promotion approved' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, /Promoting HSPROD-DR1 to primary of HSPROD/);
  assert.match(body, new RegExp(`Approved by ${APPROVER} at \\d\\d:\\d\\d UTC\\.`));
  await screenshot(page, 'approved.png');

  const s = await gate.status();
  assert.ok(['promoting', 'dr_active'].includes(s.phase), `phase is promoting or later, not ${s.phase}`);
  assert.equal(s.requests.length, 1);
  assert.equal(s.requests[0].status, 'approved');
  assert.deepEqual(s.requests[0].approvers, [APPROVER]);
  const done = gate.promotions();
  assert.equal(done.length, 1, 'exactly one promotion was carried out');
  assert.match(JSON.stringify(done[0]), /HSPROD-DR1/);
});

test('a used link shows the already-used page (410) and changes nothing', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);
  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve promotion' }), 200);
  await page.locator('h1', { hasText: 'Promotion approved' }).waitFor();

  const snapshot = async () => {
    const s = await gate.status();
    return { phase: s.phase, epoch: s.epoch, requests: s.requests, promotions: gate.promotions().length };
  };
  const before = await snapshot();

  // Back to the link, as from the alert again.
  const response = await page.goto(gate.link);
  assert.equal(response.status(), 410);
  assert.equal(await heading(page), 'This link was already used');
  const body = await page.locator('main').innerText();
  assert.match(body, /This link decided at \d\d:\d\d UTC\. Each link decides once\./);
  assert.match(body, new RegExp(`Last decision: approved by ${APPROVER} at`));
  assert.equal(await page.getByRole('button').count(), 0, 'no buttons: nothing can be decided here');
  await screenshot(page, 'link-used.png');

  // Posting the form again (a second click, a resent request) is refused too.
  const again = await fetch(gate.link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ approver: 'Someone Else', confirm: MIRROR, decision: 'approve' }),
  });
  assert.equal(again.status, 410);
  const rejectAgain = await fetch(gate.link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ approver: 'Someone Else', confirm: MIRROR, decision: 'reject' }),
  });
  assert.equal(rejectAgain.status, 410);

  assert.deepEqual(await snapshot(), before, 'nothing changed');
  assert.equal(before.promotions, 1);
});

test('rejecting closes the request and promotes nothing', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);

  const code = await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Reject' });
  assert.equal(code, 200);
  await page.locator('h1', { hasText: 'Promotion rejected' }).waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(`Rejected by ${APPROVER}\\. Nothing will be promoted\\.`));
  await screenshot(page, 'rejected.png');

  const s = await gate.status();
  assert.equal(s.phase, 'primary_lost');
  assert.equal(s.requests[0].status, 'rejected');
  assert.equal(gate.promotions().length, 0, 'nothing was promoted');
});

test('on a phone the page fits the screen and Approve is reachable without zooming', TIMEOUT, async (t) => {
  const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
  const { gate, page } = await setup(t, phone);
  assert.equal((await page.goto(gate.link)).status(), 200);

  const layout = await page.evaluate(() => ({
    innerWidth: window.innerWidth,
    scrollWidth: document.scrollingElement.scrollWidth,
    scale: window.visualViewport.scale,
  }));
  assert.equal(layout.innerWidth, 390, 'the page is laid out for the phone width (viewport meta)');
  assert.equal(layout.scale, 1, 'not zoomed out');
  assert.ok(layout.scrollWidth <= layout.innerWidth, `no horizontal scroll: ${layout.scrollWidth} > ${layout.innerWidth}`);

  const approve = page.getByRole('button', { name: 'Approve promotion' });
  await approve.scrollIntoViewIfNeeded();
  const box = await approve.boundingBox();
  assert.ok(box, 'the Approve button is rendered');
  assert.ok(box.x >= 0 && box.x + box.width <= 390, `the Approve button is within the screen width: ${JSON.stringify(box)}`);
  assert.ok(box.height >= 44, `the Approve button is a comfortable touch target: ${box.height} px high`);
  assert.ok(await approve.isVisible());
  // Text fields under 16 px make phones zoom in when they are focused.
  for (const id of ['#approver', '#confirm']) {
    const size = await page.locator(id).evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    assert.ok(size >= 16, `${id} is ${size} px: the phone would zoom in on focus`);
  }

  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'approval-page-phone.png');
  // Phones at night are often in dark mode.
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'approval-page-phone-dark.png');

  await assertStillOpen(gate);
});

test('altered, truncated and unknown links each get a clear page and decide nothing', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  const token = gate.token;
  assert.equal(token.length, 22);
  const swap = (c) => (c === 'A' ? 'B' : 'A');
  const altered = token.slice(0, 10) + swap(token[10]) + token.slice(11);
  const truncated = token.slice(0, 15);
  const unknown = token === 'AAAAAAAAAAAAAAAAAAAAAA' ? 'BBBBBBBBBBBBBBBBBBBBBB' : 'AAAAAAAAAAAAAAAAAAAAAA';

  const cases = [
    { what: 'one character changed', token: altered, status: 404, title: 'Unknown link', says: /mirrorgate does not know this link/ },
    { what: 'truncated', token: truncated, status: 400, title: 'This link was altered', says: /The link is incomplete or was changed on its way to you/ },
    { what: 'unknown, well formed', token: unknown, status: 404, title: 'Unknown link', says: /mirrorgate does not know this link/ },
  ];
  for (const c of cases) {
    const url = `${gate.base}/a/${c.token}`;
    const response = await page.goto(url);
    assert.equal(response.status(), c.status, `${c.what}: HTTP ${c.status}`);
    assert.equal(await heading(page), c.title, `${c.what}: the page says what happened`);
    const body = await page.locator('main').innerText();
    assert.match(body, c.says, c.what);
    assert.match(body, /Nothing was decided\./, `${c.what}: the page says nothing was decided`);
    assert.equal(await page.getByRole('button').count(), 0, `${c.what}: no form to decide with`);

    // A form posted to it decides nothing either.
    const posted = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ approver: APPROVER, confirm: MIRROR, decision: 'approve' }),
    });
    assert.equal(posted.status, c.status, `${c.what}: POST answers ${c.status} too`);
  }

  await assertStillOpen(gate);
  assert.equal((await fetch(gate.link)).status, 200, 'the real link still works');
});

test('pages are sent with no-store, no framing and no referrer, and never contain the token', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);

  const checkHeaders = (headers, what) => {
    assert.equal(headers['cache-control'], 'no-store', `${what}: Cache-Control`);
    assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
    assert.equal(headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  };

  const response = await page.goto(gate.link);
  assert.equal(response.status(), 200);
  checkHeaders(await response.allHeaders(), 'approval page');
  const html = await response.text();
  assert.ok(!html.includes(gate.token), 'the approval page never writes the token out');
  assert.ok(!(await page.content()).includes(gate.token));
  // The form posts back to the address it came from.
  const form = page.locator('form');
  assert.equal(await form.getAttribute('method'), 'post');
  assert.equal(await form.getAttribute('action'), '');
  assert.equal(await form.evaluate((f) => f.action), gate.link);

  // A refused form (wrong confirmation) and a bad link carry the same headers.
  const refused = await fetch(gate.link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ approver: APPROVER, confirm: 'nope', decision: 'approve' }),
  });
  assert.equal(refused.status, 422);
  checkHeaders(Object.fromEntries(refused.headers), 'refused form');
  assert.ok(!(await refused.text()).includes(gate.token), 'the refused form never writes the token out');
  const unknown = await fetch(`${gate.base}/a/${'A'.repeat(22)}`);
  checkHeaders(Object.fromEntries(unknown.headers), 'unknown link');

  // And the result page of a decision.
  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Reject' }), 200);
  await page.locator('h1', { hasText: 'Promotion rejected' }).waitFor();
  assert.ok(!(await page.content()).includes(gate.token), 'the result page never writes the token out');
});

test('the page works without JavaScript', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, { javaScriptEnabled: false });
  await page.setContent('<title>no script</title><script>document.title = "script ran"</script>');
  assert.equal(await page.title(), 'no script', 'JavaScript is off in this browser');
  assert.equal((await page.goto(gate.link)).status(), 200);
  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve promotion' }), 200);
  await page.locator('h1', { hasText: 'Promotion approved' }).waitFor();

  const s = await gate.status();
  assert.equal(s.requests[0].status, 'approved');
  assert.equal(gate.promotions().length, 1);
});

/** WCAG contrast ratio of an element's text against its own background. */
async function contrast(page, selector) {
  return page.locator(selector).first().evaluate((el) => {
    const rgb = (css) => css.match(/[\d.]+/g).slice(0, 3).map(Number);
    const luminance = ([r, g, b]) => {
      const lin = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const style = getComputedStyle(el);
    const [a, b] = [luminance(rgb(style.color)), luminance(rgb(style.backgroundColor))].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
}

// WCAG AA: 4.5:1 for text, 3:1 for large text (the button's 18.7 px bold counts as large).
async function assertReadable(t, colorScheme) {
  const { gate, page } = await setup(t, { colorScheme, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
  await page.goto(gate.link);
  const banner = await contrast(page, '.banner.crit');
  const button = await contrast(page, 'button.approve');
  assert.ok(banner >= 4.5, `${colorScheme}: the red banner's text has contrast ${banner.toFixed(2)}:1, under 4.5:1`);
  assert.ok(button >= 3, `${colorScheme}: the Approve button's text has contrast ${button.toFixed(2)}:1, under 3:1`);
}

test('in light mode the red banner and the Approve button are readable (WCAG AA contrast)', TIMEOUT, (t) =>
  assertReadable(t, 'light'),
);

test(
  'in dark mode the red banner and the Approve button are readable (WCAG AA contrast)',
  TIMEOUT,
  (t) => assertReadable(t, 'dark'),
);
