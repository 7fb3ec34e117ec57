-- kluis vault schema (SQLite). Never edit an applied migration; add a new one.
-- Nothing here holds plaintext personal data: values are AEAD ciphertexts, index entries are HMAC
-- digests, keys are wrapped, tokens are hashes, audit events hold ids and field names.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE keks (
    version    INTEGER PRIMARY KEY,
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE subjects (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    revision    INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    kek_version INTEGER NOT NULL REFERENCES keks (version),
    wrapped_key BLOB NOT NULL
) STRICT;

CREATE TABLE subject_values (
    subject_id  TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    ciphertext  BLOB NOT NULL,
    PRIMARY KEY (subject_id, field)
) STRICT, WITHOUT ROWID;

CREATE TABLE blind_index (
    index_name TEXT NOT NULL,
    digest     BLOB NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    PRIMARY KEY (index_name, digest, subject_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX blind_index_by_subject ON blind_index (subject_id);

-- The erasure ledger: every restore replays it (DESIGN §4.3).
CREATE TABLE erasures (
    subject_id TEXT PRIMARY KEY,
    erased_at  INTEGER NOT NULL
) STRICT;

-- The audit log. audit_head.size is the number of events; updating it is the append lock, so
-- sequence numbers are dense and in commit order.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
) STRICT;
INSERT INTO audit_head (id, size) VALUES (1, 0);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    recorded_at INTEGER NOT NULL,
    event       BLOB NOT NULL
) STRICT;
