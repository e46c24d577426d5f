//! The fake answering as `https://discord.com` on loopback. serenity's rate limiter ignores
//! the REST proxy and sends every request to discord.com, so a bot with its rate limiter on
//! reaches the fake only through a client that resolves discord.com here and trusts a
//! certificate made for the test.

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto, ServerConfig};
use tokio_rustls::TlsAcceptor;

pub const HOST: &str = "discord.com";

/// Where the fake serves as discord.com, and the certificate a client must trust to believe it.
#[derive(Clone)]
pub struct DiscordCom {
    pub addr: SocketAddr,
    certificate: reqwest::Certificate,
}

impl DiscordCom {
    /// `builder` sending discord.com's traffic to the fake, and trusting nothing else: a
    /// request that escaped the fake would fail rather than reach the real Discord.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.resolve(HOST, self.addr).tls_built_in_root_certs(false).add_root_certificate(self.certificate.clone())
    }
}

/// Serves `app` over TLS as discord.com on a fresh loopback port; the task accepts until aborted.
pub(super) async fn serve(app: axum::Router) -> (DiscordCom, tokio::task::JoinHandle<()>) {
    let made = rcgen::generate_simple_self_signed(vec![HOST.to_string()]).expect("a self-signed certificate for discord.com");
    let chain = vec![CertificateDer::from(made.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    // The provider is chosen here, not process-wide, so no other test's TLS depends on it.
    let mut config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions ring supports")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the certificate matches its key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the fake's discord.com");
    let addr = listener.local_addr().expect("the discord.com address");
    let certificate = reqwest::Certificate::from_der(made.cert.der()).expect("reqwest reads the certificate");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    (DiscordCom { addr, certificate }, task)
}
