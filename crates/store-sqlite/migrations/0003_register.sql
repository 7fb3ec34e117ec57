-- The register as code: every `kluis register load` of a changed file is a new, immutable
-- version. The source is the operator's TOML (who the controller is, which purposes, which
-- categories): no personal data of subjects, so it is stored as text. `sha256` is the digest of
-- the source; the `register.load` audit event names the version.
CREATE TABLE register_versions (
    version   INTEGER PRIMARY KEY,
    loaded_at INTEGER NOT NULL,
    sha256    BLOB NOT NULL,
    source    TEXT NOT NULL,
    loaded_by TEXT NOT NULL
) STRICT;
