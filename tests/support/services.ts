import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const serviceDir = (name: string) => `${REPO_ROOT}services/${name}`;
