/** The plain field list and limits (event-fields.ts) and the TypeBox schema built from them agree. */
import t from 'tap';
import { ConnectionEventSchema, EVENT_KEYS } from './event.js';
import { EVENT_FIELD_NAMES, TEXT_MAX_LENGTH } from './event-fields.js';
import { limits } from './limits.js';

t.test('every schema key is listed, in wire order, and nothing else', async (t) => {
  t.same([...EVENT_FIELD_NAMES], [...EVENT_KEYS]);
});

t.test('text limits are the schema maxLengths (capped at the wire limit)', async (t) => {
  const properties = ConnectionEventSchema.properties as Record<
    string,
    { type?: string; maxLength?: number }
  >;
  const textFields = Object.entries(properties).filter(([, p]) => p.type === 'string');
  t.same(textFields.map(([k]) => k).sort(), Object.keys(TEXT_MAX_LENGTH).sort());
  for (const [field, schema] of textFields) {
    const max = TEXT_MAX_LENGTH[field as keyof typeof TEXT_MAX_LENGTH];
    t.equal(schema.maxLength, Math.min(max, limits.maxStringBytes), field);
  }
});
