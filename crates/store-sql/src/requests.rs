//! Data-subject requests, their timelines, codes, quarantined uploads and exports; the fiscal
//! archive and objections of subjects; the audit events of one subject. The `Store` methods in
//! `lib.rs` delegate here.

use kluis_domain::audit::AuditEvent;
use kluis_domain::request::{Channel, RequestKind, RequestState, TimelineKind, Verification};
use kluis_domain::{RequestId, SubjectId, Timestamp};
use kluis_store::{
    Archive, ArchiveChange, IndexEntry, RequestCode, RequestRecord, SealedSecret, StoreError, StoredAuditEvent,
    StoredExport, StoredUpload, TimelineEntry,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    Cols, SqlStore, backend, corrupt, hash_col, list_col, list_json, opt_time_col, query_all, stored_event_from,
    time_col, to_i64, u32_col,
};

macro_rules! request_select {
    () => {
        "SELECT id, kind, state, channel, lang, subject_id, purpose, received_at, due_on, extended_to, verification, \
         verified_at, closed_at, id_upload_allowed, kek_version, wrapped_key, contact_sealed, details_sealed, revision \
         FROM requests "
    };
}

pub(crate) fn archive_from(row: &impl Cols) -> Result<Option<Archive>, StoreError> {
    let purpose = row.opt_text("archive_purpose")?;
    let until = opt_time_col(row, "archive_until")?;
    match (purpose, until) {
        (Some(purpose), Some(until)) => Ok(Some(Archive { purpose, until })),
        (None, None) => Ok(None),
        _ => Err(corrupt("subject archive")),
    }
}

fn parse_col<T: std::str::FromStr>(row: &AnyRow, col: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(col).map_err(|e| backend(&e))?;
    text.parse().map_err(|_| corrupt(col))
}

fn request_from(row: &AnyRow) -> Result<RequestRecord, StoreError> {
    let subject: Option<String> = row.try_get("subject_id").map_err(|e| backend(&e))?;
    let verification: Option<String> = row.try_get("verification").map_err(|e| backend(&e))?;
    let kek_version: Option<i64> = row.try_get("kek_version").map_err(|e| backend(&e))?;
    let wrapped: Option<Vec<u8>> = row.try_get("wrapped_key").map_err(|e| backend(&e))?;
    let data_key = match (kek_version, wrapped) {
        (Some(v), Some(sealed)) => {
            Some(SealedSecret { kek_version: u32::try_from(v).map_err(|_| corrupt("kek_version"))?, sealed })
        }
        (None, None) => None,
        _ => return Err(corrupt("request key")),
    };
    Ok(RequestRecord {
        id: parse_col(row, "id")?,
        kind: parse_col::<RequestKind>(row, "kind")?,
        state: parse_col::<RequestState>(row, "state")?,
        channel: parse_col::<Channel>(row, "channel")?,
        lang: row.try_get("lang").map_err(|e| backend(&e))?,
        subject: subject.map(|s| s.parse().map_err(|_| corrupt("subject_id"))).transpose()?,
        purpose: row.try_get("purpose").map_err(|e| backend(&e))?,
        received_at: time_col(row, "received_at")?,
        due_on: row.try_get("due_on").map_err(|e| backend(&e))?,
        extended_to: row.try_get("extended_to").map_err(|e| backend(&e))?,
        verification: verification
            .map(|v| v.parse::<Verification>().map_err(|_| corrupt("verification")))
            .transpose()?,
        verified_at: opt_time_col(row, "verified_at")?,
        closed_at: opt_time_col(row, "closed_at")?,
        id_upload_allowed: row.try_get::<i64, _>("id_upload_allowed").map_err(|e| backend(&e))? != 0,
        data_key,
        contact: row.try_get("contact_sealed").map_err(|e| backend(&e))?,
        details: row.try_get("details_sealed").map_err(|e| backend(&e))?,
        revision: row.try_get("revision").map_err(|e| backend(&e))?,
    })
}

fn entry_from(row: &AnyRow) -> Result<TimelineEntry, StoreError> {
    Ok(TimelineEntry {
        at: time_col(row, "at")?,
        kind: parse_col::<TimelineKind>(row, "kind")?,
        actor: row.try_get("actor").map_err(|e| backend(&e))?,
        state: parse_col::<RequestState>(row, "state")?,
        detail: row.try_get("detail").map_err(|e| backend(&e))?,
        note: row.try_get("note_sealed").map_err(|e| backend(&e))?,
    })
}

fn export_from(row: &AnyRow) -> Result<StoredExport, StoreError> {
    Ok(StoredExport {
        id: row.try_get("id").map_err(|e| backend(&e))?,
        request: parse_col(row, "request_id")?,
        format: row.try_get("format").map_err(|e| backend(&e))?,
        token_hash: hash_col(row, "token_hash")?,
        created_at: time_col(row, "created_at")?,
        expires_at: time_col(row, "expires_at")?,
        sealed: row.try_get("sealed").map_err(|e| backend(&e))?,
    })
}

fn opt_millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::as_millis)
}

impl SqlStore {
    async fn insert_timeline_in(
        conn: &mut AnyConnection,
        id: RequestId,
        entries: &[TimelineEntry],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let id = id.to_string();
        let next: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM request_timeline WHERE request_id = $1")
                .bind(&id)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| backend(&e))?
                .try_get("next")
                .map_err(|e| backend(&e))?;
        for (seq, entry) in (next..).zip(entries) {
            sqlx::query(
                "INSERT INTO request_timeline (request_id, seq, at, kind, actor, state, detail, note_sealed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(seq)
            .bind(entry.at.as_millis())
            .bind(entry.kind.as_str())
            .bind(&entry.actor)
            .bind(entry.state.as_str())
            .bind(entry.detail.as_deref())
            .bind(entry.note.as_deref())
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        }
        Ok(())
    }

    /// The UPDATE of every mutable column, checked against `expected_revision`.
    async fn update_request_in(
        conn: &mut AnyConnection,
        r: &RequestRecord,
        expected_revision: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE requests SET state = $1, lang = $2, subject_id = $3, purpose = $4, due_on = $5, extended_to = $6, \
             verification = $7, verified_at = $8, closed_at = $9, id_upload_allowed = $10, kek_version = $11, \
             wrapped_key = $12, contact_sealed = $13, details_sealed = $14, revision = revision + 1 \
             WHERE id = $15 AND revision = $16",
        )
        .bind(r.state.as_str())
        .bind(&r.lang)
        .bind(r.subject.map(|s| s.to_string()))
        .bind(r.purpose.as_deref())
        .bind(&r.due_on)
        .bind(r.extended_to.as_deref())
        .bind(r.verification.map(Verification::as_str))
        .bind(opt_millis(r.verified_at))
        .bind(opt_millis(r.closed_at))
        .bind(i64::from(r.id_upload_allowed))
        .bind(r.data_key.as_ref().map(|k| i64::from(k.kek_version)))
        .bind(r.data_key.as_ref().map(|k| k.sealed.as_slice()))
        .bind(r.contact.as_deref())
        .bind(r.details.as_deref())
        .bind(r.id.to_string())
        .bind(expected_revision)
        .execute(&mut *conn)
        .await
        .map_err(|e| backend(&e))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn create_request_impl(
        &self,
        r: &RequestRecord,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO requests (id, kind, state, channel, lang, subject_id, purpose, received_at, due_on, \
             extended_to, verification, verified_at, closed_at, id_upload_allowed, kek_version, wrapped_key, \
             contact_sealed, details_sealed, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 1)",
        )
        .bind(r.id.to_string())
        .bind(r.kind.as_str())
        .bind(r.state.as_str())
        .bind(r.channel.as_str())
        .bind(&r.lang)
        .bind(r.subject.map(|s| s.to_string()))
        .bind(r.purpose.as_deref())
        .bind(r.received_at.as_millis())
        .bind(&r.due_on)
        .bind(r.extended_to.as_deref())
        .bind(r.verification.map(Verification::as_str))
        .bind(opt_millis(r.verified_at))
        .bind(opt_millis(r.closed_at))
        .bind(i64::from(r.id_upload_allowed))
        .bind(r.data_key.as_ref().map(|k| i64::from(k.kek_version)))
        .bind(r.data_key.as_ref().map(|k| k.sealed.as_slice()))
        .bind(r.contact.as_deref())
        .bind(r.details.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| super::unique_or_backend(&e))?;
        Self::insert_timeline_in(&mut tx, r.id, timeline).await?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    pub(crate) async fn request_impl(&self, id: RequestId) -> Result<Option<RequestRecord>, StoreError> {
        sqlx::query(concat!(request_select!(), "WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(request_from)
            .transpose()
    }

    pub(crate) async fn requests_of_subject_impl(&self, subject: SubjectId) -> Result<Vec<RequestRecord>, StoreError> {
        sqlx::query(concat!(request_select!(), "WHERE subject_id = $1 ORDER BY received_at DESC, id DESC"))
            .bind(subject.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(request_from)
            .collect()
    }

    pub(crate) async fn requests_impl(&self, open_only: bool, limit: u32) -> Result<Vec<RequestRecord>, StoreError> {
        let sql = if open_only {
            concat!(request_select!(), "WHERE closed_at IS NULL ORDER BY received_at DESC, id DESC LIMIT $1")
        } else {
            concat!(request_select!(), "ORDER BY received_at DESC, id DESC LIMIT $1")
        };
        sqlx::query(sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(request_from)
            .collect()
    }

    pub(crate) async fn update_request_impl(
        &self,
        r: &RequestRecord,
        expected_revision: i64,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !Self::update_request_in(&mut tx, r, expected_revision).await? {
            return Ok(false);
        }
        if r.closed_at.is_some() || !r.id_upload_allowed {
            // A closed request, or one whose upload permission was taken back, keeps no ID document.
            sqlx::query("DELETE FROM request_uploads WHERE request_id = $1")
                .bind(r.id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        if r.closed_at.is_some() {
            sqlx::query("DELETE FROM request_codes WHERE request_id = $1")
                .bind(r.id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        Self::insert_timeline_in(&mut tx, r.id, timeline).await?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(true)
    }

    pub(crate) async fn request_timeline_impl(&self, id: RequestId) -> Result<Vec<TimelineEntry>, StoreError> {
        sqlx::query(
            "SELECT at, kind, actor, state, detail, note_sealed FROM request_timeline WHERE request_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| backend(&e))?
        .iter()
        .map(entry_from)
        .collect()
    }

    pub(crate) async fn put_request_code_impl(&self, id: RequestId, code: &RequestCode) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO request_codes (request_id, hash, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (request_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, attempts = excluded.attempts",
        )
        .bind(id.to_string())
        .bind(code.hash.to_vec())
        .bind(code.created_at.as_millis())
        .bind(code.expires_at.as_millis())
        .bind(i64::from(code.attempts))
        .execute(&mut *tx)
        .await
        .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    pub(crate) async fn request_code_impl(&self, id: RequestId) -> Result<Option<RequestCode>, StoreError> {
        sqlx::query("SELECT hash, created_at, expires_at, attempts FROM request_codes WHERE request_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .map(|row| {
                Ok(RequestCode {
                    hash: hash_col(&row, "hash")?,
                    created_at: time_col(&row, "created_at")?,
                    expires_at: time_col(&row, "expires_at")?,
                    attempts: u32_col(&row, "attempts")?,
                })
            })
            .transpose()
    }

    pub(crate) async fn fail_request_code_impl(
        &self,
        id: RequestId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("UPDATE request_codes SET attempts = attempts + 1 WHERE request_id = $1 RETURNING attempts")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts = u32_col(&row, "attempts")?;
        if attempts >= max_attempts {
            sqlx::query("DELETE FROM request_codes WHERE request_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(Some(attempts))
    }

    pub(crate) async fn take_request_code_impl(&self, id: RequestId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM request_codes WHERE request_id = $1 AND hash = $2")
            .bind(id.to_string())
            .bind(hash.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn put_upload_impl(
        &self,
        id: RequestId,
        upload: &StoredUpload,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO request_uploads (request_id, content_type, size, uploaded_at, sealed) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (request_id) DO UPDATE SET content_type = excluded.content_type, size = excluded.size, \
             uploaded_at = excluded.uploaded_at, sealed = excluded.sealed",
        )
        .bind(id.to_string())
        .bind(&upload.content_type)
        .bind(to_i64(upload.size)?)
        .bind(upload.uploaded_at.as_millis())
        .bind(&upload.sealed)
        .execute(&mut *tx)
        .await
        .map_err(|e| backend(&e))?;
        Self::insert_timeline_in(&mut tx, id, timeline).await?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    pub(crate) async fn upload_impl(&self, id: RequestId) -> Result<Option<StoredUpload>, StoreError> {
        sqlx::query("SELECT content_type, size, uploaded_at, sealed FROM request_uploads WHERE request_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .map(|row| {
                let size: i64 = row.try_get("size").map_err(|e| backend(&e))?;
                Ok(StoredUpload {
                    content_type: row.try_get("content_type").map_err(|e| backend(&e))?,
                    size: u64::try_from(size).map_err(|_| corrupt("upload size"))?,
                    uploaded_at: time_col(&row, "uploaded_at")?,
                    sealed: row.try_get("sealed").map_err(|e| backend(&e))?,
                })
            })
            .transpose()
    }

    pub(crate) async fn delete_upload_impl(&self, id: RequestId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM request_uploads WHERE request_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn put_exports_impl(
        &self,
        exports: &[StoredExport],
        r: &RequestRecord,
        expected_revision: i64,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !Self::update_request_in(&mut tx, r, expected_revision).await? {
            return Ok(false);
        }
        for export in exports {
            sqlx::query(
                "INSERT INTO request_exports (id, request_id, format, token_hash, created_at, expires_at, sealed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&export.id)
            .bind(export.request.to_string())
            .bind(&export.format)
            .bind(export.token_hash.to_vec())
            .bind(export.created_at.as_millis())
            .bind(export.expires_at.as_millis())
            .bind(&export.sealed)
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        }
        Self::insert_timeline_in(&mut tx, r.id, timeline).await?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(true)
    }

    pub(crate) async fn exports_by_token_impl(&self, token_hash: &[u8; 32]) -> Result<Vec<StoredExport>, StoreError> {
        sqlx::query(
            "SELECT id, request_id, format, token_hash, created_at, expires_at, sealed FROM request_exports \
             WHERE token_hash = $1 ORDER BY id",
        )
        .bind(token_hash.to_vec())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| backend(&e))?
        .iter()
        .map(export_from)
        .collect()
    }

    pub(crate) async fn subject_ids_by_index_impl(&self, entry: &IndexEntry) -> Result<Vec<SubjectId>, StoreError> {
        sqlx::query("SELECT subject_id FROM blind_index WHERE index_name = $1 AND digest = $2 ORDER BY subject_id")
            .bind(&entry.index)
            .bind(&entry.digest)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(|r| parse_col(r, "subject_id"))
            .collect()
    }

    pub(crate) async fn delete_expired_exports_impl(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM request_exports WHERE expires_at <= $1")
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn append_timeline_impl(
        &self,
        id: RequestId,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        Self::insert_timeline_in(&mut tx, id, timeline).await?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    pub(crate) async fn archive_subject_impl(
        &self,
        c: &ArchiveChange,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let id = c.id.to_string();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE subjects SET revision = revision + 1, updated_at = $1, archive_purpose = $2, archive_until = $3 \
             WHERE id = $4 AND revision = $5",
        )
        .bind(c.at.as_millis())
        .bind(&c.archive.purpose)
        .bind(c.archive.until.as_millis())
        .bind(&id)
        .bind(c.expected_revision)
        .execute(&mut *tx)
        .await
        .map_err(|e| backend(&e))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let fields: Vec<String> = sqlx::query("SELECT field FROM subject_values WHERE subject_id = $1")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(|r| r.try_get("field").map_err(|e| backend(&e)))
            .collect::<Result<_, _>>()?;
        for field in fields.iter().filter(|f| !c.keep.contains(f)) {
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
        Self::insert_index(&mut tx, &id, &c.index).await?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(true)
    }

    pub(crate) async fn add_objection_impl(
        &self,
        id: SubjectId,
        purpose: &str,
        at: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let id_text = id.to_string();
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query("SELECT objections FROM subjects WHERE id = $1")
            .bind(&id_text)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
        else {
            Self::append_in(&mut tx, audit).await?;
            tx.commit().await.map_err(|e| backend(&e))?;
            return Ok(false);
        };
        let mut list = list_col(&row, "objections")?;
        if !list.iter().any(|p| p == purpose) {
            list.push(purpose.to_owned());
            list.sort();
            sqlx::query("UPDATE subjects SET objections = $1, revision = revision + 1, updated_at = $2 WHERE id = $3")
                .bind(list_json(&list))
                .bind(at.as_millis())
                .bind(&id_text)
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(true)
    }

    pub(crate) async fn subject_events_impl(
        &self,
        id: SubjectId,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, StoreError> {
        if let Some(direct) = &self.direct {
            // Row by row: without the driver's hop per row, packing them gains nothing.
            const SQL: &str =
                "SELECT seq, event FROM audit_events WHERE subject = $1 AND seq >= $2 ORDER BY seq LIMIT $3";
            let params = (id.to_string(), to_i64(from_seq)?, i64::from(limit));
            return direct.read_blocking(move |conn| query_all(conn, SQL, params, |row| stored_event_from(row))).await;
        }
        let packed: Option<String> = sqlx::query(self.dialect.subject_events)
            .bind(id.to_string())
            .bind(to_i64(from_seq)?)
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .try_get("packed")
            .map_err(|e| backend(&e))?;
        // Compact JSON never holds a raw newline, so each line is one event.
        packed
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let (seq, event) = line.split_once(' ').ok_or_else(|| corrupt("packed audit event"))?;
                Ok(StoredAuditEvent {
                    seq: seq.parse().map_err(|_| corrupt("packed audit seq"))?,
                    event: event.as_bytes().to_vec(),
                })
            })
            .collect()
    }
}
