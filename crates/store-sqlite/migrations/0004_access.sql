-- Access control: scoped API tokens, personal staff accounts, console sessions, login throttling,
-- and the Art. 18 restriction flag of a subject.
-- Nothing here holds plaintext personal data of customers: tokens, sessions, enrolment secrets and
-- recovery codes are stored as hashes, passwords as Argon2id PHC strings, TOTP seeds sealed under
-- a key-encryption key; throttle keys are hashed. Lists (purposes, allowed addresses) are JSON
-- arrays of strings.

-- Token scope: `purposes` NULL means the role's purposes; `allowed_ips` `[]` means any address.
ALTER TABLE tokens ADD COLUMN purposes TEXT;
ALTER TABLE tokens ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;

-- 1 while processing is restricted (Art. 18).
ALTER TABLE subjects ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1));

CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    password_hash        TEXT,
    -- The TOTP seed, sealed under KEK `totp_kek_version`; both NULL until enrolment.
    totp_kek_version     INTEGER REFERENCES keks (version),
    totp_sealed          BLOB,
    totp_confirmed_at    INTEGER,
    -- The last TOTP time step accepted (replay guard); only ever increases.
    totp_last_step       INTEGER,
    allowed_ips          TEXT NOT NULL,
    enrolment_hash       BLOB UNIQUE,
    enrolment_expires_at INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    disabled_at          INTEGER,
    revision             INTEGER NOT NULL,
    CHECK ((totp_kek_version IS NULL) = (totp_sealed IS NULL))
) STRICT;

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (account_id, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
    hash         BLOB PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
) STRICT;
