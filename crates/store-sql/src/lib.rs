//! The one SQL implementation of the storage port, shared by the SQLite and PostgreSQL adapters.
//!
//! It runs on a sqlx `AnyPool`: the adapters open the pool with their own connection settings and
//! migrations and hand over a [`Dialect`] with the few statements that differ. The SQL below is
//! written once in the dialect both databases accept (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`), so there is no per-query branching and no duplicated query logic.

use kluis_domain::audit::AuditEvent;
use kluis_domain::{SubjectId, SubjectKind, Timestamp, TokenId};
use kluis_store::{
    Counts, IndexEntry, KeyringRecord, NewSubject, Store, StoreError, StoredAuditEvent, StoredKek, StoredValue,
    SubjectChange, SubjectRecord, TokenRecord, WrappedDataKey,
};
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

pub use sqlx::any::{AnyPoolOptions, install_default_drivers};

/// What differs between the databases, chosen once when the store is opened.
#[derive(Debug)]
pub struct Dialect {
    /// Backend name for logs and health output.
    pub name: &'static str,
    /// Statement that opens a transaction that will write. SQLite needs `BEGIN IMMEDIATE` so a
    /// reader never has to upgrade its lock (which fails instead of waiting).
    pub begin_write: &'static str,
    /// Statement run after an erasure commits, best effort (SQLite: checkpoint and truncate the WAL
    /// so old page images of the erased rows do not linger in it).
    pub after_erase: Option<&'static str>,
}

/// The SQL store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: &'static Dialect,
}

fn backend(e: &sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn u32_col(row: &AnyRow, col: &str) -> Result<u32, StoreError> {
    let v: i64 = row.try_get(col).map_err(|e| backend(&e))?;
    u32::try_from(v).map_err(|_| corrupt(col))
}

fn subject_id(text: &str) -> Result<SubjectId, StoreError> {
    text.parse().map_err(|_| corrupt("subject id"))
}

impl SqlStore {
    pub fn new(pool: AnyPool, dialect: &'static Dialect) -> Self {
        SqlStore { pool, dialect }
    }

    /// The pool, for adapter-level maintenance (migrations, tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool.begin_with(self.dialect.begin_write).await.map_err(|e| backend(&e))
    }

    /// Appends events to the audit log inside `tx`. Sequence numbers are dense and follow commit
    /// order: the single `audit_head` row is the lock that serialises appenders.
    async fn append_in(tx: &mut AnyConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let n = i64::try_from(events.len()).map_err(|_| corrupt("audit batch"))?;
        let row = sqlx::query("UPDATE audit_head SET size = size + $1 WHERE id = 1 RETURNING size")
            .bind(n)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        let new_size: i64 = row.try_get("size").map_err(|e| backend(&e))?;
        for (seq, event) in (new_size - n..).zip(events) {
            sqlx::query("INSERT INTO audit_events (seq, recorded_at, event) VALUES ($1, $2, $3)")
                .bind(seq)
                .bind(event.time)
                .bind(event.encode())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        Ok(())
    }

    async fn load_in(conn: &mut AnyConnection, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        let id_text = id.to_string();
        let Some(row) = sqlx::query(
            "SELECT kind, created_at, updated_at, revision, key_version, kek_version, wrapped_key \
             FROM subjects WHERE id = $1",
        )
        .bind(&id_text)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| backend(&e))?
        else {
            return Ok(None);
        };
        let kind: String = row.try_get("kind").map_err(|e| backend(&e))?;
        let kind: SubjectKind = kind.parse().map_err(|_| corrupt("subject kind"))?;
        let values = sqlx::query(
            "SELECT field, key_version, ciphertext FROM subject_values WHERE subject_id = $1 ORDER BY field",
        )
        .bind(&id_text)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| backend(&e))?
        .iter()
        .map(|v| {
            Ok(StoredValue {
                field: v.try_get("field").map_err(|e| backend(&e))?,
                key_version: u32_col(v, "key_version")?,
                ciphertext: v.try_get("ciphertext").map_err(|e| backend(&e))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(SubjectRecord {
            id,
            kind,
            created_at: Timestamp(row.try_get("created_at").map_err(|e| backend(&e))?),
            updated_at: Timestamp(row.try_get("updated_at").map_err(|e| backend(&e))?),
            revision: row.try_get("revision").map_err(|e| backend(&e))?,
            data_key: WrappedDataKey {
                key_version: u32_col(&row, "key_version")?,
                kek_version: u32_col(&row, "kek_version")?,
                wrapped: row.try_get("wrapped_key").map_err(|e| backend(&e))?,
            },
            values,
        }))
    }

    async fn upsert_values(conn: &mut AnyConnection, id: &str, values: &[StoredValue]) -> Result<(), StoreError> {
        for value in values {
            sqlx::query(
                "INSERT INTO subject_values (subject_id, field, key_version, ciphertext) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (subject_id, field) DO UPDATE SET key_version = excluded.key_version, \
                 ciphertext = excluded.ciphertext",
            )
            .bind(id)
            .bind(&value.field)
            .bind(i64::from(value.key_version))
            .bind(&value.ciphertext)
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        }
        Ok(())
    }

    async fn insert_index(conn: &mut AnyConnection, id: &str, entries: &[IndexEntry]) -> Result<(), StoreError> {
        for entry in entries {
            sqlx::query(
                "INSERT INTO blind_index (index_name, digest, subject_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&entry.index)
            .bind(&entry.digest)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        }
        Ok(())
    }
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.dialect.name
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(|e| backend(&e))?;
        Ok(())
    }

    async fn keyring(&self) -> Result<Option<KeyringRecord>, StoreError> {
        let meta = sqlx::query("SELECT key, value FROM meta WHERE key IN ('root_fingerprint', 'index_key')")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?;
        if meta.is_empty() {
            return Ok(None);
        }
        let mut fingerprint = None;
        let mut index_key = None;
        for row in &meta {
            let key: String = row.try_get("key").map_err(|e| backend(&e))?;
            let value: Vec<u8> = row.try_get("value").map_err(|e| backend(&e))?;
            match key.as_str() {
                "root_fingerprint" => fingerprint = Some(value),
                _ => index_key = Some(value),
            }
        }
        let root_fingerprint: [u8; 32] =
            fingerprint.and_then(|f| f.try_into().ok()).ok_or_else(|| corrupt("root fingerprint"))?;
        let index_key_wrapped = index_key.ok_or_else(|| corrupt("index key"))?;
        let keks = sqlx::query("SELECT version, wrapped, created_at FROM keks ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(|row| {
                Ok(StoredKek {
                    version: u32_col(row, "version")?,
                    wrapped: row.try_get("wrapped").map_err(|e| backend(&e))?,
                    created_at: Timestamp(row.try_get("created_at").map_err(|e| backend(&e))?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(KeyringRecord { root_fingerprint, index_key_wrapped, keks }))
    }

    async fn initialise(
        &self,
        keyring: &KeyringRecord,
        admin_token: &TokenRecord,
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM meta")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(|e| backend(&e))?;
        if existing > 0 {
            return Err(StoreError::AlreadyInitialised);
        }
        for (key, value) in [
            ("root_fingerprint", keyring.root_fingerprint.as_slice()),
            ("index_key", keyring.index_key_wrapped.as_slice()),
        ] {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
                .bind(key)
                .bind(value.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::AlreadyInitialised } else { backend(&e) })?;
        }
        for kek in &keyring.keks {
            sqlx::query("INSERT INTO keks (version, wrapped, created_at) VALUES ($1, $2, $3)")
                .bind(i64::from(kek.version))
                .bind(&kek.wrapped)
                .bind(kek.created_at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        sqlx::query(
            "INSERT INTO tokens (id, name, hash, role, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(admin_token.id.to_string())
        .bind(&admin_token.name)
        .bind(admin_token.hash.to_vec())
        .bind(&admin_token.role)
        .bind(admin_token.created_at.as_millis())
        .bind(admin_token.revoked_at.map(Timestamp::as_millis))
        .execute(&mut *tx)
        .await
        .map_err(|e| backend(&e))?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT id, name, hash, role, created_at, revoked_at FROM tokens WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
        else {
            return Ok(None);
        };
        let id: String = row.try_get("id").map_err(|e| backend(&e))?;
        let stored_hash: Vec<u8> = row.try_get("hash").map_err(|e| backend(&e))?;
        let revoked_at: Option<i64> = row.try_get("revoked_at").map_err(|e| backend(&e))?;
        Ok(Some(TokenRecord {
            id: id.parse::<TokenId>().map_err(|_| corrupt("token id"))?,
            name: row.try_get("name").map_err(|e| backend(&e))?,
            hash: stored_hash.try_into().map_err(|_| corrupt("token hash"))?,
            role: row.try_get("role").map_err(|e| backend(&e))?,
            created_at: Timestamp(row.try_get("created_at").map_err(|e| backend(&e))?),
            revoked_at: revoked_at.map(Timestamp),
        }))
    }

    async fn create_subject(&self, subject: &NewSubject, audit: &AuditEvent) -> Result<(), StoreError> {
        let id = subject.id.to_string();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO subjects (id, kind, created_at, updated_at, revision, key_version, kek_version, wrapped_key) \
             VALUES ($1, $2, $3, $3, 1, $4, $5, $6)",
        )
        .bind(&id)
        .bind(subject.kind.as_str())
        .bind(subject.created_at.as_millis())
        .bind(i64::from(subject.data_key.key_version))
        .bind(i64::from(subject.data_key.kek_version))
        .bind(&subject.data_key.wrapped)
        .execute(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Duplicate } else { backend(&e) })?;
        Self::upsert_values(&mut tx, &id, &subject.values).await?;
        Self::insert_index(&mut tx, &id, &subject.index).await?;
        Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn load_subject(&self, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| backend(&e))?;
        Self::load_in(&mut conn, id).await
    }

    async fn read_subject<F>(&self, id: SubjectId, audit: F) -> Result<Option<SubjectRecord>, StoreError>
    where
        F: FnOnce(Option<&SubjectRecord>) -> AuditEvent + Send,
    {
        let mut tx = self.begin_write().await?;
        let record = Self::load_in(&mut tx, id).await?;
        let event = audit(record.as_ref());
        Self::append_in(&mut tx, std::slice::from_ref(&event)).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(record)
    }

    async fn find_subjects<F>(&self, entry: &IndexEntry, audit: F) -> Result<Vec<SubjectRecord>, StoreError>
    where
        F: FnOnce(&[SubjectRecord]) -> Vec<AuditEvent> + Send,
    {
        let mut tx = self.begin_write().await?;
        let ids: Vec<String> =
            sqlx::query("SELECT subject_id FROM blind_index WHERE index_name = $1 AND digest = $2 ORDER BY subject_id")
                .bind(&entry.index)
                .bind(&entry.digest)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| backend(&e))?
                .iter()
                .map(|r| r.try_get("subject_id"))
                .collect::<Result<_, _>>()
                .map_err(|e| backend(&e))?;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = Self::load_in(&mut tx, subject_id(&id)?).await? {
                records.push(record);
            }
        }
        let events = audit(&records);
        Self::append_in(&mut tx, &events).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(records)
    }

    async fn update_subject(&self, change: &SubjectChange, audit: &AuditEvent) -> Result<(), StoreError> {
        let id = change.id.to_string();
        let mut tx = self.begin_write().await?;
        let updated =
            sqlx::query("UPDATE subjects SET revision = revision + 1, updated_at = $1 WHERE id = $2 AND revision = $3")
                .bind(change.updated_at.as_millis())
                .bind(&id)
                .bind(change.expected_revision)
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        if updated.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 AS one FROM subjects WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| backend(&e))?
                .is_some();
            return Err(if exists { StoreError::Conflict(change.id) } else { StoreError::NotFound(change.id) });
        }
        Self::upsert_values(&mut tx, &id, &change.set).await?;
        for field in &change.remove {
            sqlx::query("DELETE FROM subject_values WHERE subject_id = $1 AND field = $2")
                .bind(&id)
                .bind(field)
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        sqlx::query("DELETE FROM blind_index WHERE subject_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        Self::insert_index(&mut tx, &id, &change.index).await?;
        Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn erase_subject<F>(&self, id: SubjectId, erased_at: Timestamp, audit: F) -> Result<bool, StoreError>
    where
        F: FnOnce(bool) -> AuditEvent + Send,
    {
        let id_text = id.to_string();
        let mut tx = self.begin_write().await?;
        for table in
            ["DELETE FROM blind_index WHERE subject_id = $1", "DELETE FROM subject_values WHERE subject_id = $1"]
        {
            sqlx::query(table).bind(&id_text).execute(&mut *tx).await.map_err(|e| backend(&e))?;
        }
        // Deleting the row destroys the only copy of the wrapped data key: crypto-shredding.
        let existed = sqlx::query("DELETE FROM subjects WHERE id = $1")
            .bind(&id_text)
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
            .rows_affected()
            > 0;
        if existed {
            sqlx::query("INSERT INTO erasures (subject_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&id_text)
                .bind(erased_at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        let event = audit(existed);
        Self::append_in(&mut tx, std::slice::from_ref(&event)).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        if existed
            && let Some(statement) = self.dialect.after_erase
            && let Err(e) = sqlx::query(statement).execute(&self.pool).await
        {
            tracing::warn!(error = %e, "post-erasure maintenance failed; it is retried at the next erasure");
        }
        Ok(existed)
    }

    async fn is_erased(&self, id: SubjectId) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 AS one FROM erasures WHERE subject_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .is_some())
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        Self::append_in(&mut tx, events).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn audit_events(&self, from: i64, limit: u32) -> Result<Vec<StoredAuditEvent>, StoreError> {
        sqlx::query("SELECT seq, event FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2")
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(|r| {
                Ok(StoredAuditEvent {
                    seq: r.try_get("seq").map_err(|e| backend(&e))?,
                    event: r.try_get("event").map_err(|e| backend(&e))?,
                })
            })
            .collect()
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM subjects) AS subjects, (SELECT COUNT(*) FROM subject_values) AS vals, \
             (SELECT COUNT(*) FROM blind_index) AS idx, (SELECT COUNT(*) FROM audit_events) AS audit, \
             (SELECT COUNT(*) FROM erasures) AS erasures",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| backend(&e))?;
        let get = |c: &str| -> Result<i64, StoreError> { row.try_get(c).map_err(|e| backend(&e)) };
        Ok(Counts {
            subjects: get("subjects")?,
            values: get("vals")?,
            index_entries: get("idx")?,
            audit_events: get("audit")?,
            erasures: get("erasures")?,
        })
    }
}
