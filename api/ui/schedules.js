// The Schedules section (docs/operations.md): one-shot actions and daily replication windows, read
// once at each (re)connection and then kept current by `event: schedules` on /events, which
// carries the whole list after every change. An OMA without the endpoint leaves it hidden.
// Each row is built once and updated in place, so that a live update never takes the keyboard
// focus from a Delete button.
import { ScheduleDeleteDialog } from './schedule_delete.js';
import { ScheduleForm } from './schedule_form.js';
import { time, utc } from './format.js';

const actionNames = {
  stop: 'Stop',
  resume: 'Resume',
  maintenance_on: 'Maintenance on',
  maintenance_off: 'Maintenance off',
};

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/// The words of one schedule; `jobName(id)` is the job's name where the page knows the job.
export function describe(s, jobName) {
  const t = s.target || {};
  let target = '–';
  let targetId = '';
  if (t.all) target = 'every job';
  else if (t.vma) target = `agent ${t.vma}`;
  else if (t.job) {
    const name = jobName(t.job);
    target = `job ${name || t.job}`;
    if (name) targetId = t.job;
  }
  const stopped = s.stopped || [];
  const stoppedNames = stopped.map((id) => jobName(id) || id);
  if (s.kind === 'window') {
    const w = s.window || {};
    const until = s.next_change_at ? ` until ${utc(s.next_change_at)}` : '';
    return {
      what: 'Daily window',
      target,
      targetId,
      when: `daily ${w.from}–${w.to} ${s.timezone || 'UTC'}`,
      whenNote: '',
      state: s.open ? 'open' : 'closed',
      status: s.open ? `open${until}` : `closed${until}, ${stopped.length} stopped`,
      statusNote: stopped.length ? `stopped: ${stoppedNames.join(', ')}` : '',
      stoppedNames,
    };
  }
  const fired = s.state === 'fired';
  const jobs = (s.result && s.result.jobs) || [];
  return {
    what: actionNames[s.action] || s.action,
    target,
    targetId,
    when: utc(s.at),
    whenNote: `your time: ${time(s.at)}`,
    state: s.state,
    status: fired ? `fired at ${utc(s.fired_at)}: ${plural(jobs.length, 'job')}` : s.state,
    statusNote: fired && s.result && s.result.detail ? String(s.result.detail) : '',
    stoppedNames,
  };
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

export class Schedules {
  /// `jobName(id)`: a job's name or undefined; `jobs()`: the page's jobs, newest first.
  constructor(api, { jobName, jobs }) {
    this.api = api;
    this.jobName = jobName;
    this.jobs = jobs;
    this.section = document.getElementById('schedules');
    this.table = document.getElementById('schedules-table');
    this.tbody = this.table.querySelector('tbody');
    this.empty = document.getElementById('schedules-empty');
    this.note = document.getElementById('schedules-note');
    this.list = [];
    this.rows = new Map();
    this.names = new Map();  // the job names the rows and the form's job list were made with
    this.generation = 0;  // counts the lists from the feed: a later one beats a slower GET
    this.form = new ScheduleForm(api, {
      vmas: () => [...new Set(this.jobs().map((j) => j.vma))].sort(),
      onAdded: (s) => {
        // The feed may have brought it (and newer news of it) already: keep that.
        if (!this.list.some((x) => x.id === s.id)) this.show([...this.list, s]);
      },
    });
    this.deleteDialog = new ScheduleDeleteDialog(api, {
      describe: (s) => describe(s, this.jobName),
      onDeleted: (s) => this.show(this.list.filter((x) => x.id !== s.id)),
    });
  }

  async load() {
    const generation = this.generation;
    let answer;
    try {
      answer = await this.api.get('/schedules');
    } catch (err) {
      if (err.status === 404) {
        this.section.hidden = true;  // this OMA does not offer schedules
        return;
      }
      this.note.textContent = err.plain ? err.plain('Reading the schedules') : String(err);
      this.section.hidden = false;
      return;
    }
    this.note.textContent = '';
    if (generation === this.generation) this.show(answer.schedules || []);
  }

  /// The whole list from `event: schedules`.
  fromFeed(data) {
    this.generation += 1;
    this.note.textContent = '';
    this.show((data && data.schedules) || []);
  }

  show(list) {
    this.list = list;
    this.section.hidden = false;
    const ids = new Set(list.map((s) => s.id));
    for (const [id, row] of this.rows) {
      if (!ids.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    let cursor = this.tbody.firstElementChild;
    for (const s of list) {
      let row = this.rows.get(s.id);
      if (!row) {
        row = this.build(s.id);
        this.rows.set(s.id, row);
      }
      this.update(row, s);
      if (row.tr === cursor) cursor = cursor.nextElementSibling;
      else this.tbody.insertBefore(row.tr, cursor);
    }
    this.table.hidden = list.length === 0;
    this.empty.hidden = list.length > 0;
  }

  /// After the jobs `ids` changed: only a job that came, went or was renamed changes the
  /// names shown here (progress updates arrive twice a second per job and change nothing).
  jobsChanged(ids) {
    if (!ids.some((id) => this.names.get(id) !== this.jobName(id))) return;
    const jobs = this.jobs();
    this.names = new Map(jobs.map((j) => [j.id, j.name]));
    this.form.fillJobs(jobs);
    if (this.list.length) this.show(this.list);
  }

  build(id) {
    const tr = el('tr');
    tr.dataset.id = id;
    const cells = ['what', 'target', 'when', 'status', 'actions'].map((c) => el('td', c));
    const del = el('button', 'danger', 'Delete');
    del.type = 'button';
    del.setAttribute('aria-label', `Delete schedule ${id}`);
    del.addEventListener('click', () => {
      const s = this.list.find((x) => x.id === id);
      if (s) this.deleteDialog.open(s);
    });
    cells[4].append(del);
    tr.append(...cells);
    return { tr, cells, key: '' };
  }

  update(row, s) {
    const d = describe(s, this.jobName);
    const key = JSON.stringify(d);
    if (key === row.key) return;
    row.key = key;
    row.tr.dataset.kind = s.kind;
    row.tr.dataset.state = d.state;
    const [what, target, when, status] = row.cells;
    what.replaceChildren(d.what, el('div', 'muted id', s.id));
    target.replaceChildren(d.target, ...(d.targetId ? [el('div', 'muted id', d.targetId)] : []));
    when.replaceChildren(d.when, ...(d.whenNote ? [el('span', 'note', d.whenNote)] : []));
    status.replaceChildren(d.status, ...(d.statusNote ? [el('span', 'note', d.statusNote)] : []));
  }
}
