// Sprite name rule, shared by the client (usage error before any request) and the engine (400).

export const SPRITE_NAME_RULE =
  'a sprite name is 1-63 characters of lowercase letters, digits and hyphens, starting with a letter or digit';

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Returns null when the name is valid, else the reason. */
export function spriteNameProblem(name: string): string | null {
  if (NAME_RE.test(name)) return null;
  return `invalid sprite name ${JSON.stringify(name)}: ${SPRITE_NAME_RULE}`;
}
