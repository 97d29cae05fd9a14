// Numbers as an operator reads them: bytes in binary units, rates, time left, local times.

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function rate(bytesPerSecond) {
  return bytesPerSecond > 0 ? `${bytes(bytesPerSecond)}/s` : '';
}

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} days`;
}

/// "12.0 MiB of 32.0 MiB · 1.00 MiB/s · 20 s left", from a job's progress object; the rate and
/// the time left only while the copy runs.
export function progressText(p, running = true) {
  if (!p) return '';
  const parts = [`${bytes(p.bytes_done)} of ${bytes(p.bytes_total)}`];
  if (running && p.rate_bps > 0) {
    parts.push(rate(p.rate_bps));
    if (p.bytes_total > p.bytes_done) parts.push(`${duration((p.bytes_total - p.bytes_done) / p.rate_bps)} left`);
  }
  return parts.join(' · ');
}

export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/// The time of day with milliseconds: JobLog entries are often less than a second apart.
export function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/// "2026-11-29 22:00:00 UTC": the OMA's schedules count in UTC, so the page says them so.
export function utc(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const s = d.toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 19)} UTC`;
}

/// A datetime-local input's value (the browser's local time, no offset) as RFC 3339 UTC
/// without fractions, "2026-11-29T21:00:00Z"; null when it is not a time.
export function localToUtc(value) {
  if (!value) return null;
  const d = new Date(value);  // a date and time without an offset is local time (ECMA-262)
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d+Z$/, 'Z');
}
