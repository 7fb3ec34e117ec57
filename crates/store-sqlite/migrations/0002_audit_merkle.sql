-- The audit log as an RFC 9162 Merkle tree. Every perfect subtree is stored once, when its last
-- leaf is appended (level 0 = the leaf hash), so a root, an inclusion proof or a consistency proof
-- at any tree size takes O(log n) lookups and never a reread of the log.
CREATE TABLE audit_nodes (
    level          INTEGER NOT NULL,
    idx            INTEGER NOT NULL,
    -- The leaf whose append completed this node: verification streams nodes in append order.
    completed_by   INTEGER NOT NULL,
    hash           BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE INDEX audit_nodes_by_completion ON audit_nodes (completed_by, level);

-- Signed checkpoints (C2SP signed-note text), one per tree size at most.
CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    note       TEXT NOT NULL
) STRICT;
