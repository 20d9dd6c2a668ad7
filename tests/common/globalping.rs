//! A loopback stand-in for the part of the Globalping API that mirrorproof uses, written
//! from the published schema (`public/v1/spec.yaml` and `public/v1/components/*.yaml` in
//! `jsdelivr/globalping`) and the probe's HTTP test (`src/command/handlers/http/undici.ts`
//! in `jsdelivr/globalping-probe`):
//!
//! - `POST /v1/measurements` validates the request as the API does for `type: "http"`
//!   (unknown keys refused, `locations` of `{country}`, `limit` 1..=500 and no per-location
//!   limit beside it, `measurementOptions` `{request {method, host, path, query, headers},
//!   protocol, port}`, `host` a domain name), answers 400 `validation_error`, 422
//!   `no_probes_found` ("No suitable probes found.") when no configured probe is in any of
//!   the countries, or 202 with `{id, probesCount}` and a `Location` header.
//! - The measurement is done for real: the "probe" fetches the target itself over plain
//!   HTTP/1.1 from loopback (target an IP literal or a host name, the port, path and query
//!   from the options), decodes the body as UTF-8 with U+FFFD for invalid sequences, and
//!   keeps the first 10,000 UTF-16 code units as `rawBody` with `truncated`, as the probe
//!   does. A failure to connect or read is a `failed` test with the error as `rawOutput`.
//! - `GET /v1/measurements/{id}` answers `in-progress` for the first polls (one by
//!   default), then `finished` with `results[{probe, result}]`; 404 `not_found` otherwise.
//!
//! Where it differs from the real service, on purpose: loopback and private targets are
//! allowed (the API refuses them: "Private hostnames are not allowed."); only `country`
//! locations and plain `HTTP` are implemented (an `HTTPS` test fails with a reason); the
//! body is decoded in one piece, not chunk by chunk; chunked responses are not decoded.
//!
//! Knobs: the probes per country ([`GlobalpingApi::with_probe`]), a [`Mode`] (429 on
//! every POST, measurements that never finish, a huge answer), how many polls stay
//! `in-progress`, and a [`GlobalpingApi::black_box`] that changes the body one country's
//! probes see (a network between them and the mirror). Every request is recorded.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// The probe's `DOWNLOAD_LIMIT`: UTF-16 code units of the decoded body.
pub const DOWNLOAD_LIMIT: usize = 10_000;

const POLL: Duration = Duration::from_millis(50);
const ACCEPT_POLL: Duration = Duration::from_millis(2);
const MAX_HEAD: usize = 64 * 1024;
const MAX_REQUEST_BODY: usize = 256 * 1024;
/// Enough bytes to hold more than [`DOWNLOAD_LIMIT`] code units whatever the text (one
/// code unit takes at most 3 bytes of UTF-8), so `truncated` is exact.
const PROBE_READ: usize = 4 * DOWNLOAD_LIMIT;
/// The probe's own request timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Size of the answer in [`Mode::HugeAnswer`].
pub const HUGE_ANSWER: usize = 4 * 1024 * 1024;

/// How the API behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Every `POST /v1/measurements` is refused with 429 `rate_limit_exceeded`.
    RateLimited,
    /// Measurements are created, then stay `in-progress` forever.
    NeverFinish,
    /// Measurements are created; every poll answers [`HUGE_ANSWER`] bytes of JSON with no
    /// Content-Length, as a hostile or broken API could.
    HugeAnswer,
}

/// A probe as the API describes it (`ProbeLocation`).
#[derive(Clone, Debug)]
pub struct ProbeInfo {
    pub country: String,
    pub city: String,
    pub asn: u64,
    pub network: String,
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

type Rewrite = dyn Fn(&[u8]) -> Vec<u8> + Send + Sync;
type BlackBox = Arc<Rewrite>;
/// A response's status code, reason phrase and headers.
type ResponseHead = (u16, String, Vec<(String, String)>);

struct Measurement {
    /// The answer's fixed part; `status` and `results` are filled at each poll.
    base: Map<String, Value>,
    /// `(probe, result)` per probe that ran it.
    results: Vec<(Value, Value)>,
    polls: usize,
}

struct Shared {
    shutdown: AtomicBool,
    next_id: AtomicU64,
    base_url: String,
    mode: Mutex<Mode>,
    in_progress_polls: Mutex<usize>,
    probes: Mutex<Vec<ProbeInfo>>,
    black_boxes: Mutex<HashMap<String, BlackBox>>,
    measurements: Mutex<HashMap<String, Measurement>>,
    log: Mutex<Vec<Recorded>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running loopback Globalping API. Stops when dropped.
pub struct GlobalpingApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl GlobalpingApi {
    /// Starts an API with no probes, in [`Mode::Normal`], one `in-progress` poll.
    pub fn start() -> GlobalpingApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            base_url: format!("http://127.0.0.1:{}", addr.port()),
            mode: Mutex::new(Mode::Normal),
            in_progress_polls: Mutex::new(1),
            probes: Mutex::new(Vec::new()),
            black_boxes: Mutex::new(HashMap::new()),
            measurements: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("test-globalping-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn accept thread");
        GlobalpingApi {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// Adds a probe (in the order probes are picked within a country).
    pub fn with_probe(self, country: &str, city: &str, asn: u64, network: &str) -> Self {
        lock(&self.shared.probes).push(ProbeInfo {
            country: country.into(),
            city: city.into(),
            asn,
            network: network.into(),
        });
        self
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// How many polls of a measurement answer `in-progress` before it is `finished`.
    pub fn set_in_progress_polls(&self, n: usize) {
        *lock(&self.shared.in_progress_polls) = n;
    }

    /// Every probe in `country` sees `f(body)` instead of what the mirror sent: a network
    /// between those probes and the mirror that rewrites answers.
    pub fn black_box(&self, country: &str, f: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static) {
        lock(&self.shared.black_boxes).insert(country.to_ascii_uppercase(), Arc::new(f));
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn api_url(&self) -> url::Url {
        url::Url::parse(&self.url()).expect("loopback URL")
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.log).clone()
    }

    /// Number of `GET /v1/measurements/{id}` received.
    pub fn polls(&self) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/v1/measurements/"))
            .count()
    }
}

impl Drop for GlobalpingApi {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let s = Arc::clone(&shared);
                let _ = thread::Builder::new()
                    .name("test-globalping-conn".into())
                    .spawn(move || handle_connection(stream, s));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}

struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
}

fn handle_connection(stream: TcpStream, shared: Arc<Shared>) {
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(POLL)).is_err()
        || stream.set_write_timeout(Some(POLL)).is_err()
    {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        shared: &shared,
    };
    let _ = conn.serve_one();
    let _ = conn.stream.shutdown(Shutdown::Write);
    let mut buf = [0u8; 4096];
    for _ in 0..4 {
        match conn.stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

impl Conn<'_> {
    fn stopping(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }

    fn serve_one(&mut self) -> io::Result<()> {
        let (head, mut rest) = self.read_head()?;
        let Some((method, path, headers)) = parse_request_head(&head) else {
            return self.json(400, &[], &error("invalid_request", "Bad Request", None));
        };
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if length > MAX_REQUEST_BODY {
            return self.json(
                413,
                &[],
                &error("payload_too_large", "Payload Too Large", None),
            );
        }
        while rest.len() < length {
            if self.stopping() {
                return Err(io::Error::other("shutdown"));
            }
            let mut buf = [0u8; 8192];
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        rest.truncate(length);
        lock(&self.shared.log).push(Recorded {
            method: method.clone(),
            path: path.clone(),
            headers,
            body: rest.clone(),
        });

        let route = path.split('?').next().unwrap_or_default();
        match (method.as_str(), route) {
            ("POST", "/v1/measurements") => self.create(&rest),
            ("GET", r) if r.starts_with("/v1/measurements/") => {
                self.poll(&r["/v1/measurements/".len()..])
            }
            _ => self.json(
                404,
                &[],
                &error("not_found", "Couldn't find the requested item.", None),
            ),
        }
    }

    fn create(&mut self, body: &[u8]) -> io::Result<()> {
        let mode = *lock(&self.shared.mode);
        if mode == Mode::RateLimited {
            return self.json(
                429,
                &[
                    ("X-RateLimit-Limit", "250".into()),
                    ("X-RateLimit-Remaining", "0".into()),
                    ("X-RateLimit-Reset", "1800".into()),
                ],
                &error("rate_limit_exceeded", "API rate limit exceeded.", None),
            );
        }
        let request: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return self.json(
                    400,
                    &[],
                    &error("invalid_json", &format!("Invalid JSON: {e}"), None),
                );
            }
        };
        let m = match validate(&request) {
            Ok(m) => m,
            Err((field, why)) => {
                return self.json(
                    400,
                    &[],
                    &error(
                        "validation_error",
                        "Parameter validation failed.",
                        Some(json!({ field: why })),
                    ),
                );
            }
        };
        let probes: Vec<ProbeInfo> = {
            let all = lock(&self.shared.probes);
            m.countries
                .iter()
                .flat_map(|cc| all.iter().filter(move |p| &p.country == cc))
                .take(m.limit)
                .cloned()
                .collect()
        };
        if probes.is_empty() {
            return self.json(
                422,
                &[],
                &error("no_probes_found", "No suitable probes found.", None),
            );
        }
        let results = probes
            .iter()
            .map(|p| {
                let black_box = lock(&self.shared.black_boxes).get(&p.country).cloned();
                (probe_json(p), run_http_test(&m, black_box.as_deref()))
            })
            .collect::<Vec<_>>();
        let id = format!(
            "loop{:012}",
            self.shared.next_id.fetch_add(1, Ordering::SeqCst)
        );
        let mut base = Map::new();
        base.insert("id".into(), json!(id));
        base.insert("type".into(), json!("http"));
        base.insert("createdAt".into(), json!("2026-11-22T14:00:00.000Z"));
        base.insert("updatedAt".into(), json!("2026-11-22T14:00:01.000Z"));
        base.insert("target".into(), json!(m.target));
        base.insert("probesCount".into(), json!(results.len()));
        base.insert("locations".into(), request["locations"].clone());
        base.insert("limit".into(), json!(m.limit));
        base.insert(
            "measurementOptions".into(),
            request
                .get("measurementOptions")
                .cloned()
                .unwrap_or(json!({})),
        );
        let count = results.len();
        lock(&self.shared.measurements).insert(
            id.clone(),
            Measurement {
                base,
                results,
                polls: 0,
            },
        );
        let location = format!("{}/v1/measurements/{id}", self.shared.base_url);
        self.json(
            202,
            &[
                ("Location", location),
                ("X-RateLimit-Limit", "250".into()),
                ("X-RateLimit-Remaining", "249".into()),
                ("X-RateLimit-Reset", "3600".into()),
            ],
            &json!({ "id": id, "probesCount": count }),
        )
    }

    fn poll(&mut self, id: &str) -> io::Result<()> {
        let mode = *lock(&self.shared.mode);
        let wait = *lock(&self.shared.in_progress_polls);
        let answer = {
            let mut all = lock(&self.shared.measurements);
            let Some(m) = all.get_mut(id) else {
                drop(all);
                return self.json(
                    404,
                    &[],
                    &error("not_found", "Couldn't find the requested item.", None),
                );
            };
            m.polls += 1;
            let finished = mode != Mode::NeverFinish && m.polls > wait;
            let mut answer = m.base.clone();
            answer.insert(
                "status".into(),
                json!(if finished { "finished" } else { "in-progress" }),
            );
            let results = m
                .results
                .iter()
                .map(|(probe, result)| {
                    let result = if finished {
                        result.clone()
                    } else {
                        json!({ "status": "in-progress", "rawOutput": "" })
                    };
                    json!({ "probe": probe, "result": result })
                })
                .collect::<Vec<_>>();
            answer.insert("results".into(), Value::Array(results));
            answer
        };
        if mode == Mode::HugeAnswer {
            return self.huge(id);
        }
        self.json(200, &[], &Value::Object(answer))
    }

    /// A finished measurement whose raw output never ends, with no Content-Length.
    fn huge(&mut self, id: &str) -> io::Result<()> {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n";
        self.write_all(head.as_bytes())?;
        let start = format!(
            r#"{{"id":"{id}","type":"http","status":"finished","results":[{{"probe":{{"country":"FR","city":"Paris","asn":3215,"network":"Orange S.A."}},"result":{{"status":"finished","rawOutput":""#
        );
        self.write_all(start.as_bytes())?;
        let chunk = vec![b'A'; 64 * 1024];
        let mut sent = start.len();
        while sent < HUGE_ANSWER {
            self.write_all(&chunk)?;
            sent += chunk.len();
        }
        self.write_all(br#"","rawBody":null,"truncated":false,"statusCode":200}}]}"#)
    }

    fn json(&mut self, code: u16, extra: &[(&str, String)], body: &Value) -> io::Result<()> {
        let body = serde_json::to_vec(body).expect("JSON");
        let mut head = format!(
            "HTTP/1.1 {code} {}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
            reason(code),
            body.len()
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.write_all(head.as_bytes())?;
        self.write_all(&body)
    }

    fn read_head(&mut self) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        loop {
            if self.stopping() {
                return Err(io::Error::other("shutdown"));
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    head.extend_from_slice(&buf[..n]);
                    if let Some(pos) = find(&head, b"\r\n\r\n") {
                        let rest = head.split_off(pos + 4);
                        head.truncate(pos);
                        return Ok((head, rest));
                    }
                    if head.len() > MAX_HEAD {
                        return Err(io::Error::other("request head too large"));
                    }
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.stopping() {
                return Err(io::Error::other("shutdown"));
            }
            match self.stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn error(kind: &str, message: &str, params: Option<Value>) -> Value {
    let mut e = json!({ "type": kind, "message": message });
    if let Some(p) = params {
        e["params"] = p;
    }
    json!({ "error": e })
}

/// An `http` measurement request, validated.
struct Validated {
    target: String,
    countries: Vec<String>,
    limit: usize,
    method: String,
    host: Option<String>,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    protocol: String,
    port: u16,
}

type Invalid = (String, String);

fn invalid(field: &str, why: impl Into<String>) -> Invalid {
    (field.to_owned(), why.into())
}

/// Refuses keys outside `allowed`, as `additionalProperties: false` does.
fn only_keys<'a>(
    v: &'a Value,
    field: &str,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, Invalid> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(field, format!("\"{field}\" must be of type object")))?;
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(
            &format!("{field}.{k}"),
            format!("\"{field}.{k}\" is not allowed"),
        ));
    }
    Ok(obj)
}

fn validate(request: &Value) -> Result<Validated, Invalid> {
    let top = only_keys(
        request,
        "measurement",
        &[
            "type",
            "target",
            "inProgressUpdates",
            "locations",
            "limit",
            "measurementOptions",
        ],
    )?;
    match top.get("type").and_then(Value::as_str) {
        Some("http") => {}
        Some(t) if ["ping", "traceroute", "dns", "mtr"].contains(&t) => {
            return Err(invalid(
                "type",
                "only \"http\" is implemented by this loopback API",
            ));
        }
        _ => {
            return Err(invalid(
                "type",
                "\"type\" must be one of [ping, traceroute, dns, mtr, http]",
            ));
        }
    }
    let target = top
        .get("target")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("target", "\"target\" is required"))?;
    if target.parse::<IpAddr>().is_err() && !is_domain(target) {
        return Err(invalid(
            "target",
            "Provided target is not a valid domain name",
        ));
    }
    if let Some(v) = top.get("inProgressUpdates")
        && !v.is_boolean()
    {
        return Err(invalid(
            "inProgressUpdates",
            "\"inProgressUpdates\" must be a boolean",
        ));
    }
    let limit = match top.get("limit") {
        None => 1,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=500) => n as usize,
            _ => {
                return Err(invalid(
                    "limit",
                    "\"limit\" must be an integer from 1 to 500",
                ));
            }
        },
    };
    let locations = match top.get("locations") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::String(_)) => {
            return Err(invalid(
                "locations",
                "reusing a measurement's probes is not implemented by this loopback API",
            ));
        }
        Some(_) => return Err(invalid("locations", "\"locations\" must be an array")),
    };
    let mut countries = Vec::new();
    for (i, loc) in locations.iter().enumerate() {
        let field = format!("locations[{i}]");
        let obj = only_keys(
            loc,
            &field,
            &[
                "continent",
                "region",
                "country",
                "state",
                "city",
                "asn",
                "network",
                "tags",
                "magic",
                "limit",
            ],
        )?;
        if obj.contains_key("limit") && top.contains_key("limit") {
            return Err(invalid(
                &format!("{field}.limit"),
                "limit per location is not allowed when a global limit is set",
            ));
        }
        if let Some(k) = obj
            .keys()
            .find(|k| !["country", "limit"].contains(&k.as_str()))
        {
            return Err(invalid(
                &format!("{field}.{k}"),
                "only country locations are implemented by this loopback API",
            ));
        }
        let cc = obj
            .get("country")
            .and_then(Value::as_str)
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .ok_or_else(|| {
                invalid(
                    &format!("{field}.country"),
                    "The country must be a valid two-letter ISO code",
                )
            })?;
        countries.push(cc.to_ascii_uppercase());
    }
    if countries.is_empty() {
        return Err(invalid(
            "locations",
            "a location is required by this loopback API (the real one picks anywhere)",
        ));
    }
    let options = match top.get("measurementOptions") {
        None => Map::new(),
        Some(v) => only_keys(
            v,
            "measurementOptions",
            &["request", "resolver", "port", "protocol", "ipVersion"],
        )?
        .clone(),
    };
    let request = match options.get("request") {
        None => Map::new(),
        Some(v) => only_keys(
            v,
            "measurementOptions.request",
            &["method", "host", "path", "query", "headers"],
        )?
        .clone(),
    };
    let string = |field: &str, v: Option<&Value>, default: &str| -> Result<String, Invalid> {
        match v {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(field, format!("\"{field}\" must be a string"))),
        }
    };
    let method = string(
        "measurementOptions.request.method",
        request.get("method"),
        "HEAD",
    )?
    .to_ascii_uppercase();
    if !["GET", "HEAD"].contains(&method.as_str()) {
        return Err(invalid(
            "measurementOptions.request.method",
            "\"measurementOptions.request.method\" must be one of [GET, HEAD]",
        ));
    }
    let host = match request.get("host") {
        None => None,
        Some(Value::String(h)) if is_domain(h) && h.parse::<IpAddr>().is_err() => Some(h.clone()),
        Some(_) => {
            return Err(invalid(
                "measurementOptions.request.host",
                "\"measurementOptions.request.host\" must contain a valid domain name",
            ));
        }
    };
    let path = string("measurementOptions.request.path", request.get("path"), "/")?;
    let query = string("measurementOptions.request.query", request.get("query"), "")?;
    let mut headers = Vec::new();
    if let Some(h) = request.get("headers") {
        let h = h.as_object().ok_or_else(|| {
            invalid(
                "measurementOptions.request.headers",
                "\"measurementOptions.request.headers\" must be of type object",
            )
        })?;
        for (k, v) in h {
            let v = v.as_str().ok_or_else(|| {
                invalid(
                    &format!("measurementOptions.request.headers.{k}"),
                    "must be a string",
                )
            })?;
            headers.push((k.clone(), v.to_owned()));
        }
    }
    let protocol = string(
        "measurementOptions.protocol",
        options.get("protocol"),
        "HTTPS",
    )?
    .to_ascii_uppercase();
    if !["HTTP", "HTTPS", "HTTP2"].contains(&protocol.as_str()) {
        return Err(invalid(
            "measurementOptions.protocol",
            "\"measurementOptions.protocol\" must be one of [HTTP, HTTPS, HTTP2]",
        ));
    }
    let port = match options.get("port") {
        // The schema's default, whatever the protocol.
        None => 80,
        Some(v) => match v.as_u64() {
            Some(p) if p <= 65535 => p as u16,
            _ => {
                return Err(invalid(
                    "measurementOptions.port",
                    "\"measurementOptions.port\" must be a valid port",
                ));
            }
        },
    };
    Ok(Validated {
        target: target.to_owned(),
        countries,
        limit,
        method,
        host,
        path,
        query,
        headers,
        protocol,
        port,
    })
}

fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn probe_json(p: &ProbeInfo) -> Value {
    let continent = match p.country.as_str() {
        "US" | "CA" | "MX" => "NA",
        "BR" | "AR" | "CL" => "SA",
        "JP" | "CN" | "KR" | "IN" | "SG" => "AS",
        "AU" | "NZ" => "OC",
        "ZA" | "NG" | "KE" => "AF",
        _ => "EU",
    };
    json!({
        "continent": continent,
        "region": "Western Europe",
        "country": p.country,
        "state": null,
        "city": p.city,
        "asn": p.asn,
        "longitude": 2.3488,
        "latitude": 48.8534,
        "network": p.network,
        "tags": ["eyeball-network"],
        "resolvers": ["private"]
    })
}

fn failed(message: String) -> Value {
    json!({
        "status": "failed",
        "resolvedAddress": null,
        "headers": {},
        "rawHeaders": null,
        "rawBody": null,
        "rawOutput": message,
        "truncated": false,
        "statusCode": null,
        "statusCodeName": null,
        "timings": { "total": null, "dns": null, "tcp": null, "tls": null, "firstByte": null, "download": null },
        "tls": null
    })
}

/// The probe's HTTP test, run from loopback: a `FinishedHttpTestResult` or a
/// `FailedTestResult`.
fn run_http_test(m: &Validated, black_box: Option<&Rewrite>) -> Value {
    if m.protocol != "HTTP" {
        return failed(format!(
            "the loopback probe speaks plain HTTP only, not {}",
            m.protocol
        ));
    }
    let started = Instant::now();
    let addr = match (m.target.as_str(), m.port).to_socket_addrs() {
        Ok(mut a) => match a.next() {
            Some(a) => a,
            None => return failed(format!("getaddrinfo ENOTFOUND {}", m.target)),
        },
        Err(_) => return failed(format!("getaddrinfo ENOTFOUND {}", m.target)),
    };
    let mut stream = match TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            return failed(format!("connect ECONNREFUSED {addr}"));
        }
        Err(e) => return failed(format!("connect failed {addr}: {e}")),
    };
    let connected = started.elapsed();
    let _ = stream.set_read_timeout(Some(PROBE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(PROBE_TIMEOUT));
    // As the probe builds it: `/${path}` with a doubled leading slash made single.
    let mut target = format!("/{}", m.path);
    if target.starts_with("//") {
        target.remove(0);
    }
    if !m.query.is_empty() {
        target.push('?');
        target.push_str(m.query.strip_prefix('?').unwrap_or(&m.query));
    }
    let mut head = format!("{} {target} HTTP/1.1\r\n", m.method);
    for (k, v) in &m.headers {
        let lower = k.to_ascii_lowercase();
        if !["host", "user-agent", "connection"].contains(&lower.as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Host: {}\r\nUser-Agent: globalping probe (https://github.com/jsdelivr/globalping)\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        m.host.as_deref().unwrap_or(&m.target)
    ));
    if let Err(e) = stream.write_all(head.as_bytes()) {
        return failed(format!("write failed: {e}"));
    }
    let deadline = started + PROBE_TIMEOUT;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    // Where the body starts, and the head.
    let mut parsed: Option<(usize, ResponseHead)> = None;
    let mut first_byte = None;
    loop {
        if Instant::now() > deadline {
            return failed("Request timeout.".into());
        }
        if let Some((body_at, (_, _, ref headers))) = parsed {
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok());
            let have = raw.len() - body_at;
            if m.method == "HEAD" || length.is_some_and(|n| have >= n) || have >= PROBE_READ {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                first_byte.get_or_insert_with(|| started.elapsed());
                raw.extend_from_slice(&buf[..n]);
                if parsed.is_none()
                    && let Some(pos) = find(&raw, b"\r\n\r\n")
                {
                    match parse_response_head(&raw[..pos]) {
                        Some((code, reason, headers)) => {
                            if headers.iter().any(|(k, v)| {
                                k.eq_ignore_ascii_case("transfer-encoding")
                                    && v.to_ascii_lowercase().contains("chunked")
                            }) {
                                return failed(
                                    "chunked responses are not decoded by the loopback probe"
                                        .into(),
                                );
                            }
                            parsed = Some((pos + 4, (code, reason, headers)));
                        }
                        None => return failed("Parse Error: Invalid response".into()),
                    }
                }
                if parsed.is_none() && raw.len() > MAX_HEAD {
                    return failed("Parse Error: Header overflow".into());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return failed("Request timeout.".into()),
            Err(e) => return failed(format!("read ECONNRESET: {e}")),
        }
    }
    let Some((body_at, (code, reason, headers))) = parsed else {
        return failed("socket hang up".into());
    };
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let mut body = if m.method == "HEAD" {
        Vec::new()
    } else {
        raw[body_at..].to_vec()
    };
    if let Some(n) = length {
        body.truncate(n);
    }
    if let Some(f) = black_box {
        body = f(&body);
    }
    // The probe keeps text: invalid UTF-8 becomes U+FFFD, then at most DOWNLOAD_LIMIT
    // UTF-16 code units, never half a surrogate pair.
    let text = String::from_utf8_lossy(&body);
    let mut raw_body = String::new();
    let mut units = 0;
    let mut truncated = false;
    for c in text.chars() {
        if units + c.len_utf16() > DOWNLOAD_LIMIT {
            truncated = true;
            break;
        }
        units += c.len_utf16();
        raw_body.push(c);
    }
    let mut header_obj = Map::new();
    for (k, v) in &headers {
        let key = k.to_ascii_lowercase();
        match header_obj.get_mut(&key) {
            Some(Value::Array(a)) => a.push(json!(v)),
            Some(old) => *old = json!([old.clone(), v]),
            None => {
                header_obj.insert(key, json!(v));
            }
        }
    }
    let raw_headers = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let raw_output = if raw_body.is_empty() {
        format!("HTTP/1.1 {code}\n{raw_headers}")
    } else {
        format!("HTTP/1.1 {code}\n{raw_headers}\n\n{raw_body}")
    };
    let ms = |d: Duration| d.as_millis() as u64;
    let total = started.elapsed();
    let first = first_byte.unwrap_or(total);
    json!({
        "status": "finished",
        "resolvedAddress": addr.ip().to_string(),
        "headers": header_obj,
        "rawHeaders": if raw_headers.is_empty() { Value::Null } else { json!(raw_headers) },
        "rawBody": if raw_body.is_empty() { Value::Null } else { json!(raw_body) },
        "rawOutput": raw_output,
        "truncated": truncated,
        "statusCode": code,
        "statusCodeName": reason,
        "timings": {
            "total": ms(total),
            "dns": 0,
            "tcp": ms(connected),
            "tls": null,
            "firstByte": ms(first.saturating_sub(connected)),
            "download": ms(total.saturating_sub(first))
        },
        "tls": null
    })
}

type Head = (String, String, Vec<(String, String)>);

fn parse_request_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split_ascii_whitespace();
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    if !first.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((method, path, headers))
}

fn parse_response_head(head: &[u8]) -> Option<ResponseHead> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines.next()?;
    let mut parts = status.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?.parse::<u16>().ok()?;
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    Some((code, reason, headers))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => "Status",
    }
}
