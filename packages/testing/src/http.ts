/**
 * A response body for assertions. Tests check bodies field by field; typing them as `any` keeps
 * those checks short, and a wrong field fails the assertion rather than the compile.
 */
// biome-ignore lint/suspicious/noExplicitAny: test bodies are asserted on, not trusted.
export const readJson = (response: Response): Promise<any> => response.json();
