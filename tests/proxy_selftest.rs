//! Self-test of the loopback proxies in `tests/common/proxy.rs`, driven by reqwest the way
//! mirrorproof drives its vantages (`Proxy::all` with socks5h, socks5 and http URLs), against
//! the loopback mirrors of `tests/common/http.rs` and `faulty.rs`.

#[path = "common/faulty.rs"]
mod faulty;
#[path = "common/http.rs"]
mod http;
#[path = "common/proxy.rs"]
mod proxy;

use std::error::Error as _;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faulty::{FaultServer, Loopback};
use http::Server;
use proxy::{HttpProxy, Refusal, Rules, SocksProxy};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A mirror serving `bytes` as `/file`.
fn mirror(bytes: &[u8]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), bytes).unwrap();
    let server = Server::serve_dir(dir.path());
    (dir, server)
}

fn client_with(proxy_url: &str, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy_url).unwrap())
        .timeout(timeout)
        .build()
        .unwrap()
}

/// Timeouts here only keep a broken proxy from hanging the test; no test depends on them.
fn client(proxy_url: &str) -> reqwest::Client {
    client_with(proxy_url, Duration::from_secs(10))
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let response = client.get(url).send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    Ok((status, body.to_vec()))
}

/// What a bounded client saw of an answer that does not end: the status and declared
/// length if a head came, how many body bytes came (counted, not kept), and the error that
/// ended it (`None` if the answer ended on its own).
struct Held {
    status: Option<u16>,
    content_length: Option<u64>,
    received: u64,
    error: Option<reqwest::Error>,
}

async fn hold(client: &reqwest::Client, url: &str) -> Held {
    let mut held = Held {
        status: None,
        content_length: None,
        received: 0,
        error: None,
    };
    let mut response = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => {
            held.error = Some(e);
            return held;
        }
    };
    held.status = Some(response.status().as_u16());
    held.content_length = response.content_length();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => held.received += chunk.len() as u64,
            Ok(None) => return held,
            Err(e) => {
                held.error = Some(e);
                return held;
            }
        }
    }
}

/// [`hold`] through both proxies at once, each client with a 1 s budget for the whole
/// request, so that the hostile cases cost one second, not two.
async fn hold_through_both(socks: &SocksProxy, http_proxy: &HttpProxy, url: &str) -> [Held; 2] {
    let a = client_with(&socks.url("socks5h"), Duration::from_secs(1));
    let b = client_with(&http_proxy.url(), Duration::from_secs(1));
    let (a, b) = tokio::join!(hold(&a, url), hold(&b, url));
    [a, b]
}

/// The error and all its sources, joined: where reqwest keeps the SOCKS reply's meaning.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn socks_error(proxy_url: &str, url: &str) -> String {
    let e = fetch(&client(proxy_url), url).await.unwrap_err();
    assert!(e.is_connect(), "{}", chain(&e));
    chain(&e)
}

/// Waits (bounded) until every connection thread of a proxy has ended. Asynchronously: the
/// client's connection tasks must run to close their sockets.
async fn wait_idle(proxy: &proxy::Proxy) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.active() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.active()
}

#[tokio::test]
async fn socks5h_socks5_and_http_proxies_relay_the_mirror_bytes() {
    let bytes = pseudo_random(200 * 1024, 7);
    let (_dir, server) = mirror(&bytes);
    let url = format!("{}file", server.url());
    let port = server.addr().port();

    for scheme in ["socks5h", "socks5"] {
        let proxy = SocksProxy::start(Rules::honest());
        let (status, body) = fetch(&client(&proxy.url(scheme)), &url).await.unwrap();
        assert_eq!(status, 200, "{scheme}");
        assert!(body == bytes, "{scheme}: relayed bytes differ");
        assert_eq!(proxy.targets(), [format!("127.0.0.1:{port}")], "{scheme}");
        assert_eq!(proxy.connections(), 1, "{scheme}");
        assert!(proxy.bytes_sent() > bytes.len() as u64, "{scheme}");
    }

    // A domain target (SOCKS address type 3): `localhost` is the one name the proxy knows.
    let proxy = SocksProxy::start(Rules::honest());
    let by_name = format!("http://localhost:{port}/file");
    let (_, body) = fetch(&client(&proxy.url("socks5h")), &by_name)
        .await
        .unwrap();
    assert!(body == bytes);
    assert_eq!(proxy.targets(), [format!("localhost:{port}")]);

    let proxy = HttpProxy::start(Rules::honest());
    let (status, body) = fetch(&client(&proxy.url()), &url).await.unwrap();
    assert_eq!(status, 200);
    assert!(body == bytes, "http proxy: relayed bytes differ");
    assert_eq!(proxy.targets(), [format!("127.0.0.1:{port}")]);
    assert_eq!(server.requests(), 4);
}

#[tokio::test]
async fn ipv6_targets_and_usernames_are_seen() {
    let bytes = pseudo_random(10_000, 11);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), &bytes).unwrap();
    let v6 = FaultServer::honest(Loopback::V6, dir.path());
    let authority = v6.url()["http://".len()..].trim_end_matches('/').to_owned();
    assert!(authority.starts_with("[::1]:"), "{authority}");

    // socks5h: reqwest 0.13.5 under socks5 hands `[::1]` with its brackets to its resolver,
    // which fails; under socks5h the literal goes to the proxy as an IPv6 address (type 4).
    let proxy = SocksProxy::start(Rules::honest());
    let with_user = format!("socks5h://alice:secret@{}", proxy.addr());
    let (_, body) = fetch(&client(&with_user), &format!("{}file", v6.url()))
        .await
        .unwrap();
    assert!(body == bytes);
    assert_eq!(proxy.targets(), [authority]);
    assert_eq!(proxy.usernames(), ["alice"]);

    let (_dir, server) = mirror(&bytes);
    let proxy = HttpProxy::start(Rules::honest());
    let with_user = format!("http://bob:pw@{}", proxy.addr());
    let (_, body) = fetch(&client(&with_user), &format!("{}file", server.url()))
        .await
        .unwrap();
    assert!(body == bytes);
    assert_eq!(proxy.usernames(), ["bob"]);
}

/// A TLS front for `mirror.example` that relays one request per connection to `backend`.
struct TlsFront {
    port: u16,
    ca_pem: String,
}

fn tls_front(backend: SocketAddr) -> TlsFront {
    let certified = rcgen::generate_simple_self_signed(vec!["mirror.example".to_owned()]).unwrap();
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
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || tls_relay(tcp, config, backend));
        }
    });
    TlsFront {
        port,
        ca_pem: certified.cert.pem(),
    }
}

fn tls_relay(tcp: TcpStream, config: Arc<rustls::ServerConfig>, backend: SocketAddr) {
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
    while let Ok(n @ 1..) = up.read(&mut buf) {
        if tls.write_all(&buf[..n]).is_err() {
            return;
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

#[tokio::test]
async fn https_targets_tunnel_through_connect_and_socks5h() {
    let bytes = pseudo_random(50_000, 13);
    let (_dir, server) = mirror(&bytes);
    let front = tls_front(server.addr());
    let url = format!("https://mirror.example:{}/file", front.port);
    let ca = reqwest::Certificate::from_pem(front.ca_pem.as_bytes()).unwrap();
    let rules = || Rules::honest().resolve("mirror.example", LOCAL);

    let http_proxy = HttpProxy::start(rules());
    let socks_proxy = SocksProxy::start(rules());
    for (proxy_url, targets) in [
        (http_proxy.url(), &*http_proxy),
        (socks_proxy.url("socks5h"), &*socks_proxy),
    ] {
        let tls_client = reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(&proxy_url).unwrap())
            .tls_certs_only([ca.clone()])
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let (status, body) = fetch(&tls_client, &url).await.unwrap();
        assert_eq!(status, 200, "{proxy_url}");
        assert!(body == bytes, "{proxy_url}: tunnelled bytes differ");
        assert_eq!(
            targets.targets(),
            [format!("mirror.example:{}", front.port)]
        );
    }
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn route_sends_a_mirror_to_another_server() {
    let current = pseudo_random(30_000, 1);
    let previous = pseudo_random(30_000, 2);
    let (_d1, genuine) = mirror(&current);
    let (_d2, black_box) = mirror(&previous);
    let url = format!("{}file", genuine.url());

    let socks = SocksProxy::start(Rules::honest().route(
        &format!("127.0.0.1:{}", genuine.addr().port()),
        black_box.addr(),
    ));
    let (_, body) = fetch(&client(&socks.url("socks5")), &url).await.unwrap();
    assert!(body == previous, "socks5: not the black box's bytes");

    // By name and without a port: every connection to the name goes elsewhere.
    let http_proxy = HttpProxy::start(Rules::honest().route("mirror.example", black_box.addr()));
    let (_, body) = fetch(&client(&http_proxy.url()), "http://mirror.example/file")
        .await
        .unwrap();
    assert!(body == previous, "http proxy: not the black box's bytes");
    assert_eq!(http_proxy.targets(), ["mirror.example:80"]);

    // Other targets are untouched.
    let (_, body) = fetch(
        &client(&socks.url("socks5h")),
        &format!("{}file", black_box.url()),
    )
    .await
    .unwrap();
    assert!(body == previous);

    assert_eq!(genuine.requests(), 0);
    assert_eq!(black_box.requests(), 3);
}

/// A resolver that answers nothing and remembers what it was asked: proof that the client
/// looked a name up itself, without any DNS query leaving the machine.
#[derive(Default)]
struct NoDns {
    asked: Mutex<Vec<String>>,
}

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.asked.lock().unwrap().push(name.as_str().to_owned());
        Box::pin(async { Err("no DNS in tests".into()) })
    }
}

#[tokio::test]
async fn resolve_rewrites_dns_under_socks5h_only() {
    let bytes = pseudo_random(20_000, 3);
    let (_dir, server) = mirror(&bytes);
    let port = server.addr().port();
    let url = format!("http://mirror.example:{port}/file");
    let proxy = SocksProxy::start(Rules::honest().resolve("mirror.example", LOCAL));

    let (_, body) = fetch(&client(&proxy.url("socks5h")), &url).await.unwrap();
    assert!(body == bytes);
    assert_eq!(proxy.targets(), [format!("mirror.example:{port}")]);
    assert_eq!(proxy.connections(), 1);

    // Under socks5 the client must resolve the name itself, and here it cannot: the proxy's
    // DNS is never asked and no connection reaches it.
    let no_dns = Arc::new(NoDns::default());
    let local_dns = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy.url("socks5")).unwrap())
        .dns_resolver(no_dns.clone())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let e = fetch(&local_dns, &url).await.unwrap_err();
    assert!(chain(&e).contains("no DNS in tests"), "{}", chain(&e));
    assert_eq!(*no_dns.asked.lock().unwrap(), ["mirror.example"]);
    assert_eq!(proxy.connections(), 1);

    // The same name resolved by the client reaches the proxy as an address.
    let resolved = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy.url("socks5")).unwrap())
        .resolve("mirror.example", SocketAddr::new(LOCAL, 0))
        .build()
        .unwrap();
    let (_, body) = fetch(&resolved, &url).await.unwrap();
    assert!(body == bytes);
    assert_eq!(proxy.targets()[1], format!("127.0.0.1:{port}"));

    // HTTP proxies always resolve at the proxy.
    let http_proxy = HttpProxy::start(Rules::honest().resolve("mirror.example", LOCAL));
    let (_, body) = fetch(&client(&http_proxy.url()), &url).await.unwrap();
    assert!(body == bytes);
}

#[tokio::test]
async fn names_without_a_rule_are_never_looked_up() {
    let socks = SocksProxy::start(Rules::honest());
    let text = socks_error(&socks.url("socks5h"), "http://nowhere.example:8080/").await;
    assert!(text.contains("host unreachable"), "{text}");
    assert_eq!(socks.targets(), ["nowhere.example:8080"]);

    let http_proxy = HttpProxy::start(Rules::honest());
    let (status, _) = fetch(&client(&http_proxy.url()), "http://nowhere.example:8080/")
        .await
        .unwrap();
    assert_eq!(status, 502);
}

#[tokio::test]
async fn only_hosts_answers_for_some_names() {
    let bytes = pseudo_random(5_000, 4);
    let (_dir, server) = mirror(&bytes);
    let port = server.addr().port();
    let allowed = format!("http://allowed.example:{port}/file");
    let blocked = format!("http://blocked.example:{port}/file");
    let rules = |refusal| {
        Rules::honest()
            .only_hosts_else(["allowed.example"], refusal)
            .resolve("allowed.example", LOCAL)
            .resolve("blocked.example", LOCAL)
    };

    let socks = SocksProxy::start(rules(Refusal::NotAllowed));
    let (_, body) = fetch(&client(&socks.url("socks5h")), &allowed)
        .await
        .unwrap();
    assert!(body == bytes);
    let text = socks_error(&socks.url("socks5h"), &blocked).await;
    assert!(text.contains("connection not allowed"), "{text}");

    let socks = SocksProxy::start(rules(Refusal::HostUnreachable));
    let text = socks_error(&socks.url("socks5h"), &blocked).await;
    assert!(text.contains("host unreachable"), "{text}");

    // `only_hosts` is `only_hosts_else(.., NotAllowed)`; a listed `host:port` matches too.
    let http_proxy = HttpProxy::start(
        Rules::honest()
            .only_hosts([format!("allowed.example:{port}")])
            .resolve("allowed.example", LOCAL)
            .resolve("blocked.example", LOCAL),
    );
    let (status, body) = fetch(&client(&http_proxy.url()), &allowed).await.unwrap();
    assert_eq!((status, body == bytes), (200, true));
    let (status, _) = fetch(&client(&http_proxy.url()), &blocked).await.unwrap();
    assert_eq!(status, 403);

    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn refuse_all_refuses_every_connection() {
    let (_dir, server) = mirror(b"release");
    let url = format!("{}file", server.url());

    let socks = SocksProxy::start(Rules::honest().refuse_all());
    for scheme in ["socks5h", "socks5"] {
        let text = socks_error(&socks.url(scheme), &url).await;
        assert!(text.contains("connection refused"), "{scheme}: {text}");
    }
    assert_eq!(socks.targets().len(), 2);

    let http_proxy = HttpProxy::start(Rules::honest().refuse_all());
    let (status, _) = fetch(&client(&http_proxy.url()), &url).await.unwrap();
    assert_eq!(status, 503);
    let e = fetch(&client(&http_proxy.url()), "https://mirror.example/")
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{}", chain(&e));
    assert_eq!(
        http_proxy.targets(),
        [server.addr().to_string(), "mirror.example:443".into()]
    );

    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn endless_holds_the_client_until_its_timeout() {
    let (_dir, server) = mirror(b"release");
    let url = format!("{}file", server.url());
    let socks = SocksProxy::start(Rules::honest().endless());
    let http_proxy = HttpProxy::start(Rules::honest().endless());
    let [a, b] = hold_through_both(&socks, &http_proxy, &url).await;
    for (held, proxy) in [(a, &*socks), (b, &*http_proxy)] {
        let e = held.error.expect("an endless proxy cannot answer");
        assert!(e.is_timeout(), "{}", chain(&e));
        assert_eq!(held.status, None);
        assert_eq!(proxy.connections(), 1);
        assert!(proxy.targets().is_empty());
        assert_eq!(proxy.bytes_sent(), 0);
        // The client gave up and closed: the connection thread ends.
        assert_eq!(wait_idle(proxy).await, 0);
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn slow_relays_the_right_bytes_at_a_drip() {
    let bytes = pseudo_random(4_000, 5);
    let (_dir, server) = mirror(&bytes);
    let url = format!("{}file", server.url());
    let socks = SocksProxy::start(Rules::honest().slow(64 * 1024));
    let http_proxy = HttpProxy::start(Rules::honest().slow(64 * 1024));
    for proxy_url in [socks.url("socks5h"), http_proxy.url()] {
        let (status, body) = fetch(&client(&proxy_url), &url).await.unwrap();
        assert_eq!(status, 200, "{proxy_url}");
        assert!(body == bytes, "{proxy_url}: dripped bytes differ");
    }
}

#[tokio::test]
async fn slow_holds_the_client_until_its_timeout() {
    // At 2000 B/s this file takes over 30 s: no client with a 1 s budget gets it whole.
    let bytes = pseudo_random(64 * 1024, 6);
    let (_dir, server) = mirror(&bytes);
    let url = format!("{}file", server.url());
    let socks = SocksProxy::start(Rules::honest().slow(2000));
    let http_proxy = HttpProxy::start(Rules::honest().slow(2000));
    let [a, b] = hold_through_both(&socks, &http_proxy, &url).await;
    for (held, proxy) in [(a, &*socks), (b, &*http_proxy)] {
        let e = held
            .error
            .expect("a 64 KiB drip cannot end within the timeout");
        assert!(e.is_timeout(), "{}", chain(&e));
        assert!(held.received < bytes.len() as u64);
        assert!(proxy.bytes_sent() < bytes.len() as u64);
        assert_eq!(wait_idle(proxy).await, 0);
    }
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn huge_answers_forever_until_the_client_gives_up() {
    let (_dir, server) = mirror(b"release");
    let url = format!("{}file", server.url());
    let socks = SocksProxy::start(Rules::honest().huge());
    let http_proxy = HttpProxy::start(Rules::honest().huge());
    let [a, b] = hold_through_both(&socks, &http_proxy, &url).await;
    for (held, proxy) in [(a, &*socks), (b, &*http_proxy)] {
        let e = held.error.expect("an endless body cannot end");
        assert!(e.is_timeout(), "{}", chain(&e));
        assert_eq!(held.status, Some(200));
        assert_eq!(held.content_length, None);
        assert!(held.received > 0);
        assert!(proxy.bytes_sent() >= held.received);
        assert_eq!(proxy.targets(), [server.addr().to_string()]);
        // Writes to the closed client fail: the thread ends instead of streaming on.
        assert_eq!(wait_idle(proxy).await, 0);
    }
    // The answer came from the proxy alone.
    assert_eq!(server.requests(), 0);
}

#[test]
fn socks_replies_to_what_it_does_not_support() {
    let proxy = SocksProxy::start(Rules::honest());
    let read_reply = |stream: &mut TcpStream, len: usize| {
        let mut reply = vec![0u8; len];
        stream.read_exact(&mut reply).unwrap();
        reply
    };
    let connect = || {
        let s = TcpStream::connect(proxy.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    };

    // Only GSSAPI offered: no acceptable method.
    let mut s = connect();
    s.write_all(&[5, 1, 0x01]).unwrap();
    assert_eq!(read_reply(&mut s, 2), [5, 0xFF]);

    // BIND (0x02) to 127.0.0.1:80: command not supported, in a whole reply.
    let mut s = connect();
    s.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_reply(&mut s, 2), [5, 0]);
    s.write_all(&[5, 2, 0, 1, 127, 0, 0, 1, 0, 80]).unwrap();
    assert_eq!(read_reply(&mut s, 10), [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);

    // Unknown address type.
    let mut s = connect();
    s.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_reply(&mut s, 2), [5, 0]);
    s.write_all(&[5, 1, 0, 9]).unwrap();
    assert_eq!(read_reply(&mut s, 10)[..2], [5, 8]);

    // A target outside loopback is never connected to.
    let mut s = connect();
    s.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_reply(&mut s, 2), [5, 0]);
    s.write_all(&[5, 1, 0, 1, 192, 0, 2, 1, 0, 80]).unwrap();
    assert_eq!(read_reply(&mut s, 10)[..2], [5, 2]);
    assert_eq!(proxy.targets(), ["127.0.0.1:80", "192.0.2.1:80"]);
}

#[test]
fn drop_closes_the_listener_and_held_connections() {
    let proxy = SocksProxy::start(Rules::honest().endless());
    let addr = proxy.addr();
    let mut held = TcpStream::connect(addr).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    held.write_all(&[5, 1, 0]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.connections() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(proxy.connections(), 1);
    drop(proxy);

    // The held connection is closed by the proxy, not left to the read timeout.
    let mut buf = [0u8; 16];
    match held.read(&mut buf) {
        Ok(n) => assert_eq!(n, 0, "an endless proxy answered"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    assert!(TcpStream::connect(addr).is_err());
}
