// What every browser test needs: `migratekit up` as a process on a fresh data folder (real
// nats-server, nbdkit, movers; the demo source rate-limited so that a stop lands mid-copy),
// the REST API beside the page, and Debian's chromium driven by playwright-core. Everything
// started here is ended in `close()`, also when a test fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.error('playwright-core is missing: ./mk test installs it (npm ci in tests/ui)');
  process.exit(1);
}

const binary = process.env.MK_MIGRATEKIT;
if (!binary) {
  console.error('MK_MIGRATEKIT must name the migratekit binary (ctest sets it)');
  process.exit(1);
}
export const outDir = process.env.MK_UI_OUT || tmpdir();
mkdirSync(outDir, { recursive: true });

/// Waits until `check` returns something truthy; fails naming `what` after `timeout` ms.
export async function waitFor(what, check, timeout = 60000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(100);
  }
}

/// The pids of processes whose command line names `dir` (the movers, nbdkit and nats-server
/// that a run on that folder started).
function processesUnder(dir) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir)) out.push(Number(name));
    } catch { /* it ended meanwhile */ }
  }
  return out;
}

/// One run of `migratekit up` on `data`; `listen` may name the port of an earlier run.
class UpProcess {
  constructor(data, args, run) {
    this.data = data;
    this.log = '';
    this.out = '';
    this.child = spawn(binary, ['up', '--data', data, ...args], {
      detached: true,  // its own process group, as a shell runs it: SIGINT reaches all of it
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (d) => { this.out += d; });
    this.child.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.run = run;
  }

  async ready() {
    const line = await Promise.race([
      waitFor(`migratekit up to print its URL (log: ${this.log.slice(-2000)})`, () => {
        const m = /Web UI: (\S+)\n/.exec(this.out);
        return m && m[1];
      }),
      this.exited.then((s) => { throw new Error(`migratekit up ended (${JSON.stringify(s)}):\n${this.log}`); }),
    ]);
    const url = new URL(line);
    this.origin = url.origin;
    this.port = url.port;
    this.token = url.searchParams.get('token');
    this.pageUrl = line;
  }

  async interrupt(timeout = 60000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(-this.child.pid, 'SIGINT');
    // An unref'd timer: it must not keep node running once up has ended.
    const ended = await Promise.race([this.exited,
      new Promise((resolve) => setTimeout(resolve, timeout, null).unref())]);
    if (!ended) {
      process.kill(-this.child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`migratekit up did not shut down in ${timeout} ms:\n${this.log}`);
    }
  }
}

export class Fixture {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'mk-ui-'));
    this.data = join(this.dir, 'data');
    this.runs = [];
    this.browser = null;
  }

  /// `migratekit up` with a rate-limited demo job; `port` reuses an earlier run's address.
  async startUp({ size = '256M', rate = '16M', grace = '10', port = '0' } = {}) {
    const up = new UpProcess(this.data, ['--demo', '--demo-size', size, '--demo-rate', rate,
      '--grace', grace, '--listen', `127.0.0.1:${port}`], this.runs.length);
    this.runs.push(up);
    await up.ready();
    this.up = up;
    return up;
  }

  async api(method, path, body) {
    const init = { method, headers: { Authorization: `Bearer ${this.up.token}` } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    } else if (method !== 'GET') {
      init.body = '';
    }
    const res = await fetch(`${this.up.origin}/api/v1${path}`, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async jobs() {
    return (await this.api('GET', '/replications')).body.replications;
  }

  async job(id) {
    const r = await this.api('GET', `/replications/${id}`);
    return r.status === 200 ? r.body : null;
  }

  async waitJob(id, what, holds, timeout = 60000) {
    return waitFor(`job ${id} to be ${what}`, async () => {
      const j = await this.job(id);
      return j && holds(j) ? j : false;
    }, timeout);
  }

  /// SIGSTOP to the movers of this run; thaw(pids) sends SIGCONT. A stop then stays in
  /// `stopping` until the thaw, as with a mover whose writes take long to drain: a stop that
  /// abandons its reads is otherwise over before the page can show it under way.
  freezeMovers() {
    const pids = processesUnder(this.data).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1] === 'copy';
      } catch { return false; }
    });
    if (pids.length === 0) throw new Error('no mover to freeze');
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    return pids;
  }

  thaw(pids) {
    for (const pid of pids) {
      try { process.kill(pid, 'SIGCONT'); } catch { /* it ended */ }
    }
  }

  /// Enrols agent `id` (POST /agents) and runs `migratekit vma --join` with its join file, as
  /// on another host; the process is ended with the fixture's.
  async startAgent(id) {
    const r = await this.api('POST', '/agents', { id });
    if (r.status !== 201) throw new Error(`POST /agents ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    const file = join(this.dir, `${id}.join`);
    writeFileSync(file, JSON.stringify(r.body.join), { mode: 0o600 });
    const agent = spawn(binary, ['vma', '--join', file, '--data', join(this.dir, id)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent.log = '';
    agent.stderr.on('data', (d) => { agent.log += d; });
    return agent;
  }

  /// A new page on the printed URL, the token in it, as an operator opens it.
  async openPage() {
    if (!this.browser) {
      this.browser = await chromium.launch({
        executablePath: process.env.MK_CHROMIUM || '/usr/bin/chromium',
        // The flags keep chromium off the network: this machine's is closed.
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync'
        ],
      });
      this.context = await this.browser.newContext({ viewport: { width: 1280, height: 760 } });
    }
    const page = await this.context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    await page.goto(this.up.pageUrl);
    await page.waitForSelector('#connection[data-state="live"]');
    return page;
  }

  async close() {
    if (this.browser) {
      // The last look at each page, for a failure: BUILD/tests/ui/TEST-last-N.png.
      const name = basename(process.argv[1] || 'ui', '.test.mjs');
      const pages = this.context ? this.context.pages() : [];
      for (const [i, p] of pages.entries()) {
        await p.screenshot({ path: join(outDir, `${name}-last-${i}.png`) }).catch(() => {});
        const shown = await p.locator('[role="alert"]:visible').allTextContents().catch(() => []);
        if (shown.length) console.error(`page ${i} shows: ${shown.join(' | ')}`);
      }
      await this.browser.close().catch(() => {});
    }
    for (const up of this.runs) await up.interrupt().catch((e) => console.error(String(e)));
    for (const pid of processesUnder(this.dir)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (process.env.MK_UI_KEEP) console.error(`kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /// up's log, for a failure message.
  logs() {
    return this.runs.map((u, i) => `--- run ${i} ---\n${u.log}`).join('\n');
  }
}

/// The row of job `id` in the table.
export const row = (page, id) => page.locator(`#jobs tr[data-id="${id}"]`);

/// Waits until the row of `id` shows `state` (from the live feed: nothing reloads the page).
export async function rowState(page, id, state, timeout = 60000) {
  await page.waitForSelector(`#jobs tr[data-id="${id}"][data-state="${state}"]`, { timeout });
}
