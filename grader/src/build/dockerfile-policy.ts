/**
 * What a learner's Dockerfile may do, checked before any build: the daemon that runs the build has
 * network and the instructor's images, so FROM, ADD and COPY --from must name nothing outside
 * the grader's images, the Dockerfile's own stages and what the instructor allows.
 *
 * The parser follows the classic builder's (moby/buildkit frontend/dockerfile/parser): lines
 * split at \n (a trailing \r dropped), a BOM stripped, parser directives only before anything
 * else, comments only as whole lines, the escape character (\ or `) plus trailing blanks
 * continuing a line, and comment and blank lines inside a continuation skipped. Wherever it
 * cannot tell what the builder would do, it refuses: a refusal costs a learner a rewrite, a
 * wrong guess would let the daemon pull or fetch.
 */

export interface PolicyOptions {
  /** Build args the grader passes (NETKATA_RUNTIME, NETKATA_RUNTIME_C): their values are allowed bases. */
  readonly buildArgs: Readonly<Record<string, string>>;
  /** More base images the instructor allows (`--allow-base IMAGE`), compared exactly. */
  readonly allowBases?: readonly string[];
}

export interface PolicyResult {
  /** Problems, one per offending line, each starting `Dockerfile:N:`. Empty when the Dockerfile may be built. */
  readonly violations: string[];
  /** The image the final stage is built on (through earlier stages), or 'scratch'. */
  readonly finalBase?: string;
}

interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly flags: string[];
  readonly rest: string;
}

const MAX_LINE_CHARS = 64 * 1024 - 1; // bufio.Scanner's limit in the builder
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;
const ALLOWED_BASES =
  "build FROM ${NETKATA_RUNTIME} or ${NETKATA_RUNTIME_C} (the grader's images, declared with ARG before the first FROM); an instructor can allow more with --allow-base";

/** The instructions of a Dockerfile, as the classic builder splits them. */
function parseDockerfile(text: string): { instructions: Instruction[]; escape: string; errors: string[] } {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
  const errors: string[] = [];
  const instructions: Instruction[] = [];
  let escape = '\\';
  let directivesDone = false;
  const seen = new Set<string>();
  const isComment = (l: string) => /^\s*#/.test(l);
  const continuation = () => new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const directive = (l: string) => {
    if (directivesDone) return;
    const match = DIRECTIVE.exec(l);
    const key = match?.[1]!.toLowerCase();
    if (!match || (key !== 'escape' && key !== 'syntax')) {
      directivesDone = true;
      return;
    }
    if (seen.has(key)) errors.push(`only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (match[2] !== '\\' && match[2] !== '`') errors.push(`invalid escape token '${match[2]}': it must be \\ or \``);
      else escape = match[2];
    }
  };
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.length > MAX_LINE_CHARS) {
      errors.push(`line ${i + 1} is longer than ${MAX_LINE_CHARS} characters`);
      return { instructions, escape, errors };
    }
    const first = lines[i]!.replace(/^\s+/, '');
    directive(first);
    const start = i + 1;
    let line = first.startsWith('#') ? '' : first;
    let ended = !continuation().test(line);
    line = line.replace(continuation(), '');
    if (ended && line === '') continue;
    while (!ended && i + 1 < lines.length) {
      const next = lines[++i]!;
      directive(next);
      if (isComment(next)) continue;
      if (next.trim() === '') continue;
      ended = !continuation().test(next);
      line += next.replace(continuation(), '');
    }
    const trimmed = line.trim();
    const keyword = trimmed.split(/[\t\v\f\r ]+/)[0] ?? '';
    const afterKeyword = trimmed.slice(keyword.length).trim();
    const { flags, rest } = extractFlags(afterKeyword);
    instructions.push({ line: start, keyword: keyword.toLowerCase(), flags, rest });
  }
  return { instructions, escape, errors };
}

/** Leading `--name=value` words, as the builder takes them (quotes and backslashes removed). */
function extractFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = text;
  for (;;) {
    rest = rest.replace(/^\s+/, '');
    if (!rest.startsWith('--')) break;
    const match = /^\S+/.exec(rest)!;
    if (match[0] === '--') {
      rest = rest.slice(2);
      break;
    }
    // Quoted flag values may hold blanks; a flag this parser cannot split is kept whole and refused later.
    let word = '';
    let j = 0;
    let quote = '';
    for (; j < rest.length; j++) {
      const ch = rest[j]!;
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === '\\' && j + 1 < rest.length) word += rest[++j];
        else word += ch;
      } else if (/\s/.test(ch)) break;
      else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && j + 1 < rest.length) word += rest[++j];
      else word += ch;
    }
    flags.push(word);
    rest = rest.slice(j);
  }
  return { flags, rest: rest.trim() };
}

/**
 * One word as the builder's shell lexer reads it: quotes removed, the escape character taking
 * the next one literally, and $NAME, ${NAME}, ${NAME:-x}, ${NAME-x}, ${NAME:+x}, ${NAME+x}
 * replaced from `vars`. Undefined when the word holds anything else (the caller refuses).
 */
function expandWord(word: string, vars: ReadonlyMap<string, string>, escape: string): string | undefined {
  let out = '';
  let i = 0;
  const variable = (): string | undefined => {
    // at word[i] === '$'
    i++;
    if (word[i] === '{') {
      const close = word.indexOf('}', i);
      if (close < 0) return undefined;
      const body = word.slice(i + 1, close);
      i = close + 1;
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$/s.exec(body);
      if (!match) return undefined;
      const [, name, op, operand = ''] = match;
      if (/[$"'\\`{}]/.test(operand)) return undefined;
      const value = vars.get(name!);
      if (!op) return value ?? '';
      const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
      if (op.endsWith('-')) return set ? value! : operand;
      return set ? operand : '';
    }
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i));
    if (!match) return undefined;
    i += match[0].length;
    return vars.get(match[0]) ?? '';
  };
  while (i < word.length) {
    const ch = word[i]!;
    if (ch === escape) {
      if (i + 1 >= word.length) return undefined;
      out += word[i + 1];
      i += 2;
    } else if (ch === "'") {
      const close = word.indexOf("'", i + 1);
      if (close < 0) return undefined;
      out += word.slice(i + 1, close);
      i = close + 1;
    } else if (ch === '"') {
      i++;
      while (i < word.length && word[i] !== '"') {
        if (word[i] === '$') {
          const value = variable();
          if (value === undefined) return undefined;
          out += value;
        } else if (word[i] === escape) return undefined;
        else out += word[i++];
      }
      if (word[i] !== '"') return undefined;
      i++;
    } else if (ch === '$') {
      const value = variable();
      if (value === undefined) return undefined;
      out += value;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** The words of COPY/ADD: a JSON array of strings, or blank-separated words. */
function sourcesAndDestination(rest: string): string[] {
  if (rest.startsWith('[') && rest.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(rest);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
    } catch {
      // The builder falls back to the shell form too.
    }
  }
  return rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '');
}

/** Checks a Dockerfile against the policy; every violation names its line. */
export function checkDockerfile(text: string, options: PolicyOptions): PolicyResult {
  const { instructions, escape, errors } = parseDockerfile(text);
  const violations = errors.map((e) => `Dockerfile: ${e}`);
  const allowed = new Set([...Object.values(options.buildArgs), ...(options.allowBases ?? [])]);
  const metaArgs = new Map<string, string>();
  const declared = new Set<string>();
  const stages: { name?: string; base: string }[] = [];
  const at = (i: Instruction, what: string) => violations.push(`Dockerfile:${i.line}: ${what}`);
  const shown = (i: Instruction) => `${i.keyword.toUpperCase()} ${[...i.flags, i.rest].join(' ')}`.trim().slice(0, 200);

  for (const instruction of instructions) {
    const { keyword, flags, rest } = instruction;
    switch (keyword) {
      case 'arg': {
        if (stages.length > 0) break; // a stage's ARG cannot reach FROM
        for (const word of rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '')) {
          const eq = word.indexOf('=');
          const name = eq < 0 ? word : word.slice(0, eq);
          declared.add(name);
          if (name in options.buildArgs) metaArgs.set(name, options.buildArgs[name]!);
          else if (eq >= 0) {
            const value = expandWord(word.slice(eq + 1), metaArgs, escape);
            if (value === undefined) at(instruction, `ARG ${name} has a default this grader cannot read; write it plainly`);
            else metaArgs.set(name, value);
          }
        }
        break;
      }
      case 'from': {
        const words = rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '');
        const badFlag = flags.find((f) => !/^--platform=/.test(f));
        if (badFlag) at(instruction, `FROM ${badFlag} is not supported by the grader's builder`);
        if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
          at(instruction, `${shown(instruction)} is not FROM IMAGE [AS NAME]`);
          stages.push({ base: '' });
          break;
        }
        const name = words[2]?.toLowerCase();
        if (name !== undefined && !STAGE_NAME.test(name)) at(instruction, `${words[2]} is not a valid stage name (a letter, then letters, digits, -, _ or .)`);
        const image = expandWord(words[0]!, metaArgs, escape);
        const variables = [...words[0]!.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
        const undeclared = variables.filter((v) => !declared.has(v));
        const earlier = image !== undefined ? stages.find((s) => s.name === image.toLowerCase()) : undefined;
        let base = '';
        if (image === undefined) at(instruction, `FROM ${words[0]} cannot be resolved by the grader; ${ALLOWED_BASES}`);
        else if (undeclared.length > 0)
          at(
            instruction,
            `FROM ${words[0]} uses ${undeclared.map((v) => `\${${v}}`).join(', ')} without declaring it: add \`ARG ${undeclared[0]}\` before the first FROM`,
          );
        else if (earlier) base = earlier.base;
        else if (image === 'scratch' || allowed.has(image)) base = image;
        else at(instruction, `FROM ${words[0] === image ? image : `${words[0]} (${image || 'empty'})`} is not allowed: ${ALLOWED_BASES}`);
        stages.push({ ...(name ? { name } : {}), base });
        break;
      }
      case 'copy':
      case 'add': {
        for (const flag of flags) {
          const [flagName, value = ''] = flag.split(/=(.*)/s);
          if (flagName === '--chown') continue;
          if (flagName === '--from') {
            const index = /^\d+$/.test(value) ? Number(value) : undefined;
            const ok = index !== undefined ? index < stages.length : stages.some((s) => s.name === value.toLowerCase());
            if (!ok)
              at(
                instruction,
                `${keyword.toUpperCase()} --from=${value} is not allowed: --from may name only an earlier stage of this Dockerfile (FROM ... AS NAME)`,
              );
            continue;
          }
          at(instruction, `${keyword.toUpperCase()} ${flag} is not supported by the grader's builder (only --chown and --from=STAGE)`);
        }
        if (keyword === 'add') {
          const words = sourcesAndDestination(rest);
          for (const source of words.slice(0, -1)) {
            // No ':' means no URL (http, https, git) whatever the quoting; no '$' means no variable that could hold one.
            if (/[:$"'`\\]/.test(source) || source.startsWith('git@')) {
              at(instruction, `ADD ${source.slice(0, 100)} is not allowed: ADD may copy only files of your folder (no URL, no variable); use COPY`);
            }
          }
        }
        break;
      }
      case 'volume':
        at(instruction, `VOLUME is not allowed: a submission's storage is what the grader gives it (/tmp and STATE_DIR, both capped)`);
        break;
      case 'onbuild':
        at(instruction, `ONBUILD is not allowed: a submission's image is never a base for another build`);
        break;
      case 'run':
        if (flags.length > 0)
          at(instruction, `RUN ${flags[0]} is not supported: the grader builds with the classic builder and no network (no --mount, --network or --security)`);
        break;
      case 'label':
        if (/netkata/i.test(rest)) at(instruction, `LABEL keys starting with netkata are the grader's own`);
        break;
      default:
        break;
    }
  }
  if (stages.length === 0 && violations.length === 0) violations.push(`Dockerfile: no FROM instruction; ${ALLOWED_BASES}`);
  const finalBase = stages.at(-1)?.base;
  return { violations, ...(finalBase ? { finalBase } : {}) };
}
