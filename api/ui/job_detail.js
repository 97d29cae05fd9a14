// The detail panel of one replication: its fields, its stop, and its JobLog (the audit trail),
// read again when the job changes (at most once a second) while the panel is open.
import { jobPath } from './api.js';
import { bytes, clock, progressText, time } from './format.js';

function detailText(detail) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ');
}

export class JobDetail {
  constructor(api) {
    this.api = api;
    this.panel = document.getElementById('detail');
    this.id = null;
    this.timer = null;
    this.lastLoad = 0;
    document.getElementById('detail-close').addEventListener('click', () => this.close());
  }

  open(job) {
    this.id = job.id;
    this.panel.hidden = false;
    this.show(job);
    this.loadLog();
    document.getElementById('detail-close').focus();
  }

  close() {
    this.id = null;
    this.panel.hidden = true;
  }

  /// The job changed (live feed): new fields now, the JobLog again soon.
  changed(job) {
    if (!this.id || job.id !== this.id) return;
    this.show(job);
    if (this.timer) return;
    const wait = Math.max(0, 1000 - (Date.now() - this.lastLoad));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.loadLog();
    }, wait);
  }

  removed(id) {
    if (id !== this.id) return;
    document.getElementById('detail-log-note').textContent =
      'This replication was deleted; its JobLog is kept.';
    this.loadLog();
  }

  show(job) {
    document.getElementById('detail-title').textContent = job.name;
    const v = job.volume || {};
    const s = job.stop;
    const fields = [
      ['Id', job.id],
      ['State', job.state + (job.resumable ? ' (resumable)' : '')],
      ['Source', job.source],
      ['VMA', job.vma],
      ['Volume', [v.id, v.state, v.size ? bytes(v.size) : null, v.path].filter(Boolean).join(' · ')],
      ['Progress', progressText(job.progress, job.state === 'replicating') || '–'],
      ['Error', job.error || '–'],
      ['Stop', s ? `${s.id}: ${s.mode}, volume ${s.volumes}, reason ${s.reason}` +
        `${s.comment ? `, “${s.comment}”` : ''}, asked by ${s.requested_by} at ${time(s.requested_at)}` +
        `${s.settled_at ? `, settled at ${time(s.settled_at)}` : ''}` : '–'],
      ['Created', time(job.created_at)],
      ['Updated', time(job.updated_at)],
    ];
    const dl = document.getElementById('detail-fields');
    dl.replaceChildren(...fields.flatMap(([k, val]) => [
      Object.assign(document.createElement('dt'), { textContent: k }),
      Object.assign(document.createElement('dd'), { textContent: val }),
    ]));
    document.getElementById('detail-log-note').textContent = '';
  }

  async loadLog() {
    const id = this.id;
    if (!id) return;
    this.lastLoad = Date.now();
    const body = document.getElementById('detail-log');
    try {
      const log = await this.api.get(`${jobPath(id)}/log`);
      if (id !== this.id) return;
      body.replaceChildren(...log.entries.map((e) => {
        const tr = document.createElement('tr');
        tr.dataset.event = e.event;
        for (const text of [clock(e.ts), e.event, e.actor || '', detailText(e.detail)]) {
          tr.append(Object.assign(document.createElement('td'), { textContent: text }));
        }
        return tr;
      }));
    } catch (err) {
      if (id !== this.id) return;
      document.getElementById('detail-log-note').textContent =
        err.plain ? err.plain('Reading the JobLog') : String(err);
    }
  }
}
