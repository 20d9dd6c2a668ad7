//! Self-test of the loopback test mirror in `tests/common/http.rs`.

#[path = "common/http.rs"]
mod http;

use http::{Behavior, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn send(addr: SocketAddr, method: &str, target: &str) -> TcpStream {
    let mut s = connect(addr);
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nUser-Agent: selftest\r\n\r\n"
    )
    .unwrap();
    s
}

/// Read the status line and headers byte by byte (leaves the body unread).
fn read_head(s: &mut TcpStream) -> (u16, Vec<(String, String)>) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "EOF inside response head");
        head.push(b[0]);
    }
    let text = String::from_utf8(head).unwrap();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    (status, headers)
}

fn request(addr: SocketAddr, method: &str, target: &str) -> Response {
    let mut s = send(addr, method, target);
    let (status, headers) = read_head(&mut s);
    let mut body = Vec::new();
    s.read_to_end(&mut body).unwrap();
    Response {
        status,
        headers,
        body,
    }
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Layout: <tmp>/secret.txt (outside root) and <tmp>/root/{file.bin, sub/a b.txt}.
fn fixture() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("secret.txt"), b"top secret").unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let data = pseudo_random(3 * 1024 * 1024 + 17);
    std::fs::write(root.join("file.bin"), &data).unwrap();
    std::fs::write(root.join("sub").join("a b.txt"), b"hello space").unwrap();
    (tmp, root, data)
}

#[test]
fn normal_get_head_404_and_traversal() {
    let (_tmp, root, data) = fixture();
    let server = Server::serve_dir(&root);
    let addr = server.addr();
    assert_eq!(server.url(), format!("http://127.0.0.1:{}/", addr.port()));
    assert_eq!(addr.ip().to_string(), "127.0.0.1");

    let r = request(addr, "GET", "/file.bin");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(r.body == data, "body mismatch ({} bytes)", r.body.len());

    let r = request(addr, "HEAD", "/file.bin");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(r.body.is_empty());

    let r = request(addr, "GET", "/sub/a%20b.txt?x=1");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello space"[..]));

    // Absolute-form target as sent through a proxy.
    let r = request(addr, "GET", &format!("http://{addr}/sub/a%20b.txt"));
    assert_eq!(r.status, 200);

    for missing in [
        "/nope",
        "/sub",
        "/",
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/sub/..%5c..%5csecret.txt",
    ] {
        let r = request(addr, "GET", missing);
        assert_eq!(r.status, 404, "{missing}");
        assert!(!r.body.windows(6).any(|w| w == b"secret"), "{missing}");
        let r = request(addr, "HEAD", missing);
        assert_eq!(r.status, 404, "{missing}");
        assert!(r.body.is_empty());
    }

    let r = request(addr, "POST", "/file.bin");
    assert_eq!(r.status, 405);

    // Garbage request line: 400, not counted.
    let before = server.requests();
    let mut s = connect(addr);
    s.write_all(b"garbage\r\n\r\n").unwrap();
    let (status, _) = read_head(&mut s);
    assert_eq!(status, 400);
    assert_eq!(server.requests(), before);
    assert_eq!(before, 2 + 2 + 9 * 2 + 1);
}

#[test]
fn status_behavior() {
    let (_tmp, root, _) = fixture();
    let server = Server::start(&root, Behavior::Status(503));
    let r = request(server.addr(), "GET", "/file.bin");
    assert_eq!(r.status, 503);
    assert!(!r.body.is_empty() && r.body.len() < 100);
    let r = request(server.addr(), "HEAD", "/anything");
    assert_eq!(r.status, 503);
    assert!(r.body.is_empty());
    assert_eq!(server.requests(), 2);

    let server = Server::start(&root, Behavior::Status(204));
    let r = request(server.addr(), "GET", "/file.bin");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
}

#[test]
fn never_answer_and_fast_drop() {
    let (_tmp, root, _) = fixture();
    let server = Server::start(&root, Behavior::NeverAnswer);
    let addr = server.addr();
    let mut streams: Vec<TcpStream> = (0..5).map(|_| send(addr, "GET", "/file.bin")).collect();
    for s in &mut streams {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    let t = Instant::now();
    let mut b = [0u8; 16];
    let err = streams[0].read(&mut b).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert_eq!(server.requests(), 0);

    drop(server);

    // Listener closed: new connections are refused.
    assert!(TcpStream::connect(addr).is_err());
    // Held connections are closed by the server shortly after the drop.
    for s in &mut streams {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        match s.read(&mut b) {
            Ok(0) => {}
            Ok(n) => panic!("unexpected {n} bytes"),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
                "{e:?}"
            ),
        }
    }
}

#[test]
fn endless_on_suffix() {
    let (_tmp, root, _) = fixture();
    let server = Server::start(&root, Behavior::EndlessOn(".bin".into()));
    let addr = server.addr();

    let mut s = send(addr, "GET", "/does/not/exist.bin");
    let (status, headers) = read_head(&mut s);
    assert_eq!(status, 200);
    assert!(
        !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    );
    let mut total = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while total <= 2 * 1024 * 1024 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        assert!(buf[..n].iter().all(|&b| b == b'A'));
        total += n;
    }
    drop(s); // client goes away; the server thread must just end

    let r = request(addr, "GET", "/sub/a%20b.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello space"[..]));
    let r = request(addr, "HEAD", "/x.bin");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(server.requests(), 3);

    // Dropping while a client holds an endless stream without reading.
    let mut s = send(addr, "GET", "/again.bin");
    let _ = read_head(&mut s);
    std::thread::sleep(Duration::from_millis(100));
    drop(server);
}

#[test]
fn slow_drip() {
    let (_tmp, root, _) = fixture();
    std::fs::write(root.join("five.txt"), b"12345").unwrap();
    let server = Server::start(&root, Behavior::SlowDrip(Duration::from_millis(80)));
    let t = Instant::now();
    let mut s = send(server.addr(), "GET", "/five.txt");
    let (status, headers) = read_head(&mut s);
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-length") && v == "5")
    );

    let mut body = Vec::new();
    let mut b = [0u8; 16];
    let mut arrivals = Vec::new();
    loop {
        let n = s.read(&mut b).unwrap();
        if n == 0 {
            break;
        }
        arrivals.push(n);
        body.extend_from_slice(&b[..n]);
    }
    assert_eq!(body, b"12345");
    assert!(arrivals.iter().all(|&n| n == 1), "{arrivals:?}");
    assert!(t.elapsed() >= Duration::from_millis(4 * 80 - 20));

    let r = request(server.addr(), "HEAD", "/five.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("5"));
    assert!(r.body.is_empty());
    assert_eq!(request(server.addr(), "GET", "/nope").status, 404);
}

#[test]
fn large_file_streams() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.img");
    let f = std::fs::File::create(&path).unwrap();
    let len: u64 = 120 * 1024 * 1024;
    f.set_len(len).unwrap(); // sparse file: zeros
    drop(f);
    let server = Server::serve_dir(tmp.path());
    let mut s = send(server.addr(), "GET", "/big.img");
    let (status, headers) = read_head(&mut s);
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-length") && v == &len.to_string())
    );
    let mut got = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    assert_eq!(got, len);
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn reqwest_client() {
    let (_tmp, root, data) = fixture();
    let server = Server::serve_dir(&root);
    let c = client();
    let base = server.url();

    for _ in 0..3 {
        let r = c.get(format!("{base}file.bin")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.content_length(), Some(data.len() as u64));
        assert!(r.bytes().await.unwrap() == data);
    }
    let r = c.head(format!("{base}file.bin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"].to_str().unwrap(),
        data.len().to_string()
    );
    let r = c.get(format!("{base}sub/a%20b.txt")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "hello space");
    let r = c.get(format!("{base}missing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(server.requests(), 6);

    let endless = Server::start(&root, Behavior::EndlessOn(".sig".into()));
    let mut r = c
        .get(format!("{}x.sig", endless.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.content_length(), None);
    let mut total = 0;
    while total < 1024 * 1024 {
        total += r.chunk().await.unwrap().unwrap().len();
    }
    drop(r);

    let status = Server::start(&root, Behavior::Status(503));
    let r = c.get(status.url()).send().await.unwrap();
    assert_eq!(r.status(), 503);

    let hang = Server::start(&root, Behavior::NeverAnswer);
    let err = c
        .get(hang.url())
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    let drip = Server::start(&root, Behavior::SlowDrip(Duration::from_millis(20)));
    let t = Instant::now();
    let r = c
        .get(format!("{}sub/a%20b.txt", drip.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "hello space");
    assert!(t.elapsed() >= Duration::from_millis(10 * 20 - 10));
}
