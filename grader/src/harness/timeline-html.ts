import { htmlText, visibleLine } from '../sanitize.ts';
import type { TimelineEvent } from './transcript.ts';

export interface TimelineInput {
  readonly title: string;
  /** The test's file, stage and profile, on one line. */
  readonly subtitle: string;
  readonly events: readonly TimelineEvent[];
  /** Events left out between the first and the last ones the transcript keeps. */
  readonly omitted: number;
  readonly totals: ReadonlyMap<string, { readonly sent: number; readonly received: number }>;
  readonly durationMs: number;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; margin: 0; } .sub { color: #666; margin: 0.2em 0 1.5em; }
.lane { display: flex; align-items: center; margin: 0.3em 0; }
.name { width: 9em; flex: none; font-family: monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.track { position: relative; flex: 1; height: 56px; border-left: 1px solid #999; background: linear-gradient(#999, #999) 0 50% / 100% 1px no-repeat; }
.ev { position: absolute; width: 3px; }
.sent { background: #2563eb; bottom: 50%; } .received { background: #16a34a; top: 50%; }
.note { background: #9ca3af; top: 20%; height: 60%; width: 2px; }
.totals { width: 16em; flex: none; padding-left: 1em; color: #444; font-size: 0.9em; }
.axis { display: flex; justify-content: space-between; margin-left: 9em; margin-right: 16em; color: #666; font-size: 0.85em; }
.legend span { display: inline-block; width: 0.8em; height: 0.8em; margin: 0 0.3em 0 1em; vertical-align: middle; }
table { border-collapse: collapse; margin-top: 2em; font-size: 0.9em; } td, th { padding: 0.15em 0.6em; text-align: left; vertical-align: top; white-space: nowrap; }
td.data { font-family: monospace; white-space: pre-wrap; word-break: break-all; } tr:nth-child(even) { background: #f4f4f5; }
`;

/** Bar height in px for a number of bytes: logarithmic, so a byte and a megabyte both show. */
function barPx(bytes: number): number {
  return Math.max(3, Math.min(26, Math.round(3 + 3 * Math.log2(1 + bytes) * 0.8)));
}

/**
 * A failed test's transcript as a self-contained HTML page: one lane per connection, the bytes
 * each way over time (sent above the line, received below, notes as grey marks), then every
 * event in a table. Connection names, notes and bytes are untrusted: all of it goes through
 * htmlText, and the page's policy allows no script, no request and no frame whatever it held.
 */
export function renderTimelineHtml(input: TimelineInput): string {
  const spanMs = Math.max(1, input.durationMs, ...input.events.map((e) => e.atMs));
  const connections = [...new Set(input.events.map((e) => e.connection))];
  const pct = (atMs: number) => ((100 * atMs) / spanMs).toFixed(3);
  const arrow = { sent: '→ sent', received: '← received', note: 'note' } as const;
  const lanes = connections.map((connection) => {
    const marks = input.events
      .filter((e) => e.connection === connection)
      .map((e) => {
        const title = `${(e.atMs / 1000).toFixed(3)} s ${arrow[e.direction]}${e.direction === 'note' ? '' : ` ${e.length} bytes`}: ${e.text}`;
        const height = e.direction === 'note' ? '' : `height:${barPx(e.length)}px;`;
        return `<div class="ev ${e.direction}" style="left:${pct(e.atMs)}%;${height}" title="${htmlText(visibleLine(title, 600))}"></div>`;
      })
      .join('');
    const total = input.totals.get(connection);
    const totals = total ? `${total.sent} bytes sent, ${total.received} received` : '';
    return `<div class="lane"><div class="name" title="${htmlText(visibleLine(connection, 200))}">${htmlText(visibleLine(connection, 40))}</div><div class="track">${marks}</div><div class="totals">${totals}</div></div>`;
  });
  const rows = input.events.map(
    (e) =>
      `<tr><td>${(e.atMs / 1000).toFixed(3)} s</td><td>${htmlText(visibleLine(e.connection, 40))}</td><td>${arrow[e.direction]}</td><td>${e.direction === 'note' ? '' : e.length}</td><td class="data">${htmlText(e.direction === 'note' ? e.text : visibleLine(e.text, 600), { maxLines: 20, maxLineChars: 600 })}</td></tr>`,
  );
  const omitted = input.omitted > 0 ? `<p>${input.omitted} events between the first and the last ones are not kept.</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${htmlText(visibleLine(input.title, 200))}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${htmlText(visibleLine(input.title, 300))}</h1>
<p class="sub">${htmlText(visibleLine(input.subtitle, 300))}</p>
<p class="legend"><span style="background:#2563eb"></span>the test sent<span style="background:#16a34a"></span>the submission sent<span style="background:#9ca3af"></span>note</p>
${lanes.join('\n')}
<div class="axis"><span>0 s</span><span>${(spanMs / 2000).toFixed(3)} s</span><span>${(spanMs / 1000).toFixed(3)} s</span></div>
${omitted}
<table>
<tr><th>time</th><th>connection</th><th>direction</th><th>bytes</th><th>data (first bytes) or note</th></tr>
${rows.join('\n')}
</table>
</body>
</html>
`;
}
