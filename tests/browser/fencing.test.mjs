// The fencing request's page (after a DR promotion, the former primary region is
// back) and the promotion page's with/without-partner wording, in headless Chromium
// against `mirrorgate serve`, one fresh control plane per test.
//
// Run with scripts/browser-test, or: MIRRORGATE_BIN=target/debug/mirrorgate node --test
// (in tests/browser).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FENCING_SCENARIO, openBrowser, openRequest, screenshot, submit } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };
const MIRROR = 'HSPROD';
const APPROVER = 'Dana Whitfield';

async function setup(t, options) {
  const gate = await openRequest(options);
  t.after(() => gate.close());
  const browser = await openBrowser();
  t.after(() => browser.close());
  return { gate, page: browser.page };
}

const fencing = { scenario: FENCING_SCENARIO, kind: 'fencing_requested' };

test('the fencing page says what was heard, what would be fenced, never the primary, and how to fail back', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, fencing);

  const response = await page.goto(gate.link);
  assert.equal(response.status(), 200);
  assert.equal((await page.locator('h1').innerText()).trim(), `Fence HSPROD-A and HSPROD-B of ${MIRROR}?`);
  const banner = await page.locator('.banner').innerText();
  assert.match(banner, /The former primary region is back: fence it\?/);

  const facts = await page.locator('dl').innerText();
  assert.match(facts, /Heard again\s+HSPROD-[AB]: /);
  assert.match(facts, /Now\s+HSPROD-DR1 is primary \(epoch 2\) and stays primary: fencing never touches it/);
  assert.match(
    facts,
    /Would be fenced\s+HSPROD-A \(us-east-1, us-east-1a, i-0aaaaaaaaaaaaaaa1\); HSPROD-B \(us-east-1, us-east-1b, i-0bbbbbbbbbbbbbbb2\)/,
  );
  assert.match(facts, /How\s+demote: IRIS keeps running, out of the mirror: JoinMirror=0 and ValidatedMember=0/);

  const body = await page.locator('main').innerText();
  assert.ok(
    body.includes('Run the SSM document HSPROD-FenceMember on each of HSPROD-A, HSPROD-B with MirrorName=HSPROD'),
    body,
  );
  assert.ok(body.includes('Never on HSPROD-DR1'), body);

  const failback = await page.locator('#failback').innerText();
  assert.match(failback, /Failing back later, on purpose/);
  assert.match(failback, /ValidatedMember=0 \(it asks the primary, HSPROD-DR1, for its role\) and JoinMirror=1/);
  assert.match(failback, /promote HSPROD-A to failover member/);
  assert.match(failback, /docs\/DEPLOY\.md/);
  await assert.doesNotReject(page.getByRole('button', { name: 'Approve fencing' }).waitFor());
  await screenshot(page, 'fencing-page.png');

  // Opening the page decided nothing.
  assert.deepEqual(gate.fences(), []);
  const s = await gate.status();
  const request = s.requests.find((r) => r.kind === 'fencing');
  assert.equal(request.status, 'open');
  assert.equal(request.asks, 'fence HSPROD-A, HSPROD-B');
});

test('approving the fencing runs it on A and B once, never on DR1, and shows them fenced', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, fencing);
  await page.goto(gate.link);

  const code = await submit(page, { approver: APPROVER, confirm: MIRROR, button: 'Approve fencing' });
  assert.equal(code, 200);
  await page.locator('h1', { hasText: 'Fencing approved' }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, /Fencing HSPROD-A, HSPROD-B of HSPROD/);
  assert.match(body, /HSPROD-DR1 stays primary/);
  await screenshot(page, 'fencing-approved.png');

  const done = gate.fences();
  assert.deepEqual(
    done.map((f) => [f.member, f.instance_id, f.parameters.Method, f.parameters.InstanceName]),
    [
      ['HSPROD-A', 'i-0aaaaaaaaaaaaaaa1', 'demote', 'IRIS'],
      ['HSPROD-B', 'i-0bbbbbbbbbbbbbbb2', 'demote', 'IRIS'],
    ],
  );
  const s = await gate.status();
  assert.equal(s.primary, 'HSPROD-DR1');
  assert.equal(s.phase, 'dr_active', 'fencing changes nothing about the primary');
  const fenced = s.members.filter((m) => m.fenced).map((m) => m.name);
  assert.deepEqual(fenced, ['HSPROD-A', 'HSPROD-B']);
  const request = s.requests.find((r) => r.kind === 'fencing');
  assert.equal(request.status, 'succeeded');
  assert.deepEqual(request.approvers, [APPROVER]);

  // The status page shows them fenced.
  await page.goto(`${gate.base}/`);
  const table = await page.locator('table').first().innerText();
  assert.match(table, /HSPROD-A \(fenced\)/);
  assert.match(table, /HSPROD-B \(fenced\)/);
  assert.doesNotMatch(table, /HSPROD-DR1 \(fenced\)/);
});

test('the promotion page says which way the promotion goes: with partner if an agent answers, else without', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t);
  await page.goto(gate.link);

  const partner = await page.locator('#partner').innerText();
  assert.match(partner, /Which way the promotion goes/);
  assert.match(
    partner,
    /With partner if, when the promotion runs, the ISCAgent of HSPROD-A or HSPROD-B answers: HSPROD-DR1 first obtains from it the journal data it lacks/,
  );
  assert.match(partner, /Possibly nothing is lost\./);
  assert.match(partner, /Otherwise without partner: HSPROD-DR1 becomes primary with only the journal data it received/);
  assert.match(partner, /gone for good, unless the former primary is later rebuilt and its journals are recovered by hand/);
  // us-east-1 is silent in this scenario.
  assert.match(
    await page.locator('#partner-now').innerText(),
    /Right now nothing has been heard from HSPROD-A or HSPROD-B since \d\d:\d\d UTC .*: expect the promotion to go without partner\./,
  );
  // The loss acceptance is offered even within the policy, and says what leaving it unticked means.
  await assert.doesNotReject(page.locator('#accept_loss').waitFor());
  assert.match(
    await page.locator('label.check').innerText(),
    /I accept the data loss described above: if no partner's ISCAgent answers, promote without partner/,
  );
  assert.match(await page.locator('#accept-loss-help').innerText(), /Left unticked, the promotion runs only with partner/);
  await screenshot(page, 'approval-partner.png');

  // Ticking it is recorded on the request.
  await page.locator('#accept_loss').check();
  const code = await submit(page, { approver: 'Sam Okafor', confirm: MIRROR, button: 'Approve promotion' });
  assert.equal(code, 200);
  await page.locator('h1', { hasText: 'Promotion approved' }).waitFor();
  assert.equal(gate.promotions().length, 1);
  const s = await gate.status();
  assert.equal(s.requests[0].accepted_without_partner, true, 'the promote document may run without partner');
});
