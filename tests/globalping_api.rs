//! `vantage::globalping` against a loopback Globalping API (`common::globalping`) whose
//! probes fetch real loopback mirrors: what comes back, and every way it refuses.

mod common;

use std::time::Duration;

use common::globalping::{GlobalpingApi, HUGE_ANSWER, Mode};
use common::http::Server;
use common::{World, genuine, older};
use mirrorproof::vantage::globalping::{
    Globalping, GlobalpingError, MAX_API_ANSWER, MAX_BODY, Probe,
};
use serde_json::json;

/// Far more than any of these tests needs, so only the deadline test ever meets it.
const T: Duration = Duration::from_secs(20);
const LIMIT: u64 = 1 << 20;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn gp(api: &GlobalpingApi, token: Option<&str>) -> Globalping {
    Globalping::new(api.api_url(), token.map(str::to_owned), client())
}

fn api() -> GlobalpingApi {
    GlobalpingApi::start()
        .with_probe("FR", "Paris", 3215, "Orange S.A.")
        .with_probe("DE", "Frankfurt am Main", 3320, "Deutsche Telekom AG")
}

/// A directory served over loopback HTTP holding `files`.
fn mirror(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let server = Server::serve_dir(dir.path());
    (dir, server)
}

fn url(server: &Server, path: &str) -> url::Url {
    url::Url::parse(&format!("{}{path}", server.url())).unwrap()
}

#[tokio::test]
async fn a_small_document_fetched_by_an_fr_probe_comes_back_byte_for_byte_with_its_metadata() {
    let mut w = World::new();
    let release = genuine(&w);
    w.mirror("m", "FR").serves(&release).over_http();
    let on_disk = std::fs::read(w.path().join("mirrors/m/stable/release.json")).unwrap();
    assert_eq!(on_disk, release.bytes());
    let doc = url::Url::parse(&format!("{}stable/release.json", w.url_of("m"))).unwrap();
    let api = api();

    let a = gp(&api, None).get(&doc, "FR", LIMIT, T).await.unwrap();

    assert_eq!(a.status, 200);
    assert_eq!(a.body, release.bytes());
    assert_eq!(
        a.probe,
        Probe {
            country: "FR".into(),
            city: Some("Paris".into()),
            asn: Some(3215),
            network: Some("Orange S.A.".into()),
        }
    );
    // The probe did the GET, once.
    assert_eq!(w.server("m").requests_for("GET", "stable/release.json"), 1);

    // One POST with the schema's fields, one in-progress poll, one finished.
    let reqs = api.requests();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v1/measurements");
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    let port = doc.port().unwrap();
    assert_eq!(
        reqs[0].json(),
        json!({
            "type": "http",
            "target": "127.0.0.1",
            "inProgressUpdates": false,
            "locations": [{"country": "FR"}],
            "limit": 1,
            "measurementOptions": {
                "request": {"method": "GET", "path": "/stable/release.json"},
                "protocol": "HTTP",
                "port": port
            }
        })
    );
    assert_eq!(api.polls(), 2);
    for r in &reqs {
        assert!(r.header("authorization").is_none(), "{r:?}");
        assert!(
            r.header("user-agent")
                .is_some_and(|u| u.starts_with("mirrorproof/")),
            "{r:?}"
        );
    }

    // The same through the DE probe, asked in lower case.
    let b = gp(&api, None).get(&doc, "de", LIMIT, T).await.unwrap();
    assert_eq!(b.body, release.bytes());
    assert_eq!(b.probe.country, "DE");
    assert_eq!(b.probe.asn, Some(3320));
}

#[tokio::test]
async fn port_path_and_query_reach_the_probe_and_a_404_comes_back_as_a_status() {
    let (_dir, server) = mirror(&[("r.json", b"{\"v\":1}")]);
    let api = api();
    let g = gp(&api, None);

    let a = g
        .get(&url(&server, "r.json?x=1&y=%20"), "FR", LIMIT, T)
        .await
        .unwrap();
    assert_eq!(a.body, b"{\"v\":1}");
    let post = api.requests()[0].json();
    assert_eq!(post["measurementOptions"]["request"]["query"], "x=1&y=%20");
    assert_eq!(
        post["measurementOptions"]["port"],
        u64::from(server.addr().port())
    );

    let missing = g
        .get(&url(&server, "gone.json"), "FR", LIMIT, T)
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(server.requests_for("GET", "gone.json"), 1);
}

#[tokio::test]
async fn a_12_kb_document_is_refused_as_larger_than_globalping_returns() {
    let twelve = vec![b'x'; 12 * 1000];
    let exact = vec![b'y'; MAX_BODY as usize];
    let over = vec![b'z'; MAX_BODY as usize + 1];
    let (_dir, server) = mirror(&[
        ("twelve.json", &twelve),
        ("exact.json", &exact),
        ("over.json", &over),
    ]);
    let api = api();
    let g = gp(&api, None);

    let e = g
        .get(&url(&server, "twelve.json"), "FR", LIMIT, T)
        .await
        .unwrap_err();
    assert!(matches!(e, GlobalpingError::LargerThanGlobalping), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("larger than Globalping returns"), "{msg}");
    assert!(msg.contains("not at fault"), "{msg}");
    assert!(!msg.contains("invalid"), "{msg}");
    assert!(e.is_vantage_fault());

    // The boundary: exactly what a probe keeps passes, one byte more does not.
    let a = g
        .get(&url(&server, "exact.json"), "FR", LIMIT, T)
        .await
        .unwrap();
    assert_eq!(a.body, exact);
    let e = g
        .get(&url(&server, "over.json"), "FR", LIMIT, T)
        .await
        .unwrap_err();
    assert!(matches!(e, GlobalpingError::LargerThanGlobalping), "{e}");

    // Within Globalping's reach, over the caller's own limit: the mirror's doing.
    let e = g
        .get(&url(&server, "exact.json"), "FR", 4096, T)
        .await
        .unwrap_err();
    assert!(matches!(e, GlobalpingError::TooLarge(4096)), "{e}");
    assert!(!e.is_vantage_fault());
}

#[tokio::test]
async fn no_probe_in_jp_is_a_clear_error() {
    let (_dir, server) = mirror(&[("r.json", b"{}")]);
    let api = api();
    let e = gp(&api, None)
        .get(&url(&server, "r.json"), "JP", LIMIT, T)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GlobalpingError::NoProbe { country, .. } if country == "JP"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Globalping has no probe in JP right now: No suitable probes found."
    );
    assert!(e.is_vantage_fault());
    assert_eq!(api.polls(), 0);
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn a_429_is_a_clear_error_and_is_not_retried() {
    let (_dir, server) = mirror(&[("r.json", b"{}")]);
    let api = api();
    api.set_mode(Mode::RateLimited);
    let e = gp(&api, None)
        .get(&url(&server, "r.json"), "FR", LIMIT, T)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            GlobalpingError::RateLimited {
                retry_after_secs: Some(1800),
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.contains("rate limit") && msg.contains("429"), "{msg}");
    assert!(msg.contains("API rate limit exceeded."), "{msg}");
    assert!(!msg.contains('\n'));
    assert_eq!(api.requests().len(), 1);
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn a_token_is_sent_as_bearer_on_every_request() {
    let (_dir, server) = mirror(&[("r.json", b"{}")]);
    let api = api();
    api.set_in_progress_polls(2);
    let a = gp(&api, Some("tok-123"))
        .get(&url(&server, "r.json"), "FR", LIMIT, T)
        .await
        .unwrap();
    assert_eq!(a.body, b"{}");
    let reqs = api.requests();
    assert_eq!(
        reqs.len(),
        4,
        "one POST, two in-progress polls, one finished"
    );
    for r in &reqs {
        assert_eq!(r.header("authorization"), Some("Bearer tok-123"), "{r:?}");
    }
}

#[tokio::test]
async fn an_api_that_never_finishes_is_ended_by_the_deadline() {
    let (_dir, server) = mirror(&[("r.json", b"{}")]);
    let api = api();
    api.set_mode(Mode::NeverFinish);
    let deadline = Duration::from_millis(1600);
    let e = gp(&api, None)
        .get(&url(&server, "r.json"), "FR", LIMIT, deadline)
        .await
        .unwrap_err();
    let GlobalpingError::Timeout { after, during } = &e else {
        panic!("{e}");
    };
    assert_eq!(*after, deadline);
    assert!(during.contains("still in progress"), "{during}");
    // It polled, and no faster than the API's guidelines allow (one per 500 ms at most,
    // plus the first): a slow machine only polls less.
    let polls = api.polls();
    assert!((1..=5).contains(&polls), "{polls} polls");
    assert!(e.is_vantage_fault());
}

#[tokio::test]
async fn a_hostile_api_answering_huge_json_meets_the_size_cap() {
    let (_dir, server) = mirror(&[("r.json", b"{}")]);
    let api = api();
    api.set_mode(Mode::HugeAnswer);
    assert!(HUGE_ANSWER as u64 > MAX_API_ANSWER);
    let e = gp(&api, None)
        .get(&url(&server, "r.json"), "FR", LIMIT, T)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GlobalpingError::AnswerTooLarge(n) if n == MAX_API_ANSWER),
        "{e}"
    );
    assert_eq!(api.polls(), 1);
}

#[tokio::test]
async fn a_probe_behind_a_black_box_reports_what_the_black_box_served() {
    let mut w = World::new();
    let latest = genuine(&w);
    let frozen = older(&w);
    w.mirror("m", "FR").serves(&latest).over_http();
    let doc = url::Url::parse(&format!("{}stable/release.json", w.url_of("m"))).unwrap();
    let api = api();
    let old_bytes = frozen.bytes();
    api.black_box("FR", move |_| old_bytes.clone());
    let g = gp(&api, None);

    let fr = g.get(&doc, "FR", LIMIT, T).await.unwrap();
    let de = g.get(&doc, "DE", LIMIT, T).await.unwrap();
    assert_eq!(fr.body, frozen.bytes());
    assert_eq!(de.body, latest.bytes());
    assert_ne!(fr.body, de.body);
}

#[tokio::test]
async fn a_binary_document_cannot_be_carried_byte_for_byte() {
    let (_dir, server) = mirror(&[("bin", &[0x7b, 0xff, 0xfe, 0x00, 0x7d])]);
    let api = api();
    let e = gp(&api, None)
        .get(&url(&server, "bin"), "FR", LIMIT, T)
        .await
        .unwrap_err();
    assert!(matches!(e, GlobalpingError::NotByteForByte), "{e}");
    assert!(e.is_vantage_fault());
}

#[tokio::test]
async fn a_mirror_the_probe_cannot_reach_is_the_probes_failure() {
    let (_dir, server) = mirror(&[("r.json", b"{}")]);
    let doc = url(&server, "r.json");
    drop(server);
    let api = api();
    let e = gp(&api, None).get(&doc, "FR", LIMIT, T).await.unwrap_err();
    let GlobalpingError::ProbeFailed { country, reason } = &e else {
        panic!("{e}");
    };
    assert_eq!(country, "FR");
    assert!(reason.contains("ECONNREFUSED"), "{reason}");
    assert!(!e.is_vantage_fault());
}

#[tokio::test]
async fn unsupported_urls_and_countries_never_reach_the_api() {
    let api = api();
    let g = gp(&api, None);
    for (u, cc) in [
        ("ftp://127.0.0.1/r.json", "FR"),
        ("http://user:pw@127.0.0.1/r.json", "FR"),
        ("http://127.0.0.1/r.json", "France"),
        ("http://127.0.0.1/r.json", "ZZ"),
    ] {
        let e = g
            .get(&url::Url::parse(u).unwrap(), cc, LIMIT, T)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                GlobalpingError::UnsupportedUrl(_) | GlobalpingError::BadCountry(_)
            ),
            "{u} {cc}: {e}"
        );
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
    assert!(api.requests().is_empty());
}

/// The loopback API refuses what the published schema refuses, so the client's requests
/// passing it means something.
#[tokio::test]
async fn the_loopback_api_validates_requests_as_the_schema_does() {
    let api = api();
    let c = client();
    let post = |body: serde_json::Value| {
        c.post(format!("{}/v1/measurements", api.url()))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .send()
    };
    let ok = json!({
        "type": "http", "target": "127.0.0.1", "locations": [{"country": "FR"}], "limit": 1,
        "measurementOptions": {"request": {"method": "GET", "path": "/"}, "protocol": "HTTP", "port": 9}
    });
    let resp = post(ok.clone()).await.unwrap();
    assert_eq!(resp.status(), 202);
    assert!(resp.headers().get("location").is_some());

    let mut bad = Vec::new();
    let mut v = ok.clone();
    v["extra"] = json!(1);
    bad.push(v);
    let mut v = ok.clone();
    v["type"] = json!("dig");
    bad.push(v);
    let mut v = ok.clone();
    v["measurementOptions"]["request"]["host"] = json!("127.0.0.1");
    bad.push(v);
    let mut v = ok.clone();
    v["measurementOptions"]["request"]["method"] = json!("POST");
    bad.push(v);
    let mut v = ok.clone();
    v["measurementOptions"]["protocol"] = json!("FTP");
    bad.push(v);
    let mut v = ok.clone();
    v["measurementOptions"]["request"]["body"] = json!("x");
    bad.push(v);
    let mut v = ok.clone();
    v["locations"] = json!([{"country": "FR", "limit": 1}]);
    bad.push(v);
    let mut v = ok.clone();
    v["locations"] = json!([{"country": "France"}]);
    bad.push(v);
    let mut v = ok.clone();
    v["limit"] = json!(0);
    bad.push(v);
    let mut v = ok.clone();
    v["target"] = json!("not a host!");
    bad.push(v);
    for body in bad {
        let resp = post(body.clone()).await.unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let answer: serde_json::Value =
            serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(answer["error"]["type"], "validation_error", "{body}");
    }

    let resp = c
        .get(format!("{}/v1/measurements/nope", api.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}
