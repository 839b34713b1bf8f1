-- A retry's Idempotency-Key stands for the same request only: its method,
-- path, query and body are fingerprinted (BLAKE2b-256), and a key used again
-- for a different request is refused (422) instead of answering with the
-- first one. Rows from before keep '' and match by path, as they did.
ALTER TABLE idempotency ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
