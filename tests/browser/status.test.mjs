// The status page at `/` for a night on call, in headless Chromium against
// `mirrorgate serve` with an open promotion request (the region-outage scenario):
// a desktop's width without sideways scrolling, the open request above the
// members, the age of each piece of evidence, what is stale marked, and a reload
// without JavaScript.
//
// Run with scripts/browser-test, or: MIRRORGATE_BIN=target/debug/mirrorgate node --test
// (in tests/browser).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openBrowser, openRequest, screenshot, sidewaysScroll } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };

async function setup(t, options) {
  const gate = await openRequest();
  t.after(() => gate.close());
  const browser = await openBrowser(options);
  t.after(() => browser.close());
  return { gate, page: browser.page };
}

for (const width of [1200, 1440]) {
  test(`at ${width} px the status page fits without sideways scrolling`, TIMEOUT, async (t) => {
    const { gate, page } = await setup(t, { viewport: { width, height: 900 } });
    assert.equal((await page.goto(`${gate.base}/`)).status(), 200);
    await page.locator('#members-HSPROD').waitFor();
    const layout = await sidewaysScroll(page);
    assert.ok(layout.scrollWidth <= layout.clientWidth, `document scrolls sideways: ${layout.scrollWidth} > ${layout.clientWidth}`);
    assert.deepEqual(layout.overflowing, [], 'no part of the page scrolls sideways');
    // The member table uses the width: wider than the approval pages' 42rem column.
    const table = await page.locator('#members-HSPROD').boundingBox();
    assert.ok(table.width > 1000, `the member table uses a desktop's width: ${table.width} px`);
    if (width === 1200) await screenshot(page, 'status-page.png');
  });
}

test('the open request comes before the members; evidence has its age, stale evidence is marked; the page reloads itself', TIMEOUT, async (t) => {
  const { gate, page } = await setup(t, { viewport: { width: 1200, height: 900 } });
  await page.goto(`${gate.base}/`);

  // Maintenance (none), drills (not built) and the open request, before the members.
  const main = await page.locator('main').innerText();
  const order = ['No maintenance window on', 'No DR drill open', 'Open requests', 'promote HSPROD-DR1', 'Members'].map((words) => {
    const at = main.indexOf(words);
    assert.ok(at >= 0, `the page says "${words}":\n${main}`);
    return at;
  });
  assert.deepEqual([...order].sort((a, b) => a - b), order, `in this order: maintenance, drills, open request, members\n${main}`);
  const open = await page.locator('#open-requests-HSPROD').innerText();
  assert.match(open, /promote HSPROD-DR1/);
  assert.match(open, /\d{2}:\d{2}:\d{2} · (1|2) min ago/, open);

  // Ages beside the times, computed when the page was rendered.
  const members = await page.locator('#members-HSPROD').innerText();
  assert.match(members, /\d{2}:\d{2}:\d{2} · \d+ min ago/, members);
  // The region is gone: HSPROD-A's last heartbeat is minutes old, past
  // heartbeat_stale_secs, and says so.
  const a = page.locator('#members-HSPROD tr[data-member="HSPROD-A"]');
  const heartbeat = a.locator('td[data-label="heartbeat"]');
  assert.equal(await heartbeat.getAttribute('class'), 'stale');
  assert.match(await heartbeat.innerText(), /SILENT\s*\d{2}:\d{2}:\d{2} · \d+ min ago · stale/);
  assert.ok(await heartbeat.isVisible());
  const color = await heartbeat.evaluate((el) => getComputedStyle(el).color);
  const normal = await a.locator('td[data-label="member"]').evaluate((el) => getComputedStyle(el).color);
  assert.notEqual(color, normal, 'stale evidence stands out');
  // The candidate's heartbeat is fresh: no stale mark.
  const dr1 = page.locator('#members-HSPROD tr[data-member="HSPROD-DR1"]');
  const dr1Heartbeat = await dr1.locator('td[data-label="heartbeat"]').innerText();
  assert.match(dr1Heartbeat, /fresh/);
  assert.doesNotMatch(dr1Heartbeat, /stale/);

  // Reloads itself without JavaScript, and says when it was rendered.
  assert.equal(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '30');
  assert.equal(await page.locator('script').count(), 0);
  assert.match(await page.locator('#rendered').innerText(), /Rendered at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC; this page reloads itself every 30 s/);
});

test('on a phone the status page fits the screen width', TIMEOUT, async (t) => {
  const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
  const { gate, page } = await setup(t, phone);
  await page.goto(`${gate.base}/`);
  const layout = await sidewaysScroll(page);
  assert.ok(layout.scrollWidth <= layout.clientWidth, `document scrolls sideways: ${layout.scrollWidth} > ${layout.clientWidth}`);
  assert.deepEqual(layout.overflowing, [], 'no part of the page scrolls sideways');
  const stale = page.locator('#members-HSPROD tr[data-member="HSPROD-A"]').locator('td[data-label="heartbeat"]');
  assert.ok(await stale.isVisible());
  await screenshot(page, 'status-page-phone.png');
});
