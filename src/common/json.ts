/** A JSON object as DialNexa served it: every field is kept, known or not. */
export type JsonObject = Record<string, unknown>;
