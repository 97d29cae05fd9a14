// The REST API as the page uses it: every call carries the token, and every refusal becomes an
// ApiError whose plain() says in words what happened and what the operator can do.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /// `what` names the action, e.g. "Stopping web-01 disk 0".
  plain(what) {
    const m = this.message ? this.message.replace(/\.?$/, '.') : '';
    switch (this.status) {
      case 0:
        return `${what} failed: the OMA cannot be reached. Is migratekit still running? The page reconnects by itself.`;
      case 401:
        return `${what} failed: the API token is missing or wrong. Open the link that migratekit up printed, or enter the token from the data folder's api-token file.`;
      case 404:
        return `${what} failed: it is not there (any more). ${m}`;
      case 409:
        return `${what} is not possible now: ${m}`;
      case 503:
        return `${what} was refused: ${m}`;
      case 400: case 413: case 415:
        return `${what} was refused as invalid: ${m}`;
      default:
        return `${what} failed: the OMA answered ${this.status}. ${m}`;
    }
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async request(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}` };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    } else if (method !== 'GET') {
      init.body = '';  // an empty POST still tells its length
    }
    let res;
    try {
      res = await fetch(`/api/v1${path}`, init);
    } catch {
      throw new ApiError(0, 'unreachable', 'the OMA cannot be reached');
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const e = data && data.error ? data.error : {};
      throw new ApiError(res.status, e.code || 'error', e.message || text.slice(0, 200));
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, body); }
  put(path, body) { return this.request('PUT', path, body); }
  delete(path) { return this.request('DELETE', path); }

  /// Every replication, page after page.
  async allJobs() {
    const jobs = [];
    let cursor = '';
    for (;;) {
      const page = await this.get(`/replications?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      jobs.push(...page.replications);
      if (!page.next_cursor) return jobs;
      cursor = page.next_cursor;
    }
  }
}

export const jobPath = (id) => `/replications/${encodeURIComponent(id)}`;
