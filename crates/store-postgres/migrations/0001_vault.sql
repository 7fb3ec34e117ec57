-- kluis vault schema (PostgreSQL). Never edit an applied migration; add a new one.
-- Nothing here holds plaintext personal data: values are AEAD ciphertexts, index entries are HMAC
-- digests, keys are wrapped, tokens are hashes, audit events hold ids and field names.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE keks (
    version    BIGINT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BYTEA NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE subjects (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    revision    BIGINT NOT NULL,
    key_version BIGINT NOT NULL,
    kek_version BIGINT NOT NULL REFERENCES keks (version),
    wrapped_key BYTEA NOT NULL
);

CREATE TABLE subject_values (
    subject_id  TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    ciphertext  BYTEA NOT NULL,
    PRIMARY KEY (subject_id, field)
);

CREATE TABLE blind_index (
    index_name TEXT NOT NULL,
    digest     BYTEA NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    PRIMARY KEY (index_name, digest, subject_id)
);

CREATE INDEX blind_index_by_subject ON blind_index (subject_id);

-- The erasure ledger: every restore replays it (DESIGN §4.3).
CREATE TABLE erasures (
    subject_id TEXT PRIMARY KEY,
    erased_at  BIGINT NOT NULL
);

-- The audit log. audit_head.size is the number of events; updating it is the append lock, so
-- sequence numbers are dense and in commit order.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO audit_head (id, size) VALUES (1, 0);

CREATE TABLE audit_events (
    seq         BIGINT PRIMARY KEY,
    recorded_at BIGINT NOT NULL,
    event       BYTEA NOT NULL
);
