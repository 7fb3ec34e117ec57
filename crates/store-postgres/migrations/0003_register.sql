-- The register as code: every `kluis register load` of a changed file is a new, immutable
-- version. The source is the operator's TOML (who the controller is, which purposes, which
-- categories): no personal data of subjects, so it is stored as text. `sha256` is the digest of
-- the source; the `register.load` audit event names the version.
CREATE TABLE register_versions (
    version   BIGINT PRIMARY KEY,
    loaded_at BIGINT NOT NULL,
    sha256    BYTEA NOT NULL,
    source    TEXT NOT NULL,
    loaded_by TEXT NOT NULL
);
