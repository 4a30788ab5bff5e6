//! TLS material for the MQTT listeners: the configured certificate and key, or a development
//! CA and a certificate it signs (valid for localhost, 127.0.0.1 and ::1), generated into
//! `<data_dir>/tls/` on first start with a loud warning. Either way the pair is loaded into a
//! rustls `ServerConfig` now, so a bad or mismatched pair stops the start with a clear error.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::data_dir::write_atomic;

/// The development CA certificate gateways can pin, next to the generated pair.
pub const DEV_CA_FILE: &str = "dev-ca.pem";

/// The certificate and key the listeners serve, checked to form a usable pair.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// The certificate chain file in use.
    pub cert_path: PathBuf,
    /// The private key file in use.
    pub key_path: PathBuf,
    /// The CA certificate that signs it, when Switchboard made it (the development CA); it goes
    /// into connector configurations so gateways can verify the broker.
    pub ca_path: Option<PathBuf>,
}

/// Why TLS material could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the expected kind.
    #[error("{path} contains no {what}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// The certificate and key do not form a usable pair.
    #[error("certificate {cert} and key {key} are not a usable pair: {source}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        source: rustls::Error,
    },
    /// Generating the development certificate failed.
    #[error("cannot generate the development certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing the development certificate failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Loads the configured pair, or the development pair under `dev_dir` (generating it if absent).
pub fn prepare(
    configured: Option<(PathBuf, PathBuf)>,
    dev_dir: &Path,
) -> Result<TlsMaterial, TlsError> {
    let (cert_path, key_path, ca_path) = match configured {
        Some((cert, key)) => (cert, key, None),
        None => {
            let (cert, key, ca) = (
                dev_dir.join("dev-cert.pem"),
                dev_dir.join("dev-key.pem"),
                dev_dir.join(DEV_CA_FILE),
            );
            if !(cert.exists() && key.exists() && ca.exists()) {
                generate_dev(&cert, &key, &ca)?;
                tracing::warn!(
                    cert = %cert.display(),
                    "USING A GENERATED DEVELOPMENT TLS CERTIFICATE (localhost only): configure tls.cert and tls.key for production"
                );
            } else {
                tracing::warn!(cert = %cert.display(), "using the development TLS certificate: configure tls.cert and tls.key for production");
            }
            (cert, key, Some(ca))
        }
    };
    server_config(&cert_path, &key_path)?;
    Ok(TlsMaterial {
        cert_path,
        key_path,
        ca_path,
    })
}

/// Loads a certificate chain and key into a rustls server configuration.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let read = |path: &Path| {
        fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert_path)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: cert_path.to_owned(),
            what: "certificate",
        });
    }
    let key_pem = read(key_path)?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or(TlsError::Empty {
            path: key_path.to_owned(),
            what: "private key",
        })?;
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Mismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
            source,
        })
}

fn generate_dev(cert: &Path, key: &Path, ca: &Path) -> Result<(), TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Switchboard development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let mut leaf = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    let dir = cert.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let write = |path: &Path, pem: String, mode| {
        write_atomic(path, pem.as_bytes(), mode).map_err(|source| TlsError::Write {
            path: path.to_owned(),
            source,
        })
    };
    write(key, leaf_key.serialize_pem(), 0o600)?;
    write(cert, format!("{}{}", leaf_cert.pem(), issuer.pem()), 0o644)?;
    write(ca, issuer.pem(), 0o644)?;
    Ok(())
}
