// The agents (GET /agents, docs/api.md): every enrolled agent and every agent heard from,
// online or not, with its last hello, host, version and movers. Online means heard within the
// OMA's patience (30 s), so the list is read again every few seconds, not only on changes.
import { time } from './format.js';

const every = 10000;

export class Agents {
  constructor(api) {
    this.api = api;
    this.section = document.getElementById('agents');
    this.body = document.querySelector('#agents-table tbody');
    this.note = document.getElementById('agents-note');
    this.timer = null;
  }

  /// Now, and then every few seconds while the page is open.
  async load() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), every);
    let agents;
    try {
      ({ agents } = await this.api.get('/agents'));
    } catch (err) {
      // An OMA without the endpoint has no agents to show; one that failed says why.
      if (err.status === 404) {
        this.section.hidden = true;
        return;
      }
      this.note.textContent = err.plain ? err.plain('Reading the agents') : String(err);
      return;
    }
    this.note.textContent = '';
    this.body.replaceChildren(...agents.map((a) => this.row(a)));
    this.section.hidden = false;
  }

  row(a) {
    const tr = document.createElement('tr');
    tr.dataset.id = a.id;
    tr.dataset.online = a.online ? 'yes' : 'no';
    let status = a.online ? 'online' : a.last_hello ? 'offline' : 'never seen';
    if (!a.enrolled) status += ', not enrolled';
    const cells = [
      a.builtin ? `${a.id} (built in)` : a.id,
      status,
      time(a.last_hello),
      a.host || '–',
      a.version || '–',
      String(a.movers ?? 0),
      a.enrolled_at ? time(a.enrolled_at) : '–',
    ];
    const classes = ['id', 'status', 'hello', 'host', 'version', 'movers', 'enrolled'];
    tr.append(...cells.map((text, i) => {
      const td = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) td.scope = 'row';
      td.className = classes[i];
      td.textContent = text;
      return td;
    }));
    return tr;
  }
}
