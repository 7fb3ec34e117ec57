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
    received_at       INTEGER NOT NULL,
    -- Calendar dates (YYYY-MM-DD, Europe/Amsterdam): the legal due date and an extension.
    due_on            TEXT NOT NULL,
    extended_to       TEXT,
    verification      TEXT,
    verified_at       INTEGER,
    closed_at         INTEGER,
    id_upload_allowed INTEGER NOT NULL DEFAULT 0 CHECK (id_upload_allowed IN (0, 1)),
    kek_version       INTEGER REFERENCES keks (version),
    wrapped_key       BLOB,
    contact_sealed    BLOB,
    details_sealed    BLOB,
    revision          INTEGER NOT NULL
) STRICT;

CREATE INDEX requests_open ON requests (closed_at, due_on);
CREATE INDEX requests_by_subject ON requests (subject_id);

CREATE TABLE request_timeline (
    request_id  TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    state       TEXT NOT NULL,
    -- A stable code naming what happened in more detail (a template, an outcome, a recipient key).
    detail      TEXT,
    note_sealed BLOB,
    PRIMARY KEY (request_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE request_codes (
    request_id TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL
) STRICT;

-- An ID document in quarantine: deleted right after the check.
CREATE TABLE request_uploads (
    request_id   TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_at  INTEGER NOT NULL,
    sealed       BLOB NOT NULL
) STRICT;

CREATE TABLE request_exports (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    format      TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    sealed      BLOB NOT NULL
) STRICT;

CREATE INDEX request_exports_by_token ON request_exports (token_hash);
CREATE INDEX request_exports_by_expiry ON request_exports (expires_at);

-- Values kept under a legal obligation after an erasure: readable only for `archive_purpose`,
-- until `archive_until`.
ALTER TABLE subjects ADD COLUMN archive_purpose TEXT;
ALTER TABLE subjects ADD COLUMN archive_until INTEGER;
-- Purposes the subject objected to (Art. 21) or withdrew consent for (Art. 7(3)): a JSON array.
ALTER TABLE subjects ADD COLUMN objections TEXT NOT NULL DEFAULT '[]';

-- The subject of each audit event, for the access export (`subject` member of the event).
ALTER TABLE audit_events ADD COLUMN subject TEXT;
UPDATE audit_events SET subject = json_extract(CAST(event AS TEXT), '$.subject');
CREATE INDEX audit_events_by_subject ON audit_events (subject, seq) WHERE subject IS NOT NULL;
