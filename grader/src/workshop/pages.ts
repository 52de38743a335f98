/**
 * The workshop's three pages: the board for the room, a team's own page, the facilitator's
 * controls. Each is one self-contained document (inline style and script, no external asset:
 * a workshop's network may have no internet). Everything shown comes from the server's JSON and
 * is put in the page with textContent, never as markup, so no team name or message can inject
 * anything. Tokens travel in the URL's fragment (`#token=...`), which browsers never send to a
 * server, and from there only in an Authorization header.
 */

const STYLE = `
:root { color-scheme: dark; --bg: #000; --fg: #fff; --dim: #b8b8b8; --pass: #3ddc84; --fail: #ff5c5c; --error: #c9a0ff;
  --busy: #ffd24d; --line: #444; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; background: var(--bg); color: var(--fg); font-size: 1.05rem; line-height: 1.35; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
.sub { color: var(--dim); margin: 0 0 1rem; }
.banner { background: var(--busy); color: #000; font-weight: 700; padding: .4rem .8rem; border-radius: .3rem; display: inline-block; margin: 0 0 .8rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; min-width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .45rem .6rem; text-align: left; vertical-align: middle; white-space: nowrap; }
th { color: var(--dim); font-weight: 600; font-size: .9em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; font-weight: 700; }
td.team { font-weight: 700; }
.cell { display: inline-block; min-width: 4.5em; padding: .15rem .45rem; border-radius: .3rem; border: 2px solid var(--line); font-variant-numeric: tabular-nums; }
.cell.pass { border-color: var(--pass); color: var(--pass); }
.cell.fail { border-color: var(--fail); color: var(--fail); }
.cell.error { border-color: var(--error); color: var(--error); }
.cell.grading, .cell.queued { border-color: var(--busy); color: var(--busy); border-style: dashed; }
.first::after { content: " \\2605"; color: var(--busy); }
.strip { display: inline-flex; gap: 2px; flex-wrap: wrap; max-width: 16rem; }
.strip span { width: .7rem; height: 1.1rem; border-radius: 2px; background: var(--line); }
.strip .pass { background: var(--pass); } .strip .fail { background: var(--fail); } .strip .error { background: var(--error); }
nav { margin: 0 0 .8rem; display: flex; gap: .4rem; flex-wrap: wrap; }
nav a, button { color: var(--fg); background: #222; border: 1px solid var(--line); border-radius: .3rem; padding: .35rem .7rem; font: inherit; text-decoration: none; cursor: pointer; }
nav a[aria-current] { background: var(--fg); color: var(--bg); }
.legend, footer { color: var(--dim); font-size: .9em; margin-top: 1rem; }
.status { color: var(--dim); }
pre { white-space: pre-wrap; word-break: break-word; background: #111; border: 1px solid var(--line); padding: .6rem; border-radius: .3rem; font-size: .9em; }
details { border-bottom: 1px solid var(--line); padding: .5rem 0; }
summary { cursor: pointer; font-weight: 600; }
input, select { font: inherit; padding: .35rem; background: #111; color: var(--fg); border: 1px solid var(--line); border-radius: .3rem; }
.error-text { color: var(--fail); }
body.projector { font-size: clamp(1.1rem, 1.9vw, 2.6rem); padding: 1.5vw; }
body.projector h1 { font-size: 1.5em; }
body.projector .legend, body.projector footer { display: none; }
@media (max-width: 640px) { body { padding: .5rem; font-size: 1rem; } th, td { padding: .35rem .4rem; } .strip { max-width: 8rem; } }
`;

function page(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script>
"use strict";
${SHARED_SCRIPT}
${script}
</script>
</body>
</html>
`;
}

/** Only for the server-side title; everything else reaches the page as JSON and textContent. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Helpers every page uses: element building with text only, and a clock. */
const SHARED_SCRIPT = `
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value; else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  return node;
}
function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
function fragmentToken() {
  const match = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  return match ? decodeURIComponent(match[1]) : undefined;
}
function roundName(round) { return 'round ' + round.id + ' · ' + (round.profile || 'each exercise\\'s own profile'); }
`;

/** The room's board: `/` (add `?projector` for the big screen, `?round=N` for a past round). */
export function boardPage(title: string): string {
  return page(
    title,
    `<h1 id="title"></h1>
<p class="sub"><span id="round"></span> · <span id="queue" class="status"></span> · <span id="conn" class="status">connecting…</span></p>
<div id="frozen" class="banner" hidden></div>
<nav id="rounds" aria-label="rounds"></nav>
<div class="scroll"><table id="board" aria-live="polite"><thead></thead><tbody></tbody></table></div>
<p class="legend">Each cell: the team's best points in this round and its stages passed; its colour is the latest grade
(green passes, red fails, violet a grader error, dashed yellow waiting or being graded). ★ the first team of the round to pass.
The strip: every graded submission of the round, oldest first.</p>`,
    `
const params = new URLSearchParams(location.search);
if (params.has('projector')) document.body.classList.add('projector');
const wanted = params.get('round');
function render(board) {
  document.title = board.title;
  document.getElementById('title').textContent = board.title;
  const showing = board.round;
  document.getElementById('round').textContent = roundName(showing) + (showing.id === board.current ? '' : ' (an earlier round)');
  document.getElementById('queue').textContent = board.queue.waiting + ' waiting, ' + board.queue.grading + ' being graded';
  const frozen = document.getElementById('frozen');
  frozen.hidden = !board.frozenAt;
  frozen.textContent = board.frozenAt ? 'Standings frozen at ' + clock(board.frozenAt) + ': grades since then are revealed at the end' : '';
  const nav = document.getElementById('rounds');
  nav.replaceChildren(...(board.rounds.length > 1 ? board.rounds.map((r) => {
    const link = el('a', { href: '?' + new URLSearchParams({ ...(params.has('projector') ? { projector: '' } : {}), round: String(r.id) }), 'aria-current': r.id === showing.id ? 'page' : undefined }, 'round ' + r.id + (r.profile ? ' · ' + r.profile : ''));
    return link;
  }) : []));
  const head = el('tr', {}, el('th', {}, '#'), el('th', {}, 'team'), el('th', {}, 'points'),
    ...board.exercises.map((e) => el('th', { title: e.title }, e.id)), el('th', {}, 'history'), el('th', {}, 'last upload'));
  document.querySelector('#board thead').replaceChildren(head);
  const rows = board.rows.map((row, index) => {
    const cells = board.exercises.map((e) => {
      const c = row.cells[e.id];
      if (!c) return el('td', {}, el('span', { class: 'cell' }, '–'));
      const label = c.latest === 'queued' ? 'waiting' : c.latest === 'grading' ? 'grading' : c.points + '/' + c.maxPoints;
      const text = label + ' · ' + c.stagesPassed + '/' + e.stageCount;
      return el('td', { 'data-exercise': e.id }, el('span', { class: 'cell ' + c.latest + (c.first ? ' first' : ''), 'data-points': c.points, title: c.latest }, text));
    });
    const strip = el('span', { class: 'strip', 'aria-label': row.history.map((h) => h.status).join(' ') },
      ...row.history.slice(-40).map((h) => el('span', { class: h.status, title: '#' + h.id + ' ' + h.exercise + ': ' + h.status })));
    return el('tr', { 'data-team': row.team }, el('td', { class: 'num' }, index + 1), el('td', { class: 'team' }, row.team),
      el('td', { class: 'num', 'data-role': 'points' }, row.points), ...cells, el('td', {}, strip), el('td', { class: 'status' }, clock(row.lastSubmittedAt)));
  });
  document.querySelector('#board tbody').replaceChildren(...rows);
}
const conn = document.getElementById('conn');
const source = new EventSource('/api/events' + (wanted ? '?round=' + encodeURIComponent(wanted) : ''));
source.addEventListener('update', (event) => { conn.textContent = 'live'; render(JSON.parse(event.data)); });
source.addEventListener('error', () => { conn.textContent = 'reconnecting…'; });
`,
  );
}

/** A team's own page: `/team/NAME#token=TOKEN`. */
export function teamPage(): string {
  return page(
    'netkata: your submissions',
    `<h1 id="title">Your submissions</h1>
<p class="sub"><span id="conn" class="status"></span></p>
<p id="problem" class="error-text" hidden></p>
<div id="list"></div>
<footer>Only your team sees this page: it needs your token, which stays in this tab (the part after # is never sent to the server).
Submit with <code>netkata submit</code>; this page updates by itself.</footer>`,
    `
const team = decodeURIComponent(location.pathname.split('/').pop());
const token = fragmentToken() || sessionStorage.getItem('netkata-token:' + team);
if (token) sessionStorage.setItem('netkata-token:' + team, token);
history.replaceState(null, '', location.pathname);
document.getElementById('title').textContent = 'Team ' + team + ': your submissions';
const problem = document.getElementById('problem');
async function load() {
  if (!token) { problem.hidden = false; problem.textContent = 'Open the link with your token: /team/' + team + '#token=YOUR_TOKEN (from your join command).'; return; }
  const response = await fetch('/api/teams/' + encodeURIComponent(team) + '/submissions', { headers: { authorization: 'Bearer ' + token } });
  const body = await response.json();
  if (!response.ok) { problem.hidden = false; problem.textContent = body.error; return; }
  problem.hidden = true;
  const open = new Set([...document.querySelectorAll('details[open]')].map((d) => d.dataset.id));
  document.getElementById('list').replaceChildren(...body.map(({ submission: s, text }, index) => {
    const state = s.status === 'queued' ? 'waiting (position ' + s.position + ')' : s.status === 'grading' ? 'being graded' :
      s.status === 'replaced' ? 'replaced by a newer upload' : s.status + (s.points !== null ? ', ' + s.points + '/' + s.maxPoints + ' points' : '');
    const details = el('details', { 'data-id': s.id, open: open.has(String(s.id)) || (open.size === 0 && index === 0) ? true : undefined },
      el('summary', {}, '#' + s.id + ' ' + s.exercise + ' · round ' + s.round + ' · ' + clock(s.submittedAt) + ' · ' + state));
    if (s.message) details.append(el('p', { class: 'error-text' }, s.message));
    if (text) details.append(el('pre', {}, text));
    return details;
  }));
}
// The board's stream says when anything changed: the page then reads its own list again. No polling.
const conn = document.getElementById('conn');
const source = new EventSource('/api/events');
let loading = Promise.resolve();
source.addEventListener('update', () => { conn.textContent = 'live'; loading = loading.then(load).catch((e) => { problem.hidden = false; problem.textContent = String(e); }); });
source.addEventListener('error', () => { conn.textContent = 'reconnecting…'; });
`,
  );
}

/** The facilitator's controls: `/admin#token=ADMIN_TOKEN`. */
export function adminPage(profiles: readonly string[]): string {
  return page(
    'netkata workshop: facilitator',
    `<h1>Facilitator</h1>
<p class="sub"><span id="round"></span> · <span id="status" class="status"></span></p>
<p id="problem" class="error-text" hidden></p>
<h2>Round</h2>
<p>Start a new round under a harder link: results of each round are kept apart, the board shows the new one.</p>
<p><select id="profile" aria-label="profile"></select> <button id="start-round">Start round</button></p>
<h2>Standings</h2>
<p><button id="freeze">Freeze the board</button> <button id="reveal">Reveal</button> <a id="board-link" href="/">open the board</a> · <a href="/?projector">projector view</a></p>
<h2>Teams</h2>
<p><input id="team" placeholder="team name" aria-label="team name" autocomplete="off"> <button id="add-team">Add team (or new token)</button></p>
<pre id="join" hidden></pre>
<h2>Gradebook</h2>
<p><button data-format="csv">CSV, whole workshop</button> <button data-format="json">JSON, whole workshop</button> <button data-format="csv" data-round="current">CSV, this round</button></p>`,
    `
const token = fragmentToken() || sessionStorage.getItem('netkata-admin');
if (token) sessionStorage.setItem('netkata-admin', token);
history.replaceState(null, '', location.pathname);
const problem = document.getElementById('problem');
const show = (message) => { problem.hidden = !message; problem.textContent = message || ''; };
if (!token) show('Open this page as /admin#token=ADMIN_TOKEN (printed by netkata workshop serve, kept in the workshop folder as admin-token).');
const select = document.getElementById('profile');
for (const p of ${JSON.stringify(profiles)}) select.append(el('option', { value: p }, p === 'manifest' ? 'manifest (each exercise\\'s own)' : p));
async function call(method, url, body) {
  const response = await fetch(url, { method, headers: { authorization: 'Bearer ' + token, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!response.ok) { const text = await response.text(); let message = text; try { message = JSON.parse(text).error; } catch {} throw new Error(message); }
  show('');
  return response;
}
const guard = (work) => () => work().catch((e) => show(e.message));
let current;
document.getElementById('start-round').onclick = guard(() => call('POST', '/api/admin/round', { profile: select.value }));
document.getElementById('freeze').onclick = guard(() => call('POST', '/api/admin/freeze'));
document.getElementById('reveal').onclick = guard(() => call('POST', '/api/admin/reveal'));
document.getElementById('add-team').onclick = guard(async () => {
  const name = document.getElementById('team').value.trim();
  const { token: teamToken, outcome } = await (await call('POST', '/api/admin/teams', { name })).json();
  const join = document.getElementById('join');
  join.hidden = false;
  join.textContent = (outcome === 'rotated' ? 'New token for ' + name + ' (the old one no longer works):\\n' : 'Team ' + name + ' joins with:\\n') +
    'npx netkata submit --to ' + location.origin + ' --team ' + name + ' --token ' + teamToken + '\\n' +
    'Its page: ' + location.origin + '/team/' + name + '#token=' + teamToken;
});
for (const button of document.querySelectorAll('button[data-format]')) {
  button.onclick = guard(async () => {
    const query = new URLSearchParams({ format: button.dataset.format, ...(button.dataset.round && current ? { round: String(current) } : {}) });
    const blob = await (await call('GET', '/api/admin/gradebook?' + query)).blob();
    const link = el('a', { href: URL.createObjectURL(blob), download: 'gradebook' + (query.get('round') ? '-round-' + query.get('round') : '') + '.' + button.dataset.format });
    document.body.append(link); link.click(); link.remove();
  });
}
const source = new EventSource('/api/events');
source.addEventListener('update', (event) => {
  const board = JSON.parse(event.data);
  current = board.current;
  document.getElementById('round').textContent = roundName(board.round);
  document.getElementById('status').textContent = board.rows.length + ' teams · ' + board.queue.waiting + ' waiting · ' + board.queue.grading + ' being graded' + (board.frozenAt ? ' · board frozen at ' + clock(board.frozenAt) : '');
});
`,
  );
}
