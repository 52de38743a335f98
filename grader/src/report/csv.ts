import { visibleLine } from '../sanitize.ts';

type Cell = string | number | boolean | null;

/**
 * A spreadsheet cell. Quoted per RFC 4180; a cell that a spreadsheet would run as a formula
 * (= + - @, tab, carriage return first) is prefixed with an apostrophe, as OWASP advises for CSV
 * injection: names and messages can quote what a submission printed or its folder's name.
 */
function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  let text = visibleLine(value, 500);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A CSV file: the header, then a line per row, CRLF line ends as RFC 4180 has them. */
export function csvDocument(header: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  return `${[header.join(','), ...rows.map((row) => row.map(csvCell).join(','))].join('\r\n')}\r\n`;
}
