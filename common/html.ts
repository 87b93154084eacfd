/**
 * HTML escaping for every value a page did not write itself (log lines, device ids, names): the
 * member's status page and the officers' portal both use this one.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
