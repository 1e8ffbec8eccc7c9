//! TLS for Postgres connections. By default libpq's meaning of `sslmode=require`:
//! encrypted, the certificate not checked against a CA (Supabase's database certificates
//! come from its own CA, which no system trusts); the handshake's signatures are still
//! verified, so the session is encrypted to the holder of the certificate's key. With
//! `sslmode=verify-ca` the certificate must chain to the given root; with `verify-full`
//! it must also name the host connected to.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a server's certificate is checked.
#[derive(Clone)]
pub enum Tls {
    /// Encrypted; the certificate not checked (`sslmode=require`, and `prefer`).
    EncryptOnly,
    /// Checked as `verify` says.
    Verified {
        verify: Verify,
        config: Arc<rustls::ClientConfig>,
    },
}

/// `sslmode=verify-ca` (the chain) or `verify-full` (the chain and the host name), and
/// the root certificate: a PEM file, or `system` for the platform's trusted roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    pub host_name: bool,
    pub root: PathBuf,
}

impl Tls {
    /// The check `verify` asks for; the error says why the root cannot be used.
    pub fn verified(verify: Verify) -> Result<Tls, String> {
        let config = verifying(&verify)?;
        Ok(Tls::Verified {
            verify,
            config: Arc::new(config),
        })
    }

    /// libpq's `sslmode` for this check, and its `sslrootcert` when it has one (for a
    /// tool that connects on its own, such as pg_dump).
    pub fn libpq(&self) -> (&'static str, Option<&std::path::Path>) {
        match self {
            Tls::EncryptOnly => ("require", None),
            Tls::Verified { verify, .. } => (
                if verify.host_name {
                    "verify-full"
                } else {
                    "verify-ca"
                },
                Some(&verify.root),
            ),
        }
    }

    pub(super) fn connector(&self) -> MakeRustlsConnect {
        static ENCRYPT_ONLY: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth()
        });
        match self {
            Tls::EncryptOnly => MakeRustlsConnect::new(ENCRYPT_ONLY.clone()),
            Tls::Verified { config, .. } => MakeRustlsConnect::new(config.as_ref().clone()),
        }
    }
}

/// The client configuration that checks certificates as `verify` says; the error says
/// why its root cannot be used.
fn verifying(verify: &Verify) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Arc<dyn ServerCertVerifier> = if verify.root.as_os_str() == "system" {
        Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|error| error.to_string())?,
        )
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in
            CertificateDer::pem_file_iter(&verify.root).map_err(|error| error.to_string())?
        {
            roots
                .add(certificate.map_err(|error| error.to_string())?)
                .map_err(|error| error.to_string())?;
        }
        if roots.is_empty() {
            return Err("it holds no PEM certificate".to_string());
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|error| error.to_string())?
    };
    let verifier = if verify.host_name {
        chain
    } else {
        Arc::new(ChainOnly(chain))
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `verify-ca`: the chain checked, the name the certificate gives left unchecked.
#[derive(Debug)]
struct ChainOnly(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require`: encrypted to the holder of the certificate's key, the certificate itself
/// not checked.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
