// format.js — how numbers are shown. The units and precision follow topology/format.go, so the
// page and `edge topology` print the same values.

/**
 * fixed formats x with d decimals as Go's %.*f does: to the nearest, and an exact tie to the
 * even digit (Number.prototype.toFixed rounds ties up: 150.25 → "150.3", Go prints "150.2").
 */
function fixed(x, d) {
  const exact = Math.abs(x).toFixed(d + 30); // the binary value's digits, far past the cut
  const dot = exact.indexOf('.');
  const keep = d > 0 ? dot + 1 + d : dot; // length of the digits kept
  if (/^50*$/.test(exact.slice(d > 0 ? keep : dot + 1))) {
    const kept = exact.slice(0, keep);
    if (Number(kept[kept.length - 1]) % 2 === 0) return (x < 0 ? '-' : '') + kept;
  }
  return x.toFixed(d);
}

/** fmtRate formats a rate in bytes per second as bits per second. */
function fmtRate(bytesPerSec) {
  const bits = (bytesPerSec || 0) * 8;
  if (bits >= 1e9) return fixed(bits / 1e9, 2) + ' Gbit/s';
  if (bits >= 1e6) return fixed(bits / 1e6, 2) + ' Mbit/s';
  if (bits >= 1e3) return fixed(bits / 1e3, 1) + ' kbit/s';
  return fixed(bits, 0) + ' bit/s';
}

/** fmtRTT formats a round trip in milliseconds; a dash before the first measurement. */
function fmtRTT(ms) {
  return ms > 0 ? fixed(ms, 1) + ' ms' : '–';
}

/** fmtLoss formats a loss percentage. */
function fmtLoss(percent) {
  return fixed(percent || 0, 1) + '%';
}

/** fmtUptime formats seconds with their two largest units ("3d4h", "2h5m", "4m10s", "12s"). */
function fmtUptime(seconds) {
  const s = Math.floor(seconds || 0);
  if (s < 1) return '–';
  const days = Math.floor(s / 86400), hours = Math.floor(s / 3600) % 24;
  const mins = Math.floor(s / 60) % 60, secs = s % 60;
  if (days > 0) return days + 'd' + hours + 'h';
  if (hours > 0) return hours + 'h' + mins + 'm';
  if (mins > 0) return mins + 'm' + secs + 's';
  return secs + 's';
}

/** fmtCPU formats a CPU percentage. */
function fmtCPU(percent) {
  return fixed(percent || 0, 1) + '%';
}

/** plural returns "1 track" or "2 tracks". */
function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}

/** fmtClock formats a time of day as HH:MM:SS in local time. */
function fmtClock(date) {
  const p = (n) => String(n).padStart(2, '0');
  return p(date.getHours()) + ':' + p(date.getMinutes()) + ':' + p(date.getSeconds());
}
