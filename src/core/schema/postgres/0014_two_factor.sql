-- Two-factor sign-in (等保 2.0 level 3: two kinds of authentication for
-- administrators, one cryptographic): a TOTP secret (RFC 6238) per account,
-- encrypted like personal data (column "totp_secret", NULL when none), the last time step
-- used (a code is good once), and single-use recovery codes kept as keyed
-- hashes (the blind index key).
ALTER TABLE users ADD COLUMN totp_secret_enc TEXT;
ALTER TABLE users ADD COLUMN totp_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
CREATE TABLE totp_recovery (
  user_id    BIGINT NOT NULL REFERENCES users(id),
  code_bidx  TEXT NOT NULL,
  used_at    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, code_bidx)
);
