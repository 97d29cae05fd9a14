// Stop analytics (GET /analytics/stops, docs/operations.md), read again after stops settle. An OMA
// without the endpoint leaves the section hidden.
import { bytes, duration } from './format.js';

export class Analytics {
  constructor(api) {
    this.api = api;
    this.section = document.getElementById('analytics');
    this.figures = document.getElementById('analytics-figures');
    this.timer = null;
  }

  /// Soon, and not more than once every two seconds however many stops settle.
  refreshSoon() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.load();
    }, 2000);
  }

  async load() {
    let a;
    try {
      a = await this.api.get('/analytics/stops');
    } catch {
      this.section.hidden = true;
      return;
    }
    const counts = (o) => Object.entries(o || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const ms = (v) => (v === null || v === undefined ? '–' : v < 1000 ? `${v} ms` : duration(v / 1000));
    const d = a.duration_ms || {};
    const rows = [
      ['Stops', String(a.stops ?? 0)],
      ['By reason', counts(a.by_reason)],
      ['By outcome', counts(a.by_outcome)],
      ['Force kills', String(a.force_kills ?? 0)],
      ['Stop duration', `p50 ${ms(d.p50)} · p95 ${ms(d.p95)} · max ${ms(d.max)}`],
      ['Copied again after resumes', bytes(a.bytes_recopied ?? 0)],
    ];
    this.figures.replaceChildren(...rows.flatMap(([k, v]) => [
      Object.assign(document.createElement('dt'), { textContent: k }),
      Object.assign(document.createElement('dd'), { textContent: v }),
    ]));
    this.section.hidden = false;
  }
}
