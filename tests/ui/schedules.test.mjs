// Schedules from the page, end to end: a one-shot stop added through the form fires and stops
// the demo job with reason schedule; a time in the past is refused in plain words naming the
// field; a daily window that is closed now stops the job and resumes it when it opens; each
// Delete asks first. The section follows all of it from /events, without a reload.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Fixture, rowState } from './harness.mjs';

const f = new Fixture();
after(() => f.close());

// The window opens this long after it is added: the graceful stop that its being closed causes
// must settle, and be seen settled, before that, on a slow machine too.
const windowOpensInMs = 15000;

const pad = (n) => String(n).padStart(2, '0');
/// `YYYY-MM-DDTHH:MM:SS` in local time, as a datetime-local input takes it (node and chromium
/// run with the same TZ). The input keeps its value normalized, without ":00" seconds, and
/// Playwright's fill() refuses a value that the input does not keep as it was given.
const localInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
  `T${pad(d.getHours())}:${pad(d.getMinutes())}${d.getSeconds() ? `:${pad(d.getSeconds())}` : ''}`;
/// `HH:MM:SS` in UTC, as the window's time inputs take it.
const utcTime = (d) => d.toISOString().slice(11, 19);
const utcText = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

const scheduleRow = (page, id) => page.locator(`#schedules-table tr[data-id="${id}"]`);
const status = (page, id, text) => scheduleRow(page, id).locator('td.status').filter({ hasText: text });

/// Fills the form with `fill(form)`, presses "Add schedule", and gives the OMA's answer.
async function add(page, fill) {
  const form = page.getByRole('form', { name: 'Add a schedule' });
  await fill(form);
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/schedules' &&
    r.request().method() === 'POST');
  await form.getByRole('button', { name: 'Add schedule' }).click();
  return answer;
}

async function remove(page, id, says) {
  await page.getByRole('button', { name: `Delete schedule ${id}`, exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Delete schedule ${id}` });
  await dialog.getByText(says).waitFor();
  await dialog.getByRole('button', { name: 'Delete schedule', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  await scheduleRow(page, id).waitFor({ state: 'detached', timeout: 10000 });
}

test('schedules from the page: a one-shot stop, a refused past time, a daily window, deletes', async () => {
  await f.startUp({ size: '256M', rate: '32M' });
  const [demo] = await f.jobs();
  await f.waitJob(demo.id, 'replicating', (j) => j.state === 'replicating');
  const page = await f.openPage();
  await rowState(page, demo.id, 'replicating');
  const section = page.getByRole('region', { name: 'Schedules' });
  await section.getByText('No schedules').waitFor({ timeout: 20000 });
  const form = page.getByRole('form', { name: 'Add a schedule' });

  // A one-shot stop of the demo job, a few seconds from now, in the operator's local time.
  let atMs = 0;
  const posted = await add(page, async (fm) => {
    await fm.getByLabel('Kind', { exact: true }).selectOption('once');
    await fm.getByLabel('Action', { exact: true }).selectOption('stop');
    await fm.getByLabel('Target', { exact: true }).selectOption('job');
    await fm.getByLabel('Job', { exact: true }).selectOption(demo.id);
    const at = new Date(Date.now() + 4000);
    at.setMilliseconds(0);
    atMs = at.getTime();
    await fm.getByLabel('At (your local time)').fill(localInput(at));
  });
  assert.equal(posted.status(), 201, await posted.text());
  const once = await posted.json();
  assert.equal(once.kind, 'once');
  assert.equal(once.state, 'pending');
  assert.deepEqual(once.target, { job: demo.id });
  assert.equal(Date.parse(once.at), atMs, `the local time went to the OMA as ${once.at}`);
  await scheduleRow(page, once.id).waitFor();
  const cells = await scheduleRow(page, once.id).locator('td').allTextContents();
  assert.match(cells[0], /^Stop/);
  assert.match(cells[1], /^job demo disk 0/);
  assert.match(cells[2], new RegExp(`^${utcText(once.at)}`));
  assert.equal(cells[3], 'pending');
  await section.getByRole('status').filter({ hasText: `Added schedule ${once.id}.` }).waitFor();

  await rowState(page, demo.id, 'stopped');
  const stopped = await f.job(demo.id);
  assert.equal(stopped.stop.reason, 'schedule');
  assert.ok(stopped.stop.comment && stopped.stop.comment.includes(once.id), `comment: ${stopped.stop.comment}`);
  await status(page, once.id, /^fired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 1 job/).waitFor({ timeout: 20000 });

  // A time in the past: the OMA refuses it, and the form says so, naming the field.
  const past = await add(page, async (fm) => {
    await fm.getByLabel('Action', { exact: true }).selectOption('resume');
    const before = new Date(Date.now() - 60000);
    before.setMilliseconds(0);
    await fm.getByLabel('At (your local time)').fill(localInput(before));
  });
  assert.equal(past.status(), 400);
  const refusal = form.getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /^Adding the schedule was refused as invalid: at\b.*past/);
  assert.equal((await f.api('GET', '/schedules')).body.schedules.length, 1);

  await page.getByRole('button', { name: 'Resume demo disk 0' }).click();
  await rowState(page, demo.id, 'replicating');

  // A daily window that opens shortly and closes in two hours: closed now, so the job stops.
  const now = Date.now();
  const opens = new Date(now + windowOpensInMs);
  const added = await add(page, async (fm) => {
    await fm.getByLabel('Kind', { exact: true }).selectOption('window');
    await fm.getByLabel('Target', { exact: true }).selectOption('all');
    await fm.getByLabel('Opens at (UTC)').fill(utcTime(opens));
    await fm.getByLabel('Closes at (UTC)').fill(utcTime(new Date(now + 2 * 3600 * 1000)));
  });
  assert.equal(added.status(), 201, await added.text());
  const win = await added.json();
  assert.equal(win.kind, 'window');
  assert.equal(win.open, false);
  assert.deepEqual(win.target, { all: true });
  assert.equal(await form.getByRole('alert').isVisible(), false);
  await scheduleRow(page, win.id).waitFor();
  assert.equal(await scheduleRow(page, win.id).locator('td.when').textContent(),
    `daily ${win.window.from}–${win.window.to} UTC`);
  await status(page, win.id, /^closed until .* UTC, 1 stopped/).waitFor({ timeout: 20000 });
  await rowState(page, demo.id, 'stopped');
  const closed = await f.job(demo.id);
  assert.equal(closed.stop.reason, 'schedule');
  assert.ok(closed.stop.comment && closed.stop.comment.includes(win.id), `comment: ${closed.stop.comment}`);

  // It opens: the job it stopped replicates again.
  await rowState(page, demo.id, 'replicating', windowOpensInMs + 60000);
  await status(page, win.id, /^open until .* UTC/).waitFor({ timeout: 20000 });

  // Delete both, each after the question.
  await remove(page, once.id, /fired at .* undoes nothing/);
  await remove(page, win.id, /is open: once it is deleted/);
  await section.getByText('No schedules').waitFor();
  assert.deepEqual((await f.api('GET', '/schedules')).body.schedules, []);
  assert.equal((await f.job(demo.id)).state, 'replicating');
  assert.deepEqual(page.errors, []);
});
