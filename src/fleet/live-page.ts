// The seed's live page at http://<seed>:<port>/: every target of the fleet,
// redrawn from GET /targets every 2 s. Static files of its own (no network
// beyond the seed: the site has none), under a Content-Security-Policy that
// allows only them and requests to the seed. The secret stays in the URL's
// fragment (#<secret>), which a browser never sends: the page's script sends
// it as the Authorization header GET /targets takes. What targets said (MACs,
// phases, errors) is only ever set as text, never parsed as HTML.
import type { ServerResponse } from 'node:http';
import { INSTALLER_DEFAULTS } from '../protocol/installer-defaults.js';

// How often the page asks the seed (a fleet of 50 is 25 small requests a minute).
const POLL_MS = 2000;

export const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fleet: targets</title>
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body>
<h1>Fleet targets</h1>
<p id="status" role="status">Loading…</p>
<p id="summary"></p>
<table id="targets" hidden>
<thead><tr><th>MAC</th><th>State</th><th>Phase</th><th>Progress</th><th>Copied</th><th>Error / receipt</th></tr></thead>
<tbody></tbody>
</table>
<section id="receipt" hidden><h2></h2><p><a id="receipt-save">Save as file</a></p><pre></pre></section>
<noscript><p>This page needs JavaScript; <code>nixos-offline-installer fleet status</code> on the seed shows the same.</p></noscript>
</body>
</html>
`;

const CSS = `body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: 0.4em; text-align: left; vertical-align: top; }
td.mac { font-family: monospace; }
tr.failed td.state { color: #b00; font-weight: bold; }
tr.succeeded td.state { color: #070; font-weight: bold; }
.description, pre { white-space: pre-wrap; }
.problem { color: #b00; font-weight: bold; }
progress { width: 8em; }
`;

// Plain JavaScript for any browser of the last years; no template literals (this file holds it in one).
const SCRIPT = `'use strict';
(function () {
  var POLL_MS = ${POLL_MS};
  var LOG_DIR = ${JSON.stringify(INSTALLER_DEFAULTS.daemon.logDir)};
  var MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
  // As GET /targets takes it (src/fleet/secret.ts: printable ASCII); anything else is no secret.
  var secret = /^[!-~]{1,256}$/.test(location.hash.slice(1)) ? location.hash.slice(1) : '';
  var statusLine = document.getElementById('status');
  var summary = document.getElementById('summary');
  var table = document.getElementById('targets');
  var body = table.querySelector('tbody');
  var receipt = document.getElementById('receipt');
  var lastGood = null;
  var lastText = null;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function auth() { return { Authorization: 'Bearer ' + secret }; }
  function size(n) {
    if (typeof n !== 'number' || !(n >= 0)) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
  }
  function problem(text) {
    statusLine.textContent = text;
    statusLine.className = 'problem';
  }

  function progressCell(t) {
    var cell = el('td', null, 'progress');
    var fraction = typeof t.fraction === 'number' ? Math.min(1, Math.max(0, t.fraction)) : 0;
    var bar = el('progress');
    bar.max = 1;
    bar.value = fraction;
    cell.appendChild(bar);
    cell.appendChild(el('span', ' ' + Math.round(fraction * 100) + ' %'));
    return cell;
  }
  function copiedCell(t) {
    var text = size(t.bytesCopied);
    if (typeof t.copyStartedMs === 'number' && typeof t.copyEndedMs === 'number' && t.copyEndedMs > t.copyStartedMs)
      text += ' in ' + Math.round((t.copyEndedMs - t.copyStartedMs) / 1000) + ' s';
    return el('td', text, 'copied');
  }
  // A failed target: what went wrong and where to read more; a succeeded one: its receipt.
  function detailCell(t) {
    var cell = el('td', null, 'detail');
    if (t.error && typeof t.error === 'object') {
      cell.appendChild(el('strong', t.error.title, 'title'));
      cell.appendChild(el('div', t.error.description, 'description'));
      if (t.error.field) cell.appendChild(el('div', 'Field: ' + t.error.field, 'field'));
      cell.appendChild(el('div', 'More: the target\\'s console and ' + LOG_DIR + ' on the target; on the seed, journalctl -u nixos-offline-installer and any check log named above.', 'logs'));
    }
    if (t.state === 'succeeded' && t.receipt && MAC.test(t.mac)) {
      // A button, not a link: the receipt needs the secret's header, which a followed link would not send.
      var button = el('button', 'Receipt', 'receipt');
      button.type = 'button';
      button.dataset.mac = t.mac;
      button.title = 'Kept on the seed as ' + t.receipt;
      button.addEventListener('click', function () { showReceipt(t.mac); });
      cell.appendChild(button);
      cell.appendChild(el('div', t.receipt, 'receipt-path'));
    }
    return cell;
  }
  function row(t) {
    var tr = el('tr', null, typeof t.state === 'string' ? t.state : '');
    tr.dataset.mac = String(t.mac);
    tr.appendChild(el('td', t.mac, 'mac'));
    tr.appendChild(el('td', t.state, 'state'));
    tr.appendChild(el('td', t.phase, 'phase'));
    tr.appendChild(progressCell(t));
    tr.appendChild(copiedCell(t));
    tr.appendChild(detailCell(t));
    return tr;
  }
  function render(targets) {
    var counts = {};
    var rows = targets.map(function (t) { counts[t.state] = (counts[t.state] || 0) + 1; return row(t); });
    body.replaceChildren.apply(body, rows);
    table.hidden = targets.length === 0;
    summary.textContent = targets.length === 0 ? 'No target has registered yet: network-boot the machines on the fleet\\'s network.'
      : targets.length + ' targets: ' + Object.keys(counts).map(function (s) { return counts[s] + ' ' + s; }).join(', ');
  }
  function shown() {
    lastGood = new Date();
    statusLine.className = '';
    statusLine.textContent = 'Updated ' + lastGood.toLocaleTimeString() + ' (every ' + POLL_MS / 1000 + ' s).';
  }

  function showReceipt(mac) {
    fetch('/receipts/' + mac + '.json', { headers: auth(), cache: 'no-store' })
      .then(function (r) { return r.text().then(function (text) { return { ok: r.ok, text: text }; }); })
      .then(function (answer) {
        receipt.hidden = false;
        receipt.querySelector('h2').textContent = 'Receipt of ' + mac;
        receipt.querySelector('pre').textContent = answer.text;
        var save = document.getElementById('receipt-save');
        save.hidden = !answer.ok;
        if (answer.ok) {
          save.href = URL.createObjectURL(new Blob([answer.text], { type: 'application/json' }));
          save.download = 'receipt-' + mac.replace(/:/g, '') + '.json';
        }
        receipt.scrollIntoView();
      })
      .catch(function () { problem('The seed did not answer for the receipt of ' + mac + '.'); });
  }

  function poll() {
    fetch('/targets', { headers: auth(), cache: 'no-store' })
      .then(function (r) {
        if (r.status === 403) throw new Error('secret');
        if (!r.ok) throw new Error('status ' + r.status);
        return r.text();
      })
      .then(function (text) {
        // Redrawn only when something changed: text the technician is selecting (an error to copy) stays put.
        var targets = JSON.parse(text).targets;
        if (text !== lastText) render(Array.isArray(targets) ? targets : []);
        lastText = text;
        shown();
      })
      .then(function () { setTimeout(poll, POLL_MS); }, function (error) {
        // A wrong secret does not become right by asking again (and each refusal is a line in the seed's journal).
        if (error.message === 'secret') return problem('The seed refused this page\\'s secret (an older fleet\\'s?): open the address fleet serve printed, http://<seed>:<port>/#<secret>.');
        problem('The seed does not answer' + (lastGood ? ' (last answer ' + lastGood.toLocaleTimeString() + ')' : '') + ': is fleet serve still running? Trying again.');
        setTimeout(poll, POLL_MS);
      });
  }

  if (!secret) problem('This address lacks the fleet\\'s secret: open the one fleet serve printed, http://<seed>:<port>/#<secret>.');
  else poll();
})();
`;

export const PAGE_FILES: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: HTML },
  '/page.js': { type: 'text/javascript; charset=utf-8', body: SCRIPT },
  '/page.css': { type: 'text/css; charset=utf-8', body: CSS },
};

// The page's files need no secret (they hold none); true when PATH was one of them.
export function servePage(path: string, response: ServerResponse): boolean {
  const file = PAGE_FILES[path];
  if (!file) return false;
  response.writeHead(200, {
    'content-type': file.type,
    'content-length': Buffer.byteLength(file.body),
    'content-security-policy': PAGE_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  response.end(file.body);
  return true;
}
