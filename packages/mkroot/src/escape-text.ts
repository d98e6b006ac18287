/**
 * Escapes what a terminal would act on instead of showing: C0 controls, DEL
 * and C1 controls (CR and LF would fake extra lines, ESC starts a terminal
 * command). `\` is escaped too, so every escaped name reads back unambiguously
 * (as GNU ls --quoting-style=escape does). For human output only: JSON output
 * keeps the exact names.
 */
export function escapeControls(text: string): string {
  if (!/[\x00-\x1f\x7f-\x9f\\]/.test(text)) return text;
  return text.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
