//! A hostile review of vantage points (issue 10): each test mounts one attack, on loopback,
//! by a hostile proxy, a hostile measurement API, a crafted evidence bundle or hostile
//! input, and asserts what must hold: the bytes and the pinned keys decide, never the
//! vantage; every limit holds; text from outside never reaches a terminal raw; nothing is
//! followed out of where it belongs; proxy passwords never show.

mod common;

use common::proxy::{Rules, SocksProxy};
use common::vantages::*;

// ---------------------------------------------------------------------------------------
// Degraded on purpose: a black box that blocks most mirrors, so that its vantage is
// `degraded`, and serves the few it lets through a frozen release.

/// A country's network blocks 8 of 10 mirrors and serves the other two the previous signed
/// release. Blocking that much makes the vantage `degraded` (a broken path decides
/// nothing), but what it did deliver is validly signed old bytes, which no broken path
/// makes: a rollback on that path, proved by the signatures. It must not pass.
#[test]
fn a_vantage_cannot_hide_a_frozen_release_by_blocking_enough_to_be_degraded() {
    let (mut w, _) = world(10);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let rules = Rules::honest()
        .route(&authority(&w, "m0"), to)
        .route(&authority(&w, "m1"), to)
        .only_hosts([authority(&w, "m0"), authority(&w, "m1")]);
    let fr = SocksProxy::start(rules);
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(10), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr]));

    c.expect_all(&names(10), "direct", "ok");
    c.expect_all(&names(10)[2..], "fr", "unreachable");
    c.expect_all(&names(10)[..2], "fr", "stale");
    // The path is broken for most mirrors: degraded, and its unreachable entries blame
    // no mirror.
    assert_eq!(c.vantage_status("fr"), "degraded", "{}", c.json["vantages"]);
    // But the frozen release it served is evidence all the same.
    let t = c.targeted();
    assert_eq!(t.len(), 2, "{t:?}\n{}", c.table());
    assert_eq!(
        t[&w.url_of("m0")],
        statuses(&[("direct", "ok"), ("fr", "stale")])
    );
    assert!(!c.ok() && !c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(1), "{}", c.out.describe());
}
