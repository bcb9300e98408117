/** The states in which a share may still be minted, sent or hear its import result. */
export const OPEN_SHARE_STATUSES = ["accepted", "minted", "sent"] as const;

export function isOpenShareStatus(status: string): boolean {
  return (OPEN_SHARE_STATUSES as readonly string[]).includes(status);
}
