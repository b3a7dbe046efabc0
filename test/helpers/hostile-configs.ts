// Config texts that attack the loader, shared by the tests of loading, validating and reloading.

/** Ten anchors, each a list of nine aliases of the one before: 9^10 nodes if expanded. */
export function aliasBomb(): string {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i <= 9; i++) {
    text += `a${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  }
  return text;
}

/** YAML of `count` top-level keys no config has: `key0: 1`, `key1: 1`, ... */
export function unknownKeys(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`key${i}: 1`);
  return `${lines.join('\n')}\n`;
}
