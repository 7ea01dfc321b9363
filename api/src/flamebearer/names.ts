// Names the encoder writes and the decoder relies on; no TypeBox here, so the UI can import them.
export const ROOT_NAME = 'total';
export const OTHER_NAME = 'other';
