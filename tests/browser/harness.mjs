// Test harness for the approval pages: a mirrorgate control plane with an open
// promotion request (replay + serve on a free port), headless Chromium, and the
// store as `mirrorgate status` sees it.

import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');
export const TOPOLOGY = join(REPO, 'examples', 'topology.toml');
export const PENDING_SCENARIO = join(REPO, 'examples', 'scenarios', 'region-outage-pending.jsonl');
/** DR1 promoted, and us-east-1 back: a fencing request waits. */
export const FENCING_SCENARIO = join(REPO, 'examples', 'scenarios', 'old-region-back-pending.jsonl');
/** A healthy mirror; Ravi Patel starts a DR drill (cut at its `drill` line). */
export const DRILL_SCENARIO = join(REPO, 'examples', 'scenarios', 'drill-rehearsal.jsonl');
/**
 * A healthy mirror; a switchover to HSPROD-DR1 is asked (cut at its `switchover`
 * line), approved and done, then a failback to HSPROD-A is asked (cut at `failback`).
 */
export const SWITCHOVER_SCENARIO = join(REPO, 'examples', 'scenarios', 'switchover-failback.jsonl');
export const SCREENSHOTS = join(REPO, 'docs', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const run = promisify(execFile);

/** The mirrorgate binary under test (built by scripts/browser-test). */
export function mirrorgateBin() {
  const bin = process.env.MIRRORGATE_BIN;
  if (!bin) {
    throw new Error('MIRRORGATE_BIN is not set: run scripts/browser-test, or set it to target/debug/mirrorgate');
  }
  const path = resolve(REPO, bin);
  if (!existsSync(path)) {
    throw new Error(`MIRRORGATE_BIN=${bin}: no such file (build it with cargo build -p mirrorgate)`);
  }
  return path;
}

// ---------------------------------------------------------------------------
// The scenario, moved to the wall clock.

// RFC 3339 instants as they appear in AWS payloads: 2026-11-25T03:05:40Z,
// 2026-11-25T03:02:10.000+0000 (CloudWatch), ...+00:00. Inside SNS Message
// strings they appear the same way (only the quotes around them are escaped).
const INSTANT = /(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})/g;

function parseInstant(date, time, fraction, zone) {
  const iso = `${date}T${time}${zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${date}T${time}${fraction ?? ''}${zone}`);
  return ms;
}

function formatInstant(ms, fraction, zone) {
  const base = new Date(ms).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS, UTC
  const suffix = zone === 'Z' ? 'Z' : zone.includes(':') ? '+00:00' : '+0000';
  return `${base}${fraction ?? ''}${suffix}`;
}

/** Every instant in `text` moved by `offsetMs` (whole seconds), each in its own format. */
export function shiftInstants(text, offsetMs) {
  if (offsetMs % 1000 !== 0) throw new Error('shift by whole seconds only');
  return text.replace(INSTANT, (_, date, time, fraction, zone) =>
    formatInstant(parseInstant(date, time, fraction, zone) + offsetMs, fraction, zone),
  );
}

/**
 * The pending region-outage scenario moved so that its last line (the tick
 * that raises the promotion request) happened `leadSeconds` ago. With `until`
 * (a line kind: "drill", "switchover", "failback"), the scenario ends at its
 * first line of that kind, which becomes the last line; `omit(line)` leaves out
 * the (parsed) lines it returns true for. `replay` runs
 * on simulated time but `serve` on the wall clock: the request must not have
 * expired (30 min) and the candidate's last heartbeat (40 s before the request)
 * must still be fresh (180 s) when the test decides, hence a short lead.
 */
export function shiftedScenario(leadSeconds = 60, scenario = PENDING_SCENARIO, until = undefined, omit = undefined) {
  let lines = readFileSync(scenario, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (omit !== undefined) lines = lines.filter((l) => !omit(JSON.parse(l)));
  if (until !== undefined) {
    const end = lines.findIndex((l) => JSON.parse(l)[until] !== undefined);
    if (end < 0) throw new Error(`${scenario} has no "${until}" line`);
    lines = lines.slice(0, end + 1);
  }
  const text = `${lines.join('\n')}\n`;
  const raisedAt = Date.parse(JSON.parse(lines[lines.length - 1]).at);
  const target = Math.floor(Date.now() / 1000) * 1000 - leadSeconds * 1000;
  const offsetMs = target - raisedAt;
  return { text: shiftInstants(text, offsetMs), offsetMs, raisedAt: raisedAt + offsetMs };
}

// ---------------------------------------------------------------------------
// The control plane.

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * A fresh data directory with an open request for HSPROD (a promotion, or with
 * `scenario: FENCING_SCENARIO` and `kind: 'fencing_requested'` a fencing; with
 * `until`, the scenario cut at a drill, switchover or failback line; `omit`
 * leaves lines out), and
 * `mirrorgate serve` on it. Stopped and removed by `close()`.
 */
export async function openRequest({ leadSeconds = 60, scenario = PENDING_SCENARIO, kind, until, omit } = {}) {
  const bin = mirrorgateBin();
  let lastError;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'mirrorgate-browser-'));
    const data = join(root, 'data');
    const scenarioPath = join(root, 'scenario.jsonl');
    const shifted = shiftedScenario(leadSeconds, scenario, until, omit);
    writeFileSync(scenarioPath, shifted.text);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;

    const replay = await run(
      bin,
      ['replay', '--topology', TOPOLOGY, '--data', data, '--json', '--public-url', base, scenarioPath],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
    );
    const effects = replay.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    const alert = effects.find((e) => e.effect === 'alert' && e.link && (kind === undefined || e.kind === kind));
    if (!alert) {
      rmSync(root, { recursive: true, force: true });
      throw new Error(`replay raised no alert with a link:\n${replay.stdout}\n${replay.stderr}`);
    }

    const child = spawn(bin, ['serve', '--topology', TOPOLOGY, '--data', data, '--listen', `127.0.0.1:${port}`, '--json'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (b) => (output.stdout += b));
    child.stderr.on('data', (b) => (output.stderr += b));
    child.once('exit', () => children.delete(child));

    const close = async () => {
      await stop(child);
      rmSync(root, { recursive: true, force: true });
    };

    try {
      await waitUntilServing(base, child, output);
    } catch (e) {
      lastError = e;
      await close();
      if (/cannot listen/.test(output.stderr)) continue; // the port was taken meanwhile: again, on another
      throw e;
    }

    const token = new URL(alert.link).pathname.replace(/^\/a\//, '');
    return {
      base,
      link: alert.link,
      token,
      data,
      alert,
      raisedAt: shifted.raisedAt,
      offsetMs: shifted.offsetMs,
      output,
      close,
      status: () => status(data),
      promotions: () => promotions(data),
      fences: () => fences(data),
      drills: () => drills(data),
    };
  }
  throw lastError;
}

async function waitUntilServing(base, child, output) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mirrorgate serve exited (${child.exitCode ?? child.signalCode}):\n${output.stderr}`);
    }
    try {
      const r = await fetch(`${base}/status.json`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`mirrorgate serve did not answer on ${base} within 20 s:\n${output.stderr}`);
}

/** HSPROD as `mirrorgate status --json` reports it. */
export async function status(data) {
  const { stdout } = await run(mirrorgateBin(), ['status', '--topology', TOPOLOGY, '--data', data, '--json'], {
    cwd: REPO,
    maxBuffer: 16 * 1024 * 1024,
  });
  const mirror = JSON.parse(stdout).mirrors.find((m) => m.mirror === 'HSPROD');
  if (!mirror) throw new Error(`status shows no HSPROD:\n${stdout}`);
  return mirror;
}

/** The promotions carried out (one JSON line each). */
export function promotions(data) {
  return jsonLines(join(data, 'promotions.jsonl'));
}

/** The fencings carried out (one JSON line per member). */
export function fences(data) {
  return jsonLines(join(data, 'fences.jsonl'));
}

/** The drill documents run (one JSON line each). */
export function drills(data) {
  return jsonLines(join(data, 'drills.jsonl'));
}

function jsonLines(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

// ---------------------------------------------------------------------------
// The browser.

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Debian's Chromium with a fresh profile; `options` are Playwright context options. */
export async function openBrowser(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'mirrorgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
    ...options,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, close };
}

/** Writes docs/screenshots/<name>, every run, so that the pictures stay current. */
export async function screenshot(page, name, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true, animations: 'disabled', ...options });
}

/** Every part of the page that scrolls sideways, and the document's widths. */
export function sidewaysScroll(page) {
  return page.evaluate(() => {
    const doc = document.scrollingElement;
    const overflowing = [...document.querySelectorAll('main, main *')]
      .filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}: ${el.scrollWidth} > ${el.clientWidth}`);
    return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, overflowing };
  });
}

/** Fills the form and presses a button; returns the HTTP status of the answer. */
export async function submit(page, { approver, confirm, button }) {
  if (approver !== undefined) await page.locator('#approver').fill(approver);
  if (confirm !== undefined) await page.locator('#confirm').fill(confirm);
  const url = page.url();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === url && r.request().method() === 'POST'),
    page.getByRole('button', { name: button }).click(),
  ]);
  await page.waitForLoadState('load');
  return response.status();
}

/** The words "HH:MM UTC" the pages use for an instant. */
export function clock(ms) {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}
