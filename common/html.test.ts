import t from 'tap';
import { escapeHtml } from './html.js';

t.test('escapes the five characters that can leave text or an attribute', async (t) => {
  t.equal(
    escapeHtml(`<img src=x onerror="a('&')">`),
    '&lt;img src=x onerror=&quot;a(&#39;&amp;&#39;)&quot;&gt;',
  );
  t.equal(escapeHtml('&amp;'), '&amp;amp;', 'already-escaped text is escaped again, not trusted');
});

t.test('any value: numbers as text, nothing for null and undefined', async (t) => {
  t.equal(escapeHtml(42), '42');
  t.equal(escapeHtml(null), '');
  t.equal(escapeHtml(undefined), '');
});
