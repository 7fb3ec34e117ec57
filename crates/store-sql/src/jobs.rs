//! The bodies of the store methods that run as group-commit jobs ([`crate::writer`]): plain
//! functions of a connection, so a job can own its arguments and run them inside the writer's
//! transaction. Each one leaves its audit events to the writer, which appends the events of a
//! whole batch at once.

use kluis_domain::{SubjectId, Timestamp};
use kluis_store::{IndexEntry, NewSubject, StoreError, StoredValue, SubjectChange, SubjectRecord};
use sqlx::AnyConnection;

use crate::{MAX_PARAMS, Params, ROWS_PER_INSERT, SUBJECT_COLUMNS, SqlStore, backend, unique_or_backend, values_sql};

/// The subjects an index entry names (index name, digest), in id order, with their values.
pub(crate) const FIND_SUBJECTS: &str = concat!(
    crate::subject_select!(),
    "JOIN blind_index b ON b.subject_id = s.id WHERE b.index_name = $1 AND b.digest = $2 ORDER BY s.id, v.field"
);

/// Multi-row inserts of new subjects' rows (`values_sql`; 8, 4 and 3 columns).
pub(crate) const INSERT_SUBJECTS: &str = "INSERT INTO subjects (id, kind, created_at, updated_at, revision, \
    key_version, kek_version, wrapped_key) VALUES ";
pub(crate) const INSERT_VALUES: &str =
    "INSERT INTO subject_values (subject_id, field, key_version, ciphertext) VALUES ";
pub(crate) const INSERT_INDEX: &str = "INSERT INTO blind_index (index_name, digest, subject_id) VALUES ";
/// An index entry already present is kept.
pub(crate) const INDEX_CONFLICT: &str = " ON CONFLICT DO NOTHING";

impl SqlStore {
    /// Inserts new subjects with their values and index entries: multi-row inserts of at most 100
    /// rows and 400 parameters (see `append_in` on why not more). A taken id is `Duplicate`.
    pub(crate) async fn insert_subjects_in(
        conn: &mut AnyConnection,
        subjects: &[&NewSubject],
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = subjects.iter().map(|s| s.id.to_string()).collect();
        for chunk in subjects.iter().zip(&ids).collect::<Vec<_>>().chunks(MAX_PARAMS / SUBJECT_COLUMNS) {
            let sql = values_sql(Params::of(conn), INSERT_SUBJECTS, SUBJECT_COLUMNS, chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (subject, id) in chunk {
                query = query
                    .bind(id.as_str())
                    .bind(subject.kind.as_str())
                    .bind(subject.created_at.as_millis())
                    .bind(subject.created_at.as_millis())
                    .bind(1_i64)
                    .bind(i64::from(subject.data_key.key_version))
                    .bind(i64::from(subject.data_key.kek_version))
                    .bind(subject.data_key.wrapped.as_slice());
            }
            query.execute(&mut *conn).await.map_err(|e| unique_or_backend(&e))?;
        }
        let values: Vec<(&str, &StoredValue)> =
            subjects.iter().zip(&ids).flat_map(|(s, id)| s.values.iter().map(move |v| (id.as_str(), v))).collect();
        for chunk in values.chunks(ROWS_PER_INSERT) {
            let sql = values_sql(Params::of(conn), INSERT_VALUES, 4, chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, value) in chunk {
                query = query
                    .bind(*id)
                    .bind(value.field.as_str())
                    .bind(i64::from(value.key_version))
                    .bind(value.ciphertext.as_slice());
            }
            query.execute(&mut *conn).await.map_err(|e| unique_or_backend(&e))?;
        }
        let entries: Vec<(&str, &IndexEntry)> =
            subjects.iter().zip(&ids).flat_map(|(s, id)| s.index.iter().map(move |e| (id.as_str(), e))).collect();
        Self::insert_index_rows(conn, &entries).await
    }

    /// Index entries as multi-row inserts; an entry already present is kept.
    async fn insert_index_rows(conn: &mut AnyConnection, entries: &[(&str, &IndexEntry)]) -> Result<(), StoreError> {
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let mut sql = values_sql(Params::of(conn), INSERT_INDEX, 3, chunk.len());
            sql.push_str(INDEX_CONFLICT);
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, entry) in chunk {
                query = query.bind(entry.index.as_str()).bind(entry.digest.as_slice()).bind(*id);
            }
            query.execute(&mut *conn).await.map_err(|e| backend(&e))?;
        }
        Ok(())
    }

    /// Applies a change at its expected revision: `Conflict` when the subject changed meanwhile,
    /// `NotFound` when it is gone.
    pub(crate) async fn update_subject_in(conn: &mut AnyConnection, change: &SubjectChange) -> Result<(), StoreError> {
        let id = change.id.to_string();
        let updated =
            sqlx::query("UPDATE subjects SET revision = revision + 1, updated_at = $1 WHERE id = $2 AND revision = $3")
                .bind(change.updated_at.as_millis())
                .bind(&id)
                .bind(change.expected_revision)
                .execute(&mut *conn)
                .await
                .map_err(|e| backend(&e))?;
        if updated.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 AS one FROM subjects WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| backend(&e))?
                .is_some();
            return Err(if exists { StoreError::Conflict(change.id) } else { StoreError::NotFound(change.id) });
        }
        // One multi-row upsert; a field set twice keeps its last value, as one upsert per value did.
        let mut set: Vec<&StoredValue> = Vec::with_capacity(change.set.len());
        for value in change.set.iter().rev() {
            if !set.iter().any(|v| v.field == value.field) {
                set.push(value);
            }
        }
        set.reverse();
        for chunk in set.chunks(ROWS_PER_INSERT) {
            let mut sql = values_sql(Params::of(conn), INSERT_VALUES, 4, chunk.len());
            sql.push_str(
                " ON CONFLICT (subject_id, field) DO UPDATE SET key_version = excluded.key_version, \
                 ciphertext = excluded.ciphertext",
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for value in chunk {
                query = query
                    .bind(id.as_str())
                    .bind(value.field.as_str())
                    .bind(i64::from(value.key_version))
                    .bind(value.ciphertext.as_slice());
            }
            query.execute(&mut *conn).await.map_err(|e| backend(&e))?;
        }
        for field in &change.remove {
            sqlx::query("DELETE FROM subject_values WHERE subject_id = $1 AND field = $2")
                .bind(&id)
                .bind(field)
                .execute(&mut *conn)
                .await
                .map_err(|e| backend(&e))?;
        }
        sqlx::query("DELETE FROM blind_index WHERE subject_id = $1")
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        let entries: Vec<(&str, &IndexEntry)> = change.index.iter().map(|e| (id.as_str(), e)).collect();
        Self::insert_index_rows(conn, &entries).await
    }

    /// The subjects an index entry names, in id order.
    pub(crate) async fn find_in(
        conn: &mut AnyConnection,
        entry: &IndexEntry,
    ) -> Result<Vec<SubjectRecord>, StoreError> {
        let rows = sqlx::query(FIND_SUBJECTS)
            .bind(&entry.index)
            .bind(&entry.digest)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        Self::records_from(&rows)
    }

    /// Deletes a subject's values, index entries and row (the only copy of its wrapped data key:
    /// crypto-shredding) and records the erasure; whether it existed.
    pub(crate) async fn erase_in(
        conn: &mut AnyConnection,
        id: SubjectId,
        erased_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let id_text = id.to_string();
        for table in
            ["DELETE FROM blind_index WHERE subject_id = $1", "DELETE FROM subject_values WHERE subject_id = $1"]
        {
            sqlx::query(table).bind(&id_text).execute(&mut *conn).await.map_err(|e| backend(&e))?;
        }
        let existed = sqlx::query("DELETE FROM subjects WHERE id = $1")
            .bind(&id_text)
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?
            .rows_affected()
            > 0;
        if existed {
            sqlx::query("INSERT INTO erasures (subject_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&id_text)
                .bind(erased_at.as_millis())
                .execute(&mut *conn)
                .await
                .map_err(|e| backend(&e))?;
        }
        Ok(existed)
    }

    /// Sets or lifts the Art. 18 restriction; whether the subject exists.
    pub(crate) async fn restrict_in(
        conn: &mut AnyConnection,
        id: SubjectId,
        restricted: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query("UPDATE subjects SET restricted = $1, updated_at = $2, revision = revision + 1 WHERE id = $3")
            .bind(i64::from(restricted))
            .bind(now.as_millis())
            .bind(id.to_string())
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?
            .rows_affected()
            > 0)
    }
}
