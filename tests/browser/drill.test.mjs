// The DR drill's approval page (mirrorgate drill: the same link and form as a
// promotion request, marked DRILL) in headless Chromium against `mirrorgate
// serve`, one fresh control plane per test: a healthy mirror, Ravi Patel starts a
// drill, and the page is decided through its form.
//
// Run with scripts/browser-test, or: MIRRORGATE_BIN=target/debug/mirrorgate node --test
// (in tests/browser).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DRILL_SCENARIO, clock, openBrowser, openRequest, screenshot, sidewaysScroll, submit } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };
const MIRROR = 'HSPROD';
const APPROVER = 'Dana Whitfield';
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function setup(t, browserOptions) {
  const gate = await openRequest({ scenario: DRILL_SCENARIO, until: 'drill', kind: 'drill_requested' });
  t.after(() => gate.close());
  const browser = await openBrowser(browserOptions);
  t.after(() => browser.close());
  return { gate, page: browser.page };
}

/** What a drill must never change: the phase, the epoch, the primary; nothing promoted. */
async function mirrorAsIs(gate) {
  const s = await gate.status();
  return { phase: s.phase, epoch: s.epoch, primary: s.primary, promotions: gate.promotions().length };
}

const HEALTHY = { phase: 'normal', epoch: 1, primary: 'HSPROD-A', promotions: 0 };

async function assertFits(page, what) {
  const layout = await sidewaysScroll(page);
  assert.ok(layout.scrollWidth <= layout.clientWidth, `${what}: the document scrolls sideways: ${layout.scrollWidth} > ${layout.clientWidth}`);
  assert.deepEqual(layout.overflowing, [], `${what}: no part of the page scrolls sideways`);
}

/** The form posted again, as a second click or a resent request would. */
function postAgain(gate, decision) {
  return fetch(gate.link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ approver: 'Sam Okafor', confirm: MIRROR, decision }),
  });
}

test('the DRILL page says DRILL, that nothing will be promoted, and what would have been promoted with which loss', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, { viewport: { width: 1280, height: 900 } });

  const response = await page.goto(gate.link);
  assert.equal(response.status(), 200);
  assert.match(await page.title(), /^DRILL: promote HSPROD-DR1\?/);
  assert.equal((await page.locator('#drill').innerText()).trim(), 'DRILL: no real loss. Nothing will be promoted.');
  assert.equal((await page.locator('h1').innerText()).trim(), `DRILL: would you promote HSPROD-DR1 to primary of ${MIRROR}?`);

  const facts = await page.locator('dl').innerText();
  assert.match(facts, /Started by\s+Ravi Patel/);
  assert.match(facts, /Primary now\s+HSPROD-A \(unchanged\)/);
  assert.match(facts, /Would have been promoted\s+HSPROD-DR1 \(dr async, us-west-2, us-west-2a\): not promoted in this drill/);
  // DR1's last heartbeat, 30 s before the drill, measured its latency.
  const measured = clock(gate.raisedAt - 30_000);
  assert.ok(
    facts.includes(`about 1.8 s of transactions not yet received by HSPROD-DR1 (its journal latency, measured at ${measured} while connected)`),
    `the estimated loss and when it was measured: ${facts}`,
  );
  assert.match(facts, /Estimated loss, were it real\s+about 1\.8 s/);
  assert.match(facts, /What approval does\s+Run the drill document HSPROD-DrillDrAsync on HSPROD-DR1 \(never the promote document\)/);

  const body = await page.locator('main').innerText();
  assert.ok(body.includes(`This link works once and expires at ${clock(gate.raisedAt + 30 * 60_000)}`), body);
  assert.ok(body.includes('Opening this page decides nothing'), body);
  await assert.doesNotReject(page.getByRole('button', { name: 'Approve DRILL' }).waitFor());
  await assert.doesNotReject(page.getByRole('button', { name: 'Reject DRILL' }).waitFor());

  await assertFits(page, 'desktop');
  await screenshot(page, 'drill-page.png');

  // Opening decided nothing.
  const s = await gate.status();
  assert.equal(s.requests.length, 1);
  assert.equal(s.requests[0].kind, 'drill');
  assert.equal(s.requests[0].status, 'open');
  assert.deepEqual(s.requests[0].approvers, []);
  assert.deepEqual(await mirrorAsIs(gate), HEALTHY);
  assert.deepEqual(gate.drills(), []);
});

test('approving the DRILL through the form records it, runs the drill document once, promotes nothing and leaves the phase; a second decision is refused', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);
  assert.deepEqual(await mirrorAsIs(gate), HEALTHY);

  // As on a promotion: a wrong confirmation decides nothing, and the form keeps what was typed.
  assert.equal(await submit(page, { approver: APPROVER, confirm: 'HSPRD', button: 'Approve DRILL' }), 422);
  assert.match(await page.locator('#error').innerText(), /The confirmation does not match: type HSPROD exactly\. Nothing was decided\./);
  assert.equal((await page.locator('h1').innerText()).trim(), `DRILL: would you promote HSPROD-DR1 to primary of ${MIRROR}?`);
  assert.equal(await page.locator('#approver').inputValue(), APPROVER);
  assert.equal((await gate.status()).requests[0].status, 'open');

  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve DRILL' }), 200);
  await page.locator('h1', { hasText: 'DRILL approved' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, new RegExp(`DRILL approved by ${APPROVER} at \\d\\d:\\d\\d UTC\\. HSPROD-DR1 NOT promoted\\.`));
  assert.match(body, /The drill document has been handed to the promotion executor\./);
  assert.match(body, /The drill report: mirrorgate drill-report HSPROD-R1/);
  await assertFits(page, 'result');
  await screenshot(page, 'drill-approved.png');

  // The decision is recorded; the drill document ran, once, on DR1; nothing else changed.
  const s = await gate.status();
  const drill = s.requests.find((r) => r.kind === 'drill');
  assert.ok(['approved', 'succeeded'].includes(drill.status), `the drill is approved or done, not ${drill.status}`);
  assert.deepEqual(drill.approvers, [APPROVER]);
  assert.deepEqual(await mirrorAsIs(gate), HEALTHY, 'phase, epoch and primary unchanged, nothing promoted');
  const ran = gate.drills();
  assert.equal(ran.length, 1, 'the drill document ran once');
  assert.match(JSON.stringify(ran[0]), /HSPROD-DR1/);
  assert.match(JSON.stringify(ran[0]), /HSPROD-DrillDrAsync/);

  // The status page says the same: HSPROD-A primary, no drill open any more.
  await page.goto(`${gate.base}/`);
  const main = await page.locator('main').innerText();
  assert.match(main, /No DR drill open\./);
  assert.match(await page.locator('#members-HSPROD tr[data-member="HSPROD-A"]').innerText(), /Primary/);

  // A second decision, from the page or posted again, is refused and changes nothing.
  const again = await page.goto(gate.link);
  assert.equal(again.status(), 410);
  assert.equal((await page.locator('h1').innerText()).trim(), 'This link was already used');
  assert.match(await page.locator('main').innerText(), new RegExp(`Last decision: approved by ${APPROVER} at`));
  assert.equal(await page.getByRole('button').count(), 0, 'no buttons: nothing can be decided here');
  assert.equal((await postAgain(gate, 'reject')).status, 410);
  assert.equal((await postAgain(gate, 'approve')).status, 410);
  assert.equal(gate.drills().length, 1, 'the drill document did not run again');
  assert.deepEqual((await gate.status()).requests.find((r) => r.kind === 'drill').approvers, [APPROVER]);
  assert.deepEqual(await mirrorAsIs(gate), HEALTHY);
});

test('rejecting the DRILL runs nothing and leaves the phase; a second decision is refused', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);

  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Reject DRILL' }), 200);
  await page.locator('h1', { hasText: 'DRILL rejected' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, new RegExp(`DRILL rejected by ${APPROVER}\\. Nothing was run\\.`));
  assert.match(body, /mirrorgate drill-report HSPROD-R1/);

  const s = await gate.status();
  assert.equal(s.requests[0].status, 'rejected');
  assert.deepEqual(gate.drills(), [], 'the drill document did not run');
  assert.deepEqual(await mirrorAsIs(gate), HEALTHY);

  assert.equal((await page.goto(gate.link)).status(), 410);
  assert.match(await page.locator('main').innerText(), new RegExp(`Last decision: rejected by ${APPROVER} at`));
  assert.equal((await postAgain(gate, 'approve')).status, 410);
  assert.equal((await gate.status()).requests[0].status, 'rejected');
  assert.deepEqual(gate.drills(), []);
});

test('on a phone the DRILL page fits the screen and its buttons are reachable', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, PHONE);
  assert.equal((await page.goto(gate.link)).status(), 200);
  assert.equal(await page.evaluate(() => window.innerWidth), 390, 'laid out for the phone width');
  await assertFits(page, 'phone');
  for (const name of ['Approve DRILL', 'Reject DRILL']) {
    const button = page.getByRole('button', { name });
    await button.scrollIntoViewIfNeeded();
    const box = await button.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `${name} is within the screen width: ${JSON.stringify(box)}`);
    assert.ok(box.height >= 44, `${name} is a comfortable touch target: ${box.height} px high`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  assert.ok(await page.locator('#drill').isVisible(), 'the DRILL banner is on the first screen');
  await screenshot(page, 'drill-page-phone.png');
});
