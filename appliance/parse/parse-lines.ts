/**
 * The `cyberalarm-agent parse` command's core: one output object per input message, in order, so a
 * member (or the accuracy bench) can line results up with input. Pure apart from the clock read once.
 */
import { explainMessage, type MessageResult, parseMessage, parseWithFamily } from './registry.js';

export interface ParseLinesOptions {
  /** `auto` or a family name. */
  readonly format: string;
  /** `lines`: one message per line; `jsonl`: one JSON object per line whose `raw` holds the message. */
  readonly input: 'lines' | 'jsonl';
  readonly explain: boolean;
}

/** The message in one input line, or an error text. */
function messageOf(line: string, input: 'lines' | 'jsonl'): { raw: string } | { error: string } {
  if (line.trim() === '') return { error: 'empty line' };
  if (input === 'lines') return { raw: line };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'bad JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { error: 'not a JSON object' };
  const raw = (value as { raw?: unknown }).raw;
  return typeof raw === 'string' ? { raw } : { error: 'no string "raw" field' };
}

function explanation(raw: string, now: Date, format: string, result: MessageResult): Record<string, unknown> {
  const { header, candidates, why } = explainMessage(raw, now);
  const { raw: _raw, ...headerFields } = header;
  if (format !== 'auto') {
    return {
      family: format,
      confidence: result.ok ? result.confidence : 0,
      header: headerFields,
      candidates,
      why: `--format ${format} given: detection skipped${result.ok ? '' : `; ${result.reason}`}`,
    };
  }
  return {
    family: result.ok ? result.family : null,
    confidence: result.ok ? result.confidence : 0,
    header: headerFields,
    candidates,
    why,
  };
}

export async function* parseLines(
  lines: AsyncIterable<string>,
  options: ParseLinesOptions,
): AsyncGenerator<Record<string, unknown>> {
  // One clock read for the whole run: year-less dates resolve against when the command started.
  const now = new Date();
  for await (const line of lines) {
    const message = messageOf(line, options.input);
    if ('error' in message) {
      yield { error: message.error };
      continue;
    }
    const result =
      options.format === 'auto'
        ? parseMessage(message.raw, now)
        : parseWithFamily(message.raw, now, options.format);
    const out: Record<string, unknown> = result.ok ? { ...result.event } : { error: result.reason };
    if (options.explain) out.explain = explanation(message.raw, now, options.format, result);
    yield out;
  }
}
