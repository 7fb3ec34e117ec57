-- Data-subject requests (Art. 12-22), the fiscal archive of erased subjects, objections, and the
-- subject of every audit event (for the access export).
-- Nothing here holds plaintext personal data: the requester's address, the request's details,
-- free-text reasons, uploaded ID documents and exports are sealed under the request's own data
-- key (wrapped under a KEK); deleting `wrapped_key` makes all of them unreadable. Verification
-- codes and download tokens are stored as hashes.

CREATE TABLE requests (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    state             TEXT NOT NULL,
    channel           TEXT NOT NULL,
    lang              TEXT NOT NULL,
    -- The subject the request is about, once known (no foreign key: an erased subject's id stays).
    subject_id        TEXT,
    -- Objection and withdrawal name a purpose.
    purpose           TEXT,
    received_at       BIGINT NOT NULL,
    -- Calendar dates (YYYY-MM-DD, Europe/Amsterdam): the legal due date and an extension.
    due_on            TEXT NOT NULL,
    extended_to       TEXT,
    verification      TEXT,
    verified_at       BIGINT,
    closed_at         BIGINT,
    id_upload_allowed BIGINT NOT NULL DEFAULT 0 CHECK (id_upload_allowed IN (0, 1)),
    kek_version       BIGINT REFERENCES keks (version),
    wrapped_key       BYTEA,
    contact_sealed    BYTEA,
    details_sealed    BYTEA,
    revision          BIGINT NOT NULL
);

CREATE INDEX requests_open ON requests (closed_at, due_on);
CREATE INDEX requests_by_subject ON requests (subject_id);

CREATE TABLE request_timeline (
    request_id  TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    state       TEXT NOT NULL,
    -- A stable code naming what happened in more detail (a template, an outcome, a recipient key).
    detail      TEXT,
    note_sealed BYTEA,
    PRIMARY KEY (request_id, seq)
);

CREATE TABLE request_codes (
    request_id TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL
);

-- An ID document in quarantine: deleted right after the check.
CREATE TABLE request_uploads (
    request_id   TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    sealed       BYTEA NOT NULL
);

CREATE TABLE request_exports (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    format      TEXT NOT NULL,
    token_hash  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    sealed      BYTEA NOT NULL
);

CREATE INDEX request_exports_by_token ON request_exports (token_hash);
CREATE INDEX request_exports_by_expiry ON request_exports (expires_at);

-- Values kept under a legal obligation after an erasure: readable only for `archive_purpose`,
-- until `archive_until`.
ALTER TABLE subjects ADD COLUMN archive_purpose TEXT;
ALTER TABLE subjects ADD COLUMN archive_until BIGINT;
-- Purposes the subject objected to (Art. 21) or withdrew consent for (Art. 7(3)): a JSON array.
ALTER TABLE subjects ADD COLUMN objections TEXT NOT NULL DEFAULT '[]';

-- The subject of each audit event, for the access export (`subject` member of the event).
ALTER TABLE audit_events ADD COLUMN subject TEXT;
UPDATE audit_events SET subject = convert_from(event, 'UTF8')::jsonb ->> 'subject';
CREATE INDEX audit_events_by_subject ON audit_events (subject, seq) WHERE subject IS NOT NULL;
