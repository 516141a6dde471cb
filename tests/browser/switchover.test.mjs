// The approval pages of a planned switchover to a DR member (mirrorgate
// switchover) and of the failback after it (mirrorgate failback), in headless
// Chromium against `mirrorgate serve`, one fresh control plane per test: a healthy
// mirror, Ravi Patel asks to switch over to HSPROD-DR1 (and, once that is done, to
// fail back to HSPROD-A), and the page is decided through its form.
//
// Run with scripts/browser-test, or: MIRRORGATE_BIN=target/debug/mirrorgate node --test
// (in tests/browser).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SWITCHOVER_SCENARIO, clock, openBrowser, openRequest, screenshot, sidewaysScroll, submit } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };
const MIRROR = 'HSPROD';
const APPROVER = 'Dana Whitfield';
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

const switchover = { scenario: SWITCHOVER_SCENARIO, until: 'switchover', kind: 'switchover_requested' };
const failback = { scenario: SWITCHOVER_SCENARIO, until: 'failback', kind: 'failback_requested' };

/**
 * The failover members silent: their heartbeats of the minute before the request
 * left out, so they were last heard 90 s before it, and the request raised 100 s
 * ago: 190 s, past evidence_fresh_secs (180 s), while HSPROD-DR1 (heard 30 s before
 * the request) is still fresh.
 */
const partnersSilent = {
  ...switchover,
  leadSeconds: 100,
  omit: (line) =>
    line.event?.['detail-type'] === 'Mirror Member Heartbeat'
    && ['HSPROD-A', 'HSPROD-B'].includes(line.event.detail.member),
};

async function setup(t, request, browserOptions) {
  const gate = await openRequest(request);
  t.after(() => gate.close());
  const browser = await openBrowser(browserOptions);
  t.after(() => browser.close());
  return { gate, page: browser.page };
}

async function assertFits(page, what) {
  const layout = await sidewaysScroll(page);
  assert.ok(layout.scrollWidth <= layout.clientWidth, `${what}: the document scrolls sideways: ${layout.scrollWidth} > ${layout.clientWidth}`);
  assert.deepEqual(layout.overflowing, [], `${what}: no part of the page scrolls sideways`);
}

function request(s, kind) {
  const found = s.requests.filter((r) => r.kind === kind);
  assert.equal(found.length, 1, `one ${kind} request: ${JSON.stringify(s.requests)}`);
  return found[0];
}

test('the switchover page says planned, to the DR member, with partner (no data loss), and that the former primary region is fenced', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, switchover, { viewport: { width: 1280, height: 900 } });

  assert.equal((await page.goto(gate.link)).status(), 200);
  assert.match(await page.title(), /^switchover to HSPROD-DR1\?/);
  assert.equal((await page.locator('#planned').innerText()).trim(), 'PLANNED switchover: nothing failed');
  assert.equal((await page.locator('h1').innerText()).trim(), `Switch over ${MIRROR} to HSPROD-DR1?`);

  const facts = await page.locator('dl').innerText();
  assert.match(facts, /Asked by\s+Ravi Patel/);
  assert.match(facts, /Primary now\s+HSPROD-A \(failover, us-east-1, us-east-1a\)/);
  assert.match(facts, /Would become primary\s+HSPROD-DR1 \(dr async, us-west-2, us-west-2a\)/);
  assert.match(
    facts,
    /Way\s+With partner \(no data loss\): HSPROD-DR1 first obtains from the ISCAgent of HSPROD-A or HSPROD-B the journal data it lacks, then becomes primary\. Approving is refused when HSPROD-A or HSPROD-B has not been heard from in the last 3 min, unless you accept the loss/,
  );
  assert.match(facts, /If it went without partner\s+about 1\.8 s of transactions not yet received by HSPROD-DR1/);
  assert.match(
    facts,
    /Then\s+The former primary region us-east-1 is fenced: once HSPROD-DR1 reports primary, the fencing document HSPROD-FenceMember runs on HSPROD-A, HSPROD-B with Method=demote \(IRIS keeps running, out of the mirror, and cannot become primary\)\. This approval covers it: no second request/,
  );
  assert.match(
    facts,
    /After approving, by hand\s+Stop IRIS on HSPROD-B, then on HSPROD-A, leaving their hosts and ISCAgents running, so that HSPROD-DR1, promoted with no primary, gets the latest journal data from their ISCAgent \(docs\/DEPLOY\.md, 7\.9\)/,
  );
  // Both failover members were heard 30 s before the request: the partner answers.
  const partner = page.locator('#partner-now');
  assert.match(await partner.innerText(), /^Right now heard from HSPROD-A: its agent reports Primary .*HSPROD-B: its agent reports Backup .*so the promotion goes with partner\.$/);
  assert.equal(await partner.getAttribute('class'), null, 'not marked as a problem');

  const body = await page.locator('main').innerText();
  assert.ok(body.includes(`This link works once and expires at ${clock(gate.raisedAt + 30 * 60_000)}`), body);
  assert.ok(body.includes('Opening this page decides nothing.'), body);
  assert.match(await page.locator('label.check').innerText(), /I accept the data loss: if no partner's ISCAgent answers, switch over without partner/);
  assert.equal(await page.locator('#accept_loss').isChecked(), false, 'the loss is not accepted unless ticked');
  await assert.doesNotReject(page.getByRole('button', { name: 'Approve switchover' }).waitFor());
  await assert.doesNotReject(page.getByRole('button', { name: 'Reject' }).waitFor());

  await assertFits(page, 'desktop');
  await screenshot(page, 'switchover-page.png');

  // Opening decided nothing.
  const s = await gate.status();
  assert.equal(s.phase, 'normal');
  assert.equal(s.primary, 'HSPROD-A');
  const r = request(s, 'switchover');
  assert.equal(r.status, 'open');
  assert.equal(r.candidate, 'HSPROD-DR1');
  assert.deepEqual(gate.promotions(), []);
});

test('approving the switchover with partner starts the promotion of HSPROD-DR1 once; a second decision is refused', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, switchover);
  await page.goto(gate.link);

  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve switchover' }), 200);
  await page.locator('h1', { hasText: 'Switchover approved' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, /Switching over HSPROD from HSPROD-A to HSPROD-DR1/);
  assert.match(body, new RegExp(`Approved by ${APPROVER} at \\d\\d:\\d\\d UTC\\.`));
  assert.match(body, /Promotion of HSPROD-DR1 started \(recorded locally: SSM document HSPROD-PromoteDrAsync on i-0ddddddddddddddd4 \(HSPROD-DR1\)\)\./);
  assert.match(body, /With partner only \(no data loss\): if no partner's ISCAgent answers, nothing is promoted and everyone is alerted\./);
  assert.match(body, /Once HSPROD-DR1 reports primary, the former primary region us-east-1 is fenced: HSPROD-FenceMember runs on HSPROD-A, HSPROD-B, as part of this approval\./);
  assert.match(body, /Now, by hand: Stop IRIS on HSPROD-B, then on HSPROD-A, leaving their hosts and ISCAgents running/);
  assert.match(body, /mirrorgate waits up to 10 min for HSPROD-DR1 to report primary and alerts everyone on success or failure\./);
  await assertFits(page, 'result');
  await screenshot(page, 'switchover-approved.png');

  const s = await gate.status();
  const r = request(s, 'switchover');
  assert.equal(r.status, 'approved');
  assert.deepEqual(r.approvers, [APPROVER]);
  assert.equal(r.accepted_without_partner, false, 'with partner only');
  const done = gate.promotions();
  assert.equal(done.length, 1, 'the promote document ran once');
  assert.match(JSON.stringify(done[0]), /HSPROD-DR1/);
  // Fencing waits until HSPROD-DR1 reports primary; until then HSPROD-A serves.
  assert.deepEqual(gate.fences(), []);
  assert.equal(s.primary, 'HSPROD-A');

  assert.equal((await page.goto(gate.link)).status(), 410);
  assert.equal((await page.locator('h1').innerText()).trim(), 'This link was already used');
  assert.match(await page.locator('main').innerText(), /switchover approved; it is being carried out/);
  const again = await fetch(gate.link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ approver: 'Sam Okafor', confirm: MIRROR, decision: 'reject' }),
  });
  assert.equal(again.status, 410);
  assert.equal(request(await gate.status(), 'switchover').status, 'approved');
  assert.equal(gate.promotions().length, 1);
});

test('with the failover members silent the switchover is refused until the data loss is accepted, and the acceptance is recorded', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, partnersSilent);
  await page.goto(gate.link);

  const partner = page.locator('#partner-now');
  assert.equal(
    await partner.innerText(),
    `Right now nothing has been heard from HSPROD-A or HSPROD-B since ${clock(gate.raisedAt - 90_000)} (3 min ago): approving is refused unless you tick "I accept the data loss", and then it may go without partner.`,
  );
  assert.equal(await partner.getAttribute('class'), 'error', 'marked as a problem');

  // Unticked: refused, nothing decided, the form shown again as filled in.
  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve switchover' }), 409);
  assert.match(
    await page.locator('#error').innerText(),
    /Refused: nothing was heard from HSPROD-A or HSPROD-B recently, so no partner's ISCAgent would answer and the switchover could lose data\..*Nothing was decided\./,
  );
  assert.equal((await page.locator('h1').innerText()).trim(), `Switch over ${MIRROR} to HSPROD-DR1?`);
  assert.equal(await page.locator('#approver').inputValue(), APPROVER);
  assert.equal(request(await gate.status(), 'switchover').status, 'open');
  assert.deepEqual(gate.promotions(), []);

  // Ticked: approved, and the promote document may run without partner.
  await page.locator('#accept_loss').check();
  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve switchover' }), 200);
  await page.locator('h1', { hasText: 'Switchover approved' }).waitFor();
  assert.match(
    await page.locator('main').innerText(),
    /With partner if a partner's ISCAgent answers, otherwise without partner: the data loss was accepted\./,
  );
  const r = request(await gate.status(), 'switchover');
  assert.equal(r.status, 'approved');
  assert.equal(r.accepted_without_partner, true);
  assert.equal(gate.promotions().length, 1);
});

test('rejecting the switchover promotes nothing and HSPROD-A stays primary', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, switchover);
  await page.goto(gate.link);

  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Reject' }), 200);
  await page.locator('h1', { hasText: 'Switchover rejected' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, new RegExp(`Rejected by ${APPROVER}\\. Nothing will be promoted: HSPROD-A stays primary\\.`));
  assert.match(body, /A switchover is not asked again: ask anew with mirrorgate switchover\./);
  assert.doesNotMatch(body, /primary is still lost/, 'nothing was lost: this is not a promotion request');

  const s = await gate.status();
  assert.equal(request(s, 'switchover').status, 'rejected');
  assert.equal(s.phase, 'normal');
  assert.equal(s.primary, 'HSPROD-A');
  assert.deepEqual(gate.promotions(), []);
});

test('on a phone the switchover page fits the screen and its buttons are reachable', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, switchover, PHONE);
  assert.equal((await page.goto(gate.link)).status(), 200);
  assert.equal(await page.evaluate(() => window.innerWidth), 390, 'laid out for the phone width');
  await assertFits(page, 'phone');
  for (const name of ['Approve switchover', 'Reject']) {
    const button = page.getByRole('button', { name, exact: true });
    await button.scrollIntoViewIfNeeded();
    const box = await button.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `${name} is within the screen width: ${JSON.stringify(box)}`);
    assert.ok(box.height >= 44, `${name} is a comfortable touch target: ${box.height} px high`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'switchover-page-phone.png');
});

test('the failback page says planned, back to HSPROD-A with HSPROD-DR1 as partner, un-fencing first; approving starts it', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, failback, { viewport: { width: 1280, height: 900 } });
  // The switchover before it is done: DR1 primary, A and B fenced.
  const before = await gate.status();
  assert.equal(before.phase, 'dr_active');
  assert.equal(before.primary, 'HSPROD-DR1');
  const promoted = gate.promotions().length;
  const fenced = gate.fences().length;

  assert.equal((await page.goto(gate.link)).status(), 200);
  assert.equal((await page.locator('#planned').innerText()).trim(), 'PLANNED failback: nothing failed');
  assert.equal((await page.locator('h1').innerText()).trim(), `Fail back ${MIRROR} to HSPROD-A?`);
  const facts = await page.locator('dl').innerText();
  assert.match(facts, /Primary now\s+HSPROD-DR1 \(dr async, us-west-2, us-west-2a\)/);
  assert.match(facts, /Would become primary\s+HSPROD-A \(failover, us-east-1, us-east-1a\)/);
  assert.match(
    facts,
    /Way\s+With partner \(no data loss\): HSPROD-A, un-fenced, rejoins as a DR async of HSPROD-DR1 and catches up; once connected it becomes the failover partner \(backup\) of HSPROD-DR1, and takes over with all its data when IRIS on HSPROD-DR1 stops/,
  );
  assert.match(facts, /Approving is refused when HSPROD-DR1 has not been heard from in the last 3 min, unless you accept the loss/);
  assert.match(
    facts,
    /Then\s+First un-fence HSPROD-A, HSPROD-B \(the fencing document with Method=unfence: JoinMirror=1, ValidatedMember=0, IRIS started, so that each rejoins and asks HSPROD-DR1 for its role\); then the promote document \(Purpose=failback\) waits until HSPROD-A is connected to HSPROD-DR1 and makes it its failover partner/,
  );
  assert.match(
    facts,
    /After approving, by hand\s+Once HSPROD-A is the backup of HSPROD-DR1 \(the promote document's first line says PROMOTED TO FAILOVER\), stop IRIS on HSPROD-DR1 so that HSPROD-A takes over; then make HSPROD-B its backup again and demote HSPROD-DR1 to DR async/,
  );
  assert.match(await page.locator('#partner-now').innerText(), /^Right now heard from HSPROD-DR1: its agent reports Primary/);
  assert.match(await page.locator('label.check').innerText(), /if no partner's ISCAgent answers, fail back without partner/);
  await assertFits(page, 'desktop');
  await screenshot(page, 'failback-page.png');

  assert.equal(await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve failback' }), 200);
  await page.locator('h1', { hasText: 'Failback approved' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, /Failing back HSPROD from HSPROD-DR1 to HSPROD-A/);
  assert.match(body, /First HSPROD-A, HSPROD-B are un-fenced \(the fencing document with Method=unfence\), then HSPROD-A, once connected to HSPROD-DR1, becomes its failover partner\./);
  assert.doesNotMatch(body, /is fenced/, 'a failback fences nothing');
  assert.match(body, /Now, by hand: Once HSPROD-A is the backup of HSPROD-DR1 .*stop IRIS on HSPROD-DR1 so that HSPROD-A takes over/);

  const r = request(await gate.status(), 'failback');
  assert.equal(r.status, 'approved');
  assert.deepEqual(r.approvers, [APPROVER]);
  assert.equal(gate.promotions().length, promoted + 1, 'HSPROD-A promoted back, once');
  assert.match(JSON.stringify(gate.promotions().at(-1)), /HSPROD-A/);
  const unfenced = gate.fences().slice(fenced);
  assert.deepEqual(unfenced.map((f) => [f.member, f.parameters.Method]), [
    ['HSPROD-A', 'unfence'],
    ['HSPROD-B', 'unfence'],
  ]);
});
