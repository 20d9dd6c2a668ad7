//! HTTPS mirrors: the transport never decides a verdict, but an HTTPS mirror whose
//! certificate is not trusted must be `unreachable` with a TLS reason, not silently
//! accepted, and a trusted one must be judged on its bytes like any other.

#[path = "common/http.rs"]
mod http;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::keys::SecretKey;
use mirrorproof::profile::Mirror;
use mirrorproof::publish::{self, ReleaseSpec, RootSpec};
use mirrorproof::report::Status;
use mirrorproof::root::TrustedRoot;
use mirrorproof::run::{self, CheckOptions};
use mirrorproof::schemes::native::Native;

/// A TLS front for a plain loopback server: it terminates TLS with a self-signed
/// certificate and relays one request per connection to the backend.
struct TlsFront {
    url: String,
    ca_pem: String,
}

fn tls_front(backend: std::net::SocketAddr) -> TlsFront {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_der = certified.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(tcp) = conn else { continue };
            let config = config.clone();
            std::thread::spawn(move || relay(tcp, config, backend));
        }
    });
    TlsFront {
        url: format!("https://127.0.0.1:{port}/"),
        ca_pem: certified.cert.pem(),
    }
}

fn relay(tcp: TcpStream, config: Arc<rustls::ServerConfig>, backend: std::net::SocketAddr) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let Ok(mut up) = TcpStream::connect(backend) else {
        return;
    };
    if up.write_all(&head).is_err() {
        return;
    }
    let mut buf = [0u8; 16 * 1024];
    loop {
        match up.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tls.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// One honest mirror directory and the pinned root that judges it.
fn honest_world(dir: &Path) -> TrustedRoot {
    let root_key = SecretKey::from_seed(&[1; 32]).unwrap();
    let rel_key = SecretKey::from_seed(&[2; 32]).unwrap();
    let now = mirrorproof::time::now();
    let mut root = publish::root_envelope(&RootSpec {
        project: "tlsos".into(),
        version: 1,
        expires: now + chrono::TimeDelta::days(30),
        root_keys: vec![root_key.public().clone()],
        root_threshold: 1,
        release_keys: vec![rel_key.public().clone()],
        release_threshold: 1,
    })
    .unwrap();
    root.sign(&root_key).unwrap();
    let art = dir.join("art");
    std::fs::create_dir_all(&art).unwrap();
    std::fs::write(art.join("image.zip"), vec![7u8; 5000]).unwrap();
    let mut rel = publish::release_envelope(
        &ReleaseSpec {
            project: "tlsos".into(),
            channel: "stable".into(),
            version: 3,
            published: now,
            expires: now + chrono::TimeDelta::days(7),
            sha256: true,
            sha512: false,
        },
        &art,
    )
    .unwrap();
    rel.sign(&rel_key).unwrap();
    let rel_path = dir.join("release.json");
    publish::write_envelope(&rel_path, &rel).unwrap();
    publish::build_mirror(&dir.join("mirror"), &rel_path, Some(&art), &[]).unwrap();
    TrustedRoot::from_pinned(&root.to_json_bytes(), 1 << 20).unwrap()
}

fn run(root: TrustedRoot, url: &str, extra_roots: Vec<Vec<u8>>) -> mirrorproof::report::Report {
    let mirror = Mirror::new(url, "SE", None, None, Path::new(".")).unwrap();
    let opts = CheckOptions {
        channel: "stable".into(),
        artifacts: ArtifactMode::Full,
        fetch: FetchConfig {
            timeout: Duration::from_secs(5),
            extra_roots,
            ..FetchConfig::default()
        },
        state: None,
        now: mirrorproof::time::now(),
        vantages: Default::default(),
        hooks: Default::default(),
    };
    run::check(Native::new(root, &opts), "tlsos", vec![mirror], opts, None)
        .unwrap()
        .report
}

#[test]
fn untrusted_certificate_is_unreachable_with_a_tls_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = honest_world(dir.path());
    let backend = http::Server::serve_dir(dir.path().join("mirror"));
    let front = tls_front(backend.addr());
    let report = run(root, &front.url, Vec::new());
    let m = &report.mirrors[0];
    assert_eq!(m.status, Status::Unreachable);
    let why = m.error.as_deref().unwrap_or("").to_lowercase();
    assert!(
        why.contains("certificate"),
        "reason should name the certificate: {why}"
    );
    assert!(!report.ok);
}

#[test]
fn trusted_certificate_is_judged_on_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = honest_world(dir.path());
    let backend = http::Server::serve_dir(dir.path().join("mirror"));
    let front = tls_front(backend.addr());
    let report = run(root, &front.url, vec![front.ca_pem.clone().into_bytes()]);
    let m = &report.mirrors[0];
    assert_eq!(m.status, Status::Ok, "{:?}", m.error);
    assert_eq!(m.version, Some(3));
    assert_eq!(m.artifacts[0].status, "ok");
    assert!(report.ok);
}
