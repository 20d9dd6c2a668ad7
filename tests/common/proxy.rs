//! Loopback proxies that stand for a country's network in vantage tests: a SOCKS5 proxy
//! ([`SocksProxy`], RFC 1928 with RFC 1929 username/password) and an HTTP proxy
//! ([`HttpProxy`], absolute-form requests and `CONNECT` tunnels). Either one is honest, or a
//! "black box" between its users and the mirrors, as [`Rules`] say: it sends a mirror's
//! connections to another server (one serving an older release, or flipped bytes), rewrites
//! DNS, answers only for some host names, refuses everything, or is hostile on the wire
//! (never answers, drips, streams forever).
//!
//! Only `std`: one accept thread, one thread per connection plus one more while a tunnel
//! relays (one per direction). At most [`MAX_ACTIVE`] connections are served at once; more are
//! closed at once. Every buffer is fixed ([`BUF`], [`MAX_HEAD`]): the proxy holds no more than
//! that per connection whatever either side sends. Sockets wake every [`POLL`] to look at a
//! shutdown flag, so dropping a proxy closes its listener and ends every connection thread
//! within about [`POLL`]. A tunnel ends, both ways, as soon as either side closes (half-closes
//! are not relayed: HTTP clients do not use them).
//!
//! The proxy never leaves loopback: a target that does not end at a loopback address is
//! refused (SOCKS reply 0x02, HTTP 403), and host names are never looked up in the system's
//! DNS: `localhost` is 127.0.0.1, other names only reach somewhere through [`Rules::resolve`]
//! or [`Rules::route`] (otherwise host unreachable, 0x04 / 502).
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::Engine;

/// How often blocked threads wake up to look at the shutdown flag.
pub const POLL: Duration = Duration::from_millis(50);
const ACCEPT_POLL: Duration = Duration::from_millis(2);
/// Deadline for the proxy's own connection to a target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Size of each relay buffer (one per direction and connection).
pub const BUF: usize = 16 * 1024;
/// Largest HTTP head (request or response) the HTTP proxy reads before giving up.
pub const MAX_HEAD: usize = 64 * 1024;
/// Connections served at once; further ones are closed on accept.
pub const MAX_ACTIVE: usize = 256;

/// How a proxy turns a target down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// SOCKS 0x02 "connection not allowed by ruleset"; HTTP 403.
    NotAllowed,
    /// SOCKS 0x04 "host unreachable"; HTTP 502.
    HostUnreachable,
    /// SOCKS 0x05 "connection refused"; HTTP 503.
    Refused,
}

impl Refusal {
    fn socks(self) -> u8 {
        match self {
            Refusal::NotAllowed => 0x02,
            Refusal::HostUnreachable => 0x04,
            Refusal::Refused => 0x05,
        }
    }

    fn http(self) -> (u16, &'static str) {
        match self {
            Refusal::NotAllowed => (403, "Forbidden"),
            Refusal::HostUnreachable => (502, "Bad Gateway"),
            Refusal::Refused => (503, "Service Unavailable"),
        }
    }
}

#[derive(Clone, Debug)]
enum Rule {
    Route {
        target: String,
        to: SocketAddr,
    },
    Resolve {
        name: String,
        to: IpAddr,
    },
    OnlyHosts {
        hosts: Vec<String>,
        otherwise: Refusal,
    },
    RefuseAll,
}

/// What the proxy does on the wire once it has decided where a connection goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Transport {
    #[default]
    Relay,
    Endless,
    Slow(u64),
    Huge,
}

/// What a proxy does with each target. Target rules are checked in the order they were
/// added; the first [`route`](Rules::route), [`resolve`](Rules::resolve) or
/// [`refuse_all`](Rules::refuse_all) that applies decides, an
/// [`only_hosts`](Rules::only_hosts) that does not list the target refuses it, and a target no
/// rule decided is reached directly (loopback addresses and `localhost` only). The transport
/// (`endless`, `slow`, `huge`) applies to every connection; the last one set wins.
///
/// A target pattern is `host` (any port) or `host:port`, compared without regard to case,
/// with the host as the client asked for it: a name under socks5h and for HTTP proxies, an
/// address under socks5. IPv6 addresses are written in brackets: `[::1]:8080`.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    transport: Transport,
}

impl Rules {
    /// An honest proxy: every loopback target is relayed as asked.
    pub fn honest() -> Rules {
        Rules::default()
    }

    /// Connections for `target` go to `to` instead: the black box that answers for a mirror.
    pub fn route(mut self, target: &str, to: SocketAddr) -> Rules {
        self.rules.push(Rule::Route {
            target: target.to_owned(),
            to,
        });
        self
    }

    /// The host name `name` (as sent under socks5h or in an HTTP proxy request) is connected
    /// to `to`, on the port asked for: DNS rewritten at the proxy.
    pub fn resolve(mut self, name: &str, to: IpAddr) -> Rules {
        self.rules.push(Rule::Resolve {
            name: name.to_owned(),
            to,
        });
        self
    }

    /// Every target not listed is refused as "not allowed by ruleset" (SOCKS 0x02, HTTP 403).
    pub fn only_hosts<I, S>(self, hosts: I) -> Rules
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only_hosts_else(hosts, Refusal::NotAllowed)
    }

    /// Every target not listed is refused with `otherwise`.
    pub fn only_hosts_else<I, S>(mut self, hosts: I, otherwise: Refusal) -> Rules
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules.push(Rule::OnlyHosts {
            hosts: hosts.into_iter().map(Into::into).collect(),
            otherwise,
        });
        self
    }

    /// Every target (not decided by an earlier rule) is refused: SOCKS 0x05, HTTP 503.
    pub fn refuse_all(mut self) -> Rules {
        self.rules.push(Rule::RefuseAll);
        self
    }

    /// Accept TCP connections and never answer: not the SOCKS greeting, not the HTTP request.
    pub fn endless(mut self) -> Rules {
        self.transport = Transport::Endless;
        self
    }

    /// Relay the target's answer to the client at `bytes_per_sec` (at least 1).
    pub fn slow(mut self, bytes_per_sec: u64) -> Rules {
        self.transport = Transport::Slow(bytes_per_sec.max(1));
        self
    }

    /// Once a target is accepted, answer whatever the client sends in the tunnel (or the HTTP
    /// request) with `200 OK`, no length and endless bytes, without reaching the target.
    pub fn huge(mut self) -> Rules {
        self.transport = Transport::Huge;
        self
    }

    fn decide(&self, target: &Target) -> Result<SocketAddr, Refusal> {
        for rule in &self.rules {
            match rule {
                Rule::Route {
                    target: pattern,
                    to,
                } if target.matches(pattern) => {
                    return loopback_only(*to);
                }
                Rule::Resolve { name, to } => {
                    if let Host::Name(asked) = &target.host
                        && asked.eq_ignore_ascii_case(name)
                    {
                        return loopback_only(SocketAddr::new(*to, target.port));
                    }
                }
                Rule::OnlyHosts { hosts, otherwise } => {
                    if !hosts.iter().any(|h| target.matches(h)) {
                        return Err(*otherwise);
                    }
                }
                Rule::RefuseAll => return Err(Refusal::Refused),
                Rule::Route { .. } => {}
            }
        }
        match &target.host {
            Host::Ip(ip) => loopback_only(SocketAddr::new(*ip, target.port)),
            Host::Name(name) if name.eq_ignore_ascii_case("localhost") => {
                Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), target.port))
            }
            Host::Name(_) => Err(Refusal::HostUnreachable),
        }
    }
}

/// Tests touch no network beyond loopback, whatever a rule or a client asks.
fn loopback_only(addr: SocketAddr) -> Result<SocketAddr, Refusal> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(Refusal::NotAllowed)
    }
}

#[derive(Clone, Debug)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

#[derive(Clone, Debug)]
struct Target {
    host: Host,
    port: u16,
}

impl Target {
    fn host_from(text: &str) -> Host {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(text.to_owned()),
        }
    }

    /// `host:port`, `[v6]:port` or `host` (then `default_port`, if any).
    fn parse_authority(text: &str, default_port: Option<u16>) -> Option<Target> {
        let (host, port) = if text.starts_with('[') {
            let end = text.find(']')?;
            let port = match &text[end + 1..] {
                "" => default_port?,
                rest => rest.strip_prefix(':')?.parse().ok()?,
            };
            (&text[..=end], port)
        } else {
            match text.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().ok()?),
                None => (text, default_port?),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Target {
            host: Target::host_from(host),
            port,
        })
    }

    fn host_text(&self) -> String {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            Host::Ip(ip) => ip.to_string(),
            Host::Name(name) => name.clone(),
        }
    }

    fn label(&self) -> String {
        format!("{}:{}", self.host_text(), self.port)
    }

    fn matches(&self, pattern: &str) -> bool {
        pattern.eq_ignore_ascii_case(&self.host_text())
            || pattern.eq_ignore_ascii_case(&self.label())
    }
}

#[derive(Clone, Copy, Debug)]
enum Protocol {
    Socks,
    Http,
}

struct Shared {
    rules: Rules,
    stop: AtomicBool,
    connections: AtomicUsize,
    active: AtomicUsize,
    targets: Mutex<Vec<String>>,
    usernames: Mutex<Vec<String>>,
    sent: AtomicU64,
}

impl Shared {
    fn record(list: &Mutex<Vec<String>>, item: String) {
        list.lock().unwrap_or_else(|e| e.into_inner()).push(item);
    }
}

/// What both kinds of proxy share: the listener, the rules and what was seen. Stops when
/// dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(protocol: Protocol, rules: Rules) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let shared = Arc::new(Shared {
            rules,
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            targets: Mutex::new(Vec::new()),
            usernames: Mutex::new(Vec::new()),
            sent: AtomicU64::new(0),
        });
        let accepting = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name(format!("test-proxy-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, protocol, accepting))
            .expect("spawn accept thread");
        Proxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// The listening address (127.0.0.1, an OS-assigned port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every target asked for, in order: `host:port`, `name:port` or `[v6]:port`, as the
    /// client sent it (an address under socks5, the name under socks5h and HTTP proxies).
    pub fn targets(&self) -> Vec<String> {
        self.shared
            .targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The username of every authenticated connection, in order (RFC 1929 for SOCKS,
    /// `Proxy-Authorization: Basic` for HTTP). Any password is accepted.
    pub fn usernames(&self) -> Vec<String> {
        self.shared
            .usernames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Connections still being served (threads not yet ended).
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Bytes written to clients so far, handshakes included: how much of an endless answer
    /// was taken.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accept loop sees the flag within ACCEPT_POLL and returns, closing the listener;
        // connection threads are detached and end within about POLL.
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

/// A SOCKS5 proxy on 127.0.0.1 (RFC 1928 `CONNECT` to IPv4, IPv6 and domain targets; no
/// authentication or RFC 1929 username/password, any accepted).
pub struct SocksProxy(Proxy);

impl SocksProxy {
    pub fn start(rules: Rules) -> SocksProxy {
        SocksProxy(Proxy::start(Protocol::Socks, rules))
    }

    /// `SCHEME://127.0.0.1:PORT`: `socks5h` sends host names to the proxy, `socks5` makes the
    /// client resolve them itself.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.0.addr)
    }
}

impl Deref for SocksProxy {
    type Target = Proxy;
    fn deref(&self) -> &Proxy {
        &self.0
    }
}

/// An HTTP proxy on 127.0.0.1: absolute-form requests (`GET http://host:port/path`) are
/// relayed one per connection, `CONNECT host:port` opens a tunnel.
pub struct HttpProxy(Proxy);

impl HttpProxy {
    pub fn start(rules: Rules) -> HttpProxy {
        HttpProxy(Proxy::start(Protocol::Http, rules))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.0.addr)
    }
}

impl Deref for HttpProxy {
    type Target = Proxy;
    fn deref(&self) -> &Proxy {
        &self.0
    }
}

/// Decrements the active count however the connection thread ends (or fails to start).
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, protocol: Protocol, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                if shared.active.load(Ordering::SeqCst) >= MAX_ACTIVE {
                    continue; // `stream` is dropped: closed.
                }
                shared.active.fetch_add(1, Ordering::SeqCst);
                let guard = ActiveGuard(Arc::clone(&shared));
                // If the thread cannot start, the closure (stream and guard) is dropped.
                let _ = thread::Builder::new()
                    .name("test-proxy-conn".into())
                    .spawn(move || {
                        let guard = guard;
                        serve(protocol, stream, &guard.0);
                    });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ACCEPT_POLL),
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}

fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(POLL))?;
    let _ = stream.set_nodelay(true);
    Ok(())
}

fn serve(protocol: Protocol, stream: TcpStream, shared: &Shared) {
    if prepare(&stream).is_err() {
        return;
    }
    let done = AtomicBool::new(false);
    let client = Side {
        stream: &stream,
        shared,
        done: &done,
        to_client: true,
    };
    // Errors only mean that a side went away or the proxy is stopping.
    let _ = match (shared.rules.transport, protocol) {
        (Transport::Endless, _) => client.hold(),
        (_, Protocol::Socks) => socks(&client),
        (_, Protocol::Http) => http(&client),
    };
    let _ = stream.shutdown(Shutdown::Write);
    // Read what the client still sends, briefly, so that closing does not reset the
    // connection under the last answer.
    let mut buf = [0u8; 4096];
    for _ in 0..4 {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match (&stream).read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

/// One socket of a connection, read and written in steps of at most [`POLL`] so that the
/// proxy's shutdown flag and the connection's `done` flag are seen.
#[derive(Clone, Copy)]
struct Side<'a> {
    stream: &'a TcpStream,
    shared: &'a Shared,
    /// Set when either direction of a tunnel has ended: the other one stops too.
    done: &'a AtomicBool,
    /// Whether writes count towards [`Proxy::bytes_sent`].
    to_client: bool,
}

impl Side<'_> {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst) || self.done.load(Ordering::SeqCst)
    }

    /// One read: `None` when nothing arrived within [`POLL`].
    fn read_once(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if self.stopping() {
            return Err(io::Error::other("stopping"));
        }
        let mut stream = self.stream;
        match stream.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if is_timeout(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads at least one byte (`Ok(0)`: the peer closed).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = self.read_once(buf)? {
                return Ok(n);
            }
        }
    }

    fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        let mut stream = self.stream;
        while !data.is_empty() {
            if self.stopping() {
                return Err(io::Error::other("stopping"));
            }
            match stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    if self.to_client {
                        self.shared.sent.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    data = &data[n..];
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sleep(&self, mut left: Duration) -> io::Result<()> {
        while !left.is_zero() {
            if self.stopping() {
                return Err(io::Error::other("stopping"));
            }
            let step = left.min(POLL);
            thread::sleep(step);
            left -= step;
        }
        Ok(())
    }

    /// Reads and discards until the peer closes: a connection held open, never answered.
    fn hold(&self) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            if self.read_once(&mut buf)? == Some(0) {
                return Ok(());
            }
        }
    }

    /// Reads an HTTP head: the bytes before the blank line, and whatever came after it in
    /// the same reads. At most [`MAX_HEAD`] bytes are held.
    fn read_head(&self) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        loop {
            let n = self.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let from = head.len().saturating_sub(3);
            head.extend_from_slice(&buf[..n]);
            if let Some(pos) = find(&head[from..], b"\r\n\r\n") {
                let end = from + pos;
                let rest = head[end + 4..].to_vec();
                head.truncate(end);
                return Ok((head, rest));
            }
            if head.len() > MAX_HEAD {
                return Err(io::Error::other("head too large"));
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn connect(addr: SocketAddr) -> Result<TcpStream, Refusal> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| {
        if e.kind() == io::ErrorKind::ConnectionRefused {
            Refusal::Refused
        } else {
            Refusal::HostUnreachable
        }
    })?;
    prepare(&stream).map_err(|_| Refusal::HostUnreachable)?;
    Ok(stream)
}

// ---------------------------------------------------------------------------------------
// SOCKS5

fn socks(client: &Side) -> io::Result<()> {
    let shared = client.shared;
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting)?;
    if greeting[0] != 5 {
        return Ok(());
    }
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods)?;
    // Username/password when offered, so that the username (a Tor stream's isolation key)
    // is seen.
    let method = if methods.contains(&0x02) {
        0x02
    } else if methods.contains(&0x00) {
        0x00
    } else {
        return client.write_all(&[5, 0xFF]);
    };
    client.write_all(&[5, method])?;
    if method == 0x02 {
        let mut version_len = [0u8; 2];
        client.read_exact(&mut version_len)?;
        let mut user = vec![0u8; usize::from(version_len[1])];
        client.read_exact(&mut user)?;
        let mut len = [0u8; 1];
        client.read_exact(&mut len)?;
        let mut password = vec![0u8; usize::from(len[0])];
        client.read_exact(&mut password)?;
        Shared::record(
            &shared.usernames,
            String::from_utf8_lossy(&user).into_owned(),
        );
        client.write_all(&[1, 0])?;
    }

    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    if request[0] != 5 {
        return Ok(());
    }
    let host = match request[3] {
        0x01 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            Host::Ip(IpAddr::from(ip))
        }
        0x03 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name)?;
            Target::host_from(&String::from_utf8_lossy(&name))
        }
        0x04 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            Host::Ip(IpAddr::from(ip))
        }
        _ => return socks_reply(client, 0x08, None),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    let target = Target {
        host,
        port: u16::from_be_bytes(port),
    };
    Shared::record(&shared.targets, target.label());
    if request[1] != 0x01 {
        return socks_reply(client, 0x07, None); // only CONNECT
    }
    let addr = match shared.rules.decide(&target) {
        Ok(addr) => addr,
        Err(refusal) => return socks_reply(client, refusal.socks(), None),
    };
    if shared.rules.transport == Transport::Huge {
        socks_reply(client, 0x00, None)?;
        return huge(client);
    }
    match connect(addr) {
        Err(refusal) => socks_reply(client, refusal.socks(), None),
        Ok(upstream) => {
            socks_reply(client, 0x00, upstream.local_addr().ok())?;
            relay(client, &upstream, &[], false)
        }
    }
}

/// `VER REP RSV ATYP BND.ADDR BND.PORT`, always whole (clients parse the address even when
/// the reply is a refusal).
fn socks_reply(client: &Side, code: u8, bound: Option<SocketAddr>) -> io::Result<()> {
    let bound = bound.unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
    let mut reply = vec![5, code, 0];
    match bound.ip() {
        IpAddr::V4(ip) => {
            reply.push(0x01);
            reply.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            reply.push(0x04);
            reply.extend_from_slice(&ip.octets());
        }
    }
    reply.extend_from_slice(&bound.port().to_be_bytes());
    client.write_all(&reply)
}

// ---------------------------------------------------------------------------------------
// HTTP proxy

fn http(client: &Side) -> io::Result<()> {
    let shared = client.shared;
    let (head, rest) = client.read_head()?;
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let mut words = request_line.split_ascii_whitespace();
    let (Some(method), Some(uri), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return http_status(client, 400, "Bad Request");
    };
    if let Some(user) = proxy_user(&headers) {
        Shared::record(&shared.usernames, user);
    }

    let connect_method = method.eq_ignore_ascii_case("CONNECT");
    let (target, path) = if connect_method {
        (Target::parse_authority(uri, None), String::new())
    } else {
        let Some(after) = uri
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &uri[7..])
        else {
            return http_status(client, 400, "Bad Request");
        };
        let cut = after.find(['/', '?']).unwrap_or(after.len());
        let path = match &after[cut..] {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        (Target::parse_authority(&after[..cut], Some(80)), path)
    };
    let Some(target) = target else {
        return http_status(client, 400, "Bad Request");
    };
    Shared::record(&shared.targets, target.label());
    let addr = match shared.rules.decide(&target) {
        Ok(addr) => addr,
        Err(refusal) => {
            let (code, reason) = refusal.http();
            return http_status(client, code, reason);
        }
    };
    if shared.rules.transport == Transport::Huge {
        if connect_method {
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            return huge(client);
        }
        return huge_answer(client);
    }
    let upstream = match connect(addr) {
        Ok(upstream) => upstream,
        Err(refusal) => {
            let (code, reason) = refusal.http();
            return http_status(client, code, reason);
        }
    };
    if connect_method {
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        return relay(client, &upstream, &rest, false);
    }
    // One request per connection: the origin is asked to close, and so is the client told.
    let mut forward = format!("{method} {path} {version}\r\n");
    for h in headers {
        let name = h.split(':').next().unwrap_or_default().trim();
        if !is_hop_header(name) && !name.eq_ignore_ascii_case("proxy-authorization") {
            forward.push_str(h);
            forward.push_str("\r\n");
        }
    }
    forward.push_str("Connection: close\r\n\r\n");
    let mut first = forward.into_bytes();
    first.extend_from_slice(&rest);
    relay(client, &upstream, &first, true)
}

fn is_hop_header(name: &str) -> bool {
    ["connection", "keep-alive", "proxy-connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// The username of `Proxy-Authorization: Basic base64(user:password)`.
fn proxy_user(headers: &[&str]) -> Option<String> {
    headers.iter().find_map(|h| {
        let (name, value) = h.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("proxy-authorization") {
            return None;
        }
        let (scheme, credentials) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()?;
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        Some(decoded.split(':').next().unwrap_or_default().to_owned())
    })
}

fn http_status(client: &Side, code: u16, reason: &str) -> io::Result<()> {
    let body = format!("{code} {reason}\n");
    let answer = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes())
}

/// The response head with `Connection: close` in place of any hop-by-hop header.
fn close_response_head(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        let name = line.split(':').next().unwrap_or_default().trim();
        if i == 0 || !is_hop_header(name) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------
// Transports

/// Waits for a request (a blank line, or whatever bytes came when the client stops sending:
/// a TLS hello has no blank line), then answers `200` with no length and bytes forever,
/// until the client goes away.
fn huge(client: &Side) -> io::Result<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match client.read_once(&mut buf)? {
            Some(0) => return Ok(()),
            Some(n) => {
                seen.extend_from_slice(&buf[..n]);
                if find(&seen, b"\r\n\r\n").is_some() || seen.len() > MAX_HEAD {
                    break;
                }
            }
            None if !seen.is_empty() => break,
            None => {}
        }
    }
    huge_answer(client)
}

fn huge_answer(client: &Side) -> io::Result<()> {
    client.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
    )?;
    let chunk = [b'A'; BUF];
    loop {
        client.write_all(&chunk)?;
    }
}

/// Relays both ways until either side closes: `first` goes to the target first (bytes the
/// client sent with its request); with `close_head` the target's answer is an HTTP response
/// whose head is rewritten to close the connection. The target's answer is dripped under
/// [`Rules::slow`].
fn relay(client: &Side, upstream: &TcpStream, first: &[u8], close_head: bool) -> io::Result<()> {
    let up = Side {
        stream: upstream,
        shared: client.shared,
        done: client.done,
        to_client: false,
    };
    up.write_all(first)?;
    let rate = match client.shared.rules.transport {
        Transport::Slow(rate) => Some(rate),
        _ => None,
    };
    let end = |side: &Side| {
        side.done.store(true, Ordering::SeqCst);
        let _ = upstream.shutdown(Shutdown::Both);
    };
    thread::scope(|scope| {
        let client_to_up = thread::Builder::new()
            .name("test-proxy-relay".into())
            .spawn_scoped(scope, || {
                let _ = copy(client, &up, None);
                end(client);
                // The client is gone: nothing more goes to it either.
                let _ = client.stream.shutdown(Shutdown::Both);
            });
        if client_to_up.is_err() {
            end(client);
            return;
        }
        let _ = if close_head {
            up.read_head().and_then(|(head, rest)| {
                send(client, &close_response_head(&head), rate)?;
                send(client, &rest, rate)?;
                copy(&up, client, rate)
            })
        } else {
            copy(&up, client, rate)
        };
        end(client);
    });
    Ok(())
}

/// Copies `from` to `to` until `from` closes, through one fixed buffer; at most a drip's
/// step is read at a time when slow, so the target is held back rather than buffered.
fn copy(from: &Side, to: &Side, rate: Option<u64>) -> io::Result<()> {
    let mut buf = vec![0u8; BUF];
    let step = rate.map_or(BUF, drip_step);
    loop {
        let n = from.read(&mut buf[..step])?;
        if n == 0 {
            return Ok(());
        }
        send(to, &buf[..n], rate)?;
    }
}

/// About twenty steps a second, at least a byte each.
fn drip_step(rate: u64) -> usize {
    usize::try_from(rate / 20).unwrap_or(BUF).clamp(1, BUF)
}

fn send(to: &Side, data: &[u8], rate: Option<u64>) -> io::Result<()> {
    let Some(rate) = rate else {
        return to.write_all(data);
    };
    for piece in data.chunks(drip_step(rate)) {
        to.write_all(piece)?;
        let nanos = (piece.len() as u128 * 1_000_000_000) / u128::from(rate);
        to.sleep(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))?;
    }
    Ok(())
}
