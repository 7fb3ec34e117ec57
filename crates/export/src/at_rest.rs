//! Exports at rest: compressed before they are sealed, restored when they are downloaded.
//!
//! An access export of a subject with 10,000 events is megabytes of JSON and HTML that compress
//! tenfold; writing the compressed form keeps the durable write (and the database) small. The
//! stored form is gzip (RFC 1952) at the fastest level, recognised by its magic bytes, so exports
//! written before compression (JSON, HTML, CSV, a zip) are still read as they are: none of those
//! formats can begin with `1f 8b`. Compression happens before encryption on data kluis wrote itself,
//! at rest, with no attacker-chosen text mixed in and no length observed per guess, so it gives no
//! compression oracle.

use std::io::{BufWriter, Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most a stored export may grow to when restored (a guard, far above any real export).
pub const MAX_RESTORED_BYTES: u64 = 1 << 30;

/// Why a stored export could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the stored export is not valid gzip: {0}")]
    Corrupt(std::io::Error),
    #[error("the stored export restores to more than {MAX_RESTORED_BYTES} bytes")]
    TooLarge,
}

/// Whether `format` is worth compressing: a zip already is compressed.
pub fn compresses(format: &str) -> bool {
    !matches!(format, "csv_zip")
}

/// The stored form of an export: gzip at the fastest level.
pub fn pack(bytes: &[u8]) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    pack_with(|w| w.write_all(bytes)).expect("writing into memory")
}

/// The stored form of what `write` writes, compressed as it is written (the whole text never
/// exists in memory); the first error of `write` is returned.
pub fn pack_with(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<Vec<u8>> {
    // Small writes (a serialiser's) are gathered before they reach the compressor.
    let mut buffered = BufWriter::with_capacity(64 * 1024, GzEncoder::new(Vec::new(), Compression::fast()));
    write(&mut buffered)?;
    buffered.into_inner().map_err(std::io::IntoInnerError::into_error)?.finish()
}

/// The export as it was built: gzip is decompressed, anything else returned as it is.
pub fn unpack(stored: Vec<u8>) -> Result<Vec<u8>, RestoreError> {
    if !stored.starts_with(&GZIP_MAGIC) {
        return Ok(stored);
    }
    let mut out = Vec::with_capacity(stored.len().saturating_mul(8));
    GzDecoder::new(stored.as_slice())
        .take(MAX_RESTORED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(RestoreError::Corrupt)?;
    if out.len() as u64 > MAX_RESTORED_BYTES {
        return Err(RestoreError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_shrinks_and_comes_back() {
        let json = br#"{"seq":1,"action":"subject.read","purpose":"billing"}"#.repeat(1000);
        let packed = pack(&json);
        assert!(packed.starts_with(&GZIP_MAGIC));
        assert!(packed.len() * 10 < json.len(), "{} of {}", packed.len(), json.len());
        assert_eq!(unpack(packed).unwrap(), json);
    }

    #[test]
    fn written_and_whole_packing_agree() {
        let text = b"{\"event\":\"subject.read\"}\n".repeat(5000);
        let streamed = pack_with(|w| {
            for chunk in text.chunks(7) {
                w.write_all(chunk)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(unpack(streamed).unwrap(), text);
        let failing = pack_with(|_| Err(std::io::Error::other("the writer failed")));
        assert_eq!(failing.unwrap_err().to_string(), "the writer failed");
    }

    #[test]
    fn exports_stored_before_compression_read_as_they_are() {
        for plain in [&b"{\"format\":\"kluis-access-export\"}"[..], b"<!doctype html>", b"PK\x03\x04zip", b""] {
            assert_eq!(unpack(plain.to_vec()).unwrap(), plain);
        }
    }

    #[test]
    fn a_damaged_gzip_is_an_error() {
        let mut packed = pack(&b"kluis ".repeat(100));
        let last = packed.len() - 5;
        packed[last] ^= 0xff;
        assert!(matches!(unpack(packed), Err(RestoreError::Corrupt(_))));
    }

    #[test]
    fn only_the_zip_is_left_alone() {
        assert!(!compresses("csv_zip"));
        for format in ["json", "html", "csv", "report"] {
            assert!(compresses(format), "{format}");
        }
    }

    proptest! {
        #[test]
        fn pack_then_unpack_is_the_identity(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            prop_assert_eq!(unpack(pack(&bytes)).unwrap(), bytes);
        }
    }
}
