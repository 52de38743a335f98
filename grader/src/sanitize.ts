import { randomBytes } from 'node:crypto';

/**
 * The one place that makes learner-derived text (server logs, build output, a client's stderr,
 * transcripts, error messages that quote what a submission sent) safe to show. Every reporter
 * uses it: the text is data, so nothing in it may be interpreted by a terminal (escape
 * sequences, C1 controls, a bare CR redrawing a line, BiDi overrides), by a CI runner (workflow
 * commands) or by an XML parser (characters XML 1.0 cannot carry). Nothing is dropped silently:
 * what cannot be shown is shown as an escape (`\x1b`, `\u202e`), so the learner still sees
 * exactly what their program printed.
 */

/** How much of one untrusted text a report carries. */
export interface TextBounds {
  readonly maxLines?: number;
  readonly maxLineChars?: number;
}

const DEFAULT_BOUNDS = { maxLines: 200, maxLineChars: 2_000 } as const satisfies Required<TextBounds>;

/**
 * Code points shown as escapes: C0 and C1 controls and DEL (Cc: ESC starts every ANSI, OSC,
 * CSI and DCS sequence, U+009B is an 8-bit CSI), format characters (Cf: BiDi overrides and
 * isolates, zero-width characters, the BOM, tags), lone surrogates (Cs), line and paragraph
 * separators (Zl, Zp: some readers break lines there) and noncharacters (U+FFFE, U+FFFF and
 * their kin, which XML forbids). Tab and LF are handled before this (kept); a CR before LF too.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/gu;

function escapeCodePoint(char: string): string {
  if (char === '\t' || char === '\n') return char;
  if (char === '\r') return '\\r';
  const code = char.codePointAt(0)!;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/** At most `maxChars` UTF-16 units, never ending between the two halves of a surrogate pair. */
export function cutAt(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const end = maxChars > 0 && /[\ud800-\udbff]/.test(text[maxChars - 1]!) ? maxChars - 1 : maxChars;
  return text.slice(0, end);
}

function visibleLineOf(line: string, maxLineChars: number): string {
  // A CRLF line ending is a line ending; any other CR would overwrite the line, so it shows.
  const raw = line.endsWith('\r') ? line.slice(0, -1) : line;
  // Escapes at most multiply a line's length by 9: escape only what could be kept.
  const head = cutAt(raw, maxLineChars);
  const shown = head.replace(UNSAFE, escapeCodePoint);
  if (head.length === raw.length && shown.length <= maxLineChars) return shown;
  const marker = ` [... line of ${raw.length} characters cut]`;
  return cutAt(shown, Math.max(0, maxLineChars - marker.length)) + marker;
}

/**
 * Untrusted text, safe to show in a terminal and anywhere else text is shown: every character
 * that could control the reader appears as a visible escape (an ESC as the four characters
 * `\x1b`, so `\x1b[2J` instead of a cleared screen); tabs and newlines are kept, CRLF becomes
 * LF. At most `maxLines` lines (the last one then says `[... N more lines]`) of at most
 * `maxLineChars` characters. Idempotent: the output of one call passes through unchanged.
 */
export function visibleText(text: string, bounds: TextBounds = {}): string {
  const maxLines = Math.max(1, bounds.maxLines ?? DEFAULT_BOUNDS.maxLines);
  const maxLineChars = Math.max(48, bounds.maxLineChars ?? DEFAULT_BOUNDS.maxLineChars);
  let total = 1;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) total++;
  const keep = total <= maxLines ? total : maxLines - 1;
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < keep; i++) {
    const end = text.indexOf('\n', start);
    lines.push(visibleLineOf(text.slice(start, end < 0 ? text.length : end), maxLineChars));
    start = end + 1;
  }
  if (keep < total) lines.push(`[... ${total - keep} more lines]`);
  return lines.join('\n');
}

/**
 * One line of untrusted text (a table cell, a title, an error message printed on one line):
 * as visibleText, and newlines and tabs are shown as `\n` and `\t` too.
 */
export function visibleLine(text: string, maxChars = 500): string {
  return visibleText(text.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t'), { maxLines: 1, maxLineChars: maxChars });
}

/** Every string in a value (a report, its tests, their keys) through visibleText. */
export function visibleStrings<T>(value: T, bounds: TextBounds = {}): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return visibleText(v, bounds);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [visibleText(k, bounds), walk(item)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * Text placed after a gutter, so that none of its lines starts as the grader's own lines do
 * (a learner's "PASS 120/120 points" stays visibly quoted) and no CI problem matcher anchored
 * at a line's start (tsc, eslint) reads it as a diagnostic.
 */
export function quoted(text: string, prefix: string): string {
  return visibleText(text)
    .split('\n')
    .map((line) => `${prefix}| ${line}`)
    .join('\n');
}

// --- XML 1.0 (JUnit) ---

/**
 * Character data for XML 1.0: visibleText leaves only characters of XML's Char production
 * (no C0 control but tab and LF, no surrogate, no U+FFFE/U+FFFF), then markup is escaped.
 */
export function xmlText(text: string, bounds?: TextBounds): string {
  return visibleText(text, bounds).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value: as xmlText, plus quotes, and tab and LF as references so parsers keep them. */
export function xmlAttribute(text: string, bounds?: TextBounds): string {
  return xmlText(text, bounds).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

// --- HTML (the failure artifacts' timeline) ---

/**
 * Text for HTML, in an element or a quoted attribute: shown as visibleText, then every character
 * that markup could start or end with escaped, so nothing in it becomes a tag, an attribute or an
 * entity of its own.
 */
export function htmlText(text: string, bounds?: TextBounds): string {
  return visibleText(text, bounds).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// --- GitHub Actions (and Azure Pipelines) logs ---

/**
 * Makes one log line inert for a CI runner's command parser: the Actions runner reads `::cmd::`
 * at the start of a line after trimming whitespace, and its legacy `##[cmd]` form, like Azure
 * Pipelines' `##vso[cmd]`, anywhere in a line. A backslash keeps the text readable.
 */
function inertLogLine(line: string): string {
  const defused = line.replace(/##(vso)?\[/gi, (_match, vso: string | undefined) => `##${vso ?? ''}\\[`);
  return defused.replace(/^([\s\u0085]*)::/u, '$1\\::');
}

/** A stop-commands token: 128 random bits, and never a string the untrusted text contains. */
function stopCommandsToken(untrusted: string): string {
  const haystack = untrusted.toLowerCase();
  for (;;) {
    // The runner compares the resume token case-insensitively; hex is its own lower case.
    const token = `netkata-${randomBytes(16).toString('hex')}`;
    if (!haystack.includes(token)) return token;
  }
}

/**
 * Untrusted text for a GitHub Actions log: shown as visibleText, every line made inert, and the
 * whole between `::stop-commands::<token>` and `::<token>::` with a fresh unguessable token, so
 * the runner processes no command from it even if a line escaped the defusing (GitHub's
 * documented way to log untrusted output). The annotations the grader means go after it.
 */
export function actionsLog(untrusted: string, token = stopCommandsToken(untrusted)): string {
  const body = visibleText(untrusted, { maxLines: Number.MAX_SAFE_INTEGER }).split('\n').map(inertLogLine).join('\n');
  return `::stop-commands::${token}\n${body}\n::${token}::`;
}

/**
 * Workflow command data: %, CR and LF escaped as the runner unescapes them, so the message stays
 * on its command's line; a `##[` in it is made inert too, as the runner's legacy parser looks
 * for one anywhere in a line.
 */
export function commandData(text: string, bounds?: TextBounds): string {
  return inertLogLine(visibleText(text, bounds).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

/** A workflow command property value: as commandData, plus the `:` and `,` that end a property. */
export function commandProperty(text: string): string {
  return commandData(visibleLine(text)).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

// --- Markdown (GitHub's job summary) ---

/**
 * One line of untrusted text for GitHub-flavoured markdown, in a paragraph or a table cell:
 * shown as visibleLine, then every ASCII punctuation character backslash-escaped (CommonMark
 * allows it for all of them), so no link, image, HTML tag, entity, emphasis, table pipe or
 * autolinked URL comes out of it: it reads as the characters it is.
 */
export function markdownText(text: string, maxChars = 500): string {
  return visibleLine(text, maxChars).replace(/[!-/:-@[-`{-~]/g, '\\$&');
}
