//! HTTPS: the certificate chain and private key from PEM files, as a rustls server configuration
//! (aws-lc-rs provider, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`). Errors name the file and what is
//! wrong with it, never its contents: the key file's bytes are never printed or logged.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

/// Where the certificate chain and its private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server certificate first, then any intermediates (`-----BEGIN CERTIFICATE-----`).
    pub cert: PathBuf,
    /// PEM: the private key, PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or
    /// SEC1 (`BEGIN EC PRIVATE KEY`). Encrypted keys are not supported.
    pub key: PathBuf,
}

/// A loaded, checked TLS configuration, ready for [`crate::serve_tls`].
#[derive(Clone)]
pub struct TlsConfig(pub(crate) Arc<rustls::ServerConfig>);

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").field("alpn", &self.0.alpn_protocols.len()).finish_non_exhaustive()
    }
}

/// Why the TLS files could not be used.
#[derive(Debug)]
pub enum TlsError {
    /// The file could not be read (missing, unreadable, a directory).
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    /// The certificate file is not PEM or holds no certificate.
    NoCertificate { path: PathBuf },
    /// The key file is not PEM or holds no supported private key.
    NoKey { path: PathBuf },
    /// rustls refused the pair (e.g. the key does not belong to the certificate, or an unsupported
    /// key type). rustls's message names no key material.
    Refused { cert: PathBuf, key: PathBuf, source: rustls::Error },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { what, path, source } => {
                write!(f, "cannot read the TLS {what} file {}: {source}", path.display())
            }
            TlsError::NoCertificate { path } => write!(
                f,
                "the TLS certificate file {} holds no PEM certificate (expected `-----BEGIN CERTIFICATE-----` blocks)",
                path.display()
            ),
            TlsError::NoKey { path } => write!(
                f,
                "the TLS key file {} holds no PEM private key (expected `-----BEGIN PRIVATE KEY-----`, \
                 `-----BEGIN RSA PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----`; encrypted keys are not supported)",
                path.display()
            ),
            TlsError::Refused { cert, key, source: rustls::Error::InconsistentKeys(_) } => {
                write!(f, "the TLS key {} does not belong to the certificate {}", key.display(), cert.display())
            }
            TlsError::Refused { cert, key, source } => write!(
                f,
                "the TLS certificate {} and key {} cannot be used together: {source}",
                cert.display(),
                key.display()
            ),
        }
    }
}

/// The cause is part of the message (`Display`), so it is not also a `source`: error reports that
/// print the chain would say it twice.
impl std::error::Error for TlsError {}

fn read(what: &'static str, path: &Path) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    std::fs::read(path).map(Zeroizing::new).map_err(|source| TlsError::Read { what, path: path.to_owned(), source })
}

impl TlsFiles {
    /// Reads and checks both files. Done before the server starts, so a bad file is a start-up
    /// error rather than a failed handshake.
    pub fn load(&self) -> Result<TlsConfig, TlsError> {
        let cert_pem = read("certificate", &self.cert)?;
        let no_cert = || TlsError::NoCertificate { path: self.cert.clone() };
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<_, _>>().map_err(|_| no_cert())?;
        if chain.is_empty() {
            return Err(no_cert());
        }
        let key_pem = read("key", &self.key)?;
        // The parser's error could quote a fragment of the file: it is dropped, not shown.
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey { path: self.key.clone() })?;
        let refused = |source| TlsError::Refused { cert: self.cert.clone(), key: self.key.clone(), source };
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(refused)?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(refused)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `localhost` and its PKCS#8 key, both PEM.
    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_good_pair_loads_with_alpn() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        let files = TlsFiles { cert: write(dir.path(), "cert.pem", &cert), key: write(dir.path(), "key.pem", &key) };
        let config = files.load().unwrap();
        assert_eq!(config.0.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn errors_name_the_file_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        let cert_path = write(dir.path(), "cert.pem", &cert);
        let key_path = write(dir.path(), "key.pem", &key);

        let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: key_path.clone() };
        let err = missing.load().unwrap_err().to_string();
        assert!(err.contains("certificate file") && err.contains("nope.pem"), "{err}");

        let missing_key = TlsFiles { cert: cert_path.clone(), key: dir.path().join("nokey.pem") };
        let err = missing_key.load().unwrap_err().to_string();
        assert!(err.contains("key file") && err.contains("nokey.pem"), "{err}");

        let not_pem = write(dir.path(), "garbage.pem", "this is not PEM\n");
        let err = TlsFiles { cert: not_pem.clone(), key: key_path.clone() }.load().unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate") && err.contains("garbage.pem"), "{err}");

        // Swapped files: the key where the certificate belongs, and the other way round.
        let err = TlsFiles { cert: key_path.clone(), key: cert_path.clone() }.load().unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let err = TlsFiles { cert: cert_path.clone(), key: cert_path.clone() }.load().unwrap_err().to_string();
        assert!(err.contains("holds no PEM private key"), "{err}");

        // A corrupt key body: the error says so without quoting it.
        let body: Vec<&str> = key.lines().collect();
        let corrupt = format!("{}\n{}!!SECRETBYTES!!\n{}\n", body[0], body[1], body[body.len() - 1]);
        let corrupt_path = write(dir.path(), "corrupt.pem", &corrupt);
        let err = TlsFiles { cert: cert_path.clone(), key: corrupt_path }.load().unwrap_err().to_string();
        assert!(err.contains("holds no PEM private key"), "{err}");
        assert!(!err.contains("SECRETBYTES") && !err.contains(body[1]), "{err}");

        // A key that is not the certificate's.
        let (_, other_key) = self_signed();
        let other = write(dir.path(), "other.pem", &other_key);
        let err = TlsFiles { cert: cert_path, key: other }.load().unwrap_err().to_string();
        assert!(err.contains("does not belong to the certificate"), "{err}");
        assert!(!err.contains(other_key.lines().nth(1).unwrap()), "{err}");
    }
}
