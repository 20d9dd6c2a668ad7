//! The README's recipes, run as written. Each recipe is the fenced block that follows an
//! HTML comment `<!-- recipe: NAME -->` in README.md; a test takes the block's text, replaces
//! only the placeholders the README names below the recipe (paths on the user's machine),
//! and runs it: shell blocks with bash, crontabs as cron runs them, alert rules with
//! promtool. A README that drifts from what works fails here. docs/REPORTS.md repeats some
//! recipes: its blocks must be the README's, byte for byte.
//!
//! Adding a recipe: mark its block in README.md, add its name to [`TESTED`], and write a
//! test that calls `Recipe::get("NAME").with(&[(PLACEHOLDER, VALUE)])` and runs the text
//! ([`bash`] or [`cron`]) against a world.

mod common;
mod readers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::binary::{BIN, Out, run_in};
use common::*;
use serde_json::{Value, json};

/// Every recipe the README marks, each exercised by a test below.
const TESTED: &[&str] = &[
    "auditor",
    "ci",
    "ci-gitlab",
    "monitoring",
    "monitoring-rules",
];

// ---------------------------------------------------------------------------------------
// The harness

fn doc(relative: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The recipe blocks of a Markdown document, by name: the text between the fences of the
/// block that follows each `<!-- recipe: NAME -->` line.
fn blocks(markdown: &str, what: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- recipe:")
            .and_then(|r| r.strip_suffix("-->"))
            .map(str::trim)
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "{what}: recipe {name} is not followed by a fenced block"
        );
        let mut text = String::new();
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            text.push_str(l);
            text.push('\n');
        }
        assert!(
            out.insert(name.to_owned(), text).is_none(),
            "{what}: recipe {name} is marked twice"
        );
    }
    out
}

/// One recipe's text as the README has it.
struct Recipe {
    name: &'static str,
    text: String,
}

impl Recipe {
    fn get(name: &'static str) -> Recipe {
        let text = blocks(&doc("README.md"), "README.md")
            .remove(name)
            .unwrap_or_else(|| panic!("README.md has no recipe {name}"));
        Recipe { name, text }
    }

    /// The text with each placeholder replaced; a placeholder the text does not hold fails,
    /// so the test and the README cannot drift apart unnoticed.
    fn with(&self, placeholders: &[(&str, &str)]) -> String {
        let mut text = self.text.clone();
        for (from, to) in placeholders {
            assert!(
                text.contains(from),
                "recipe {} no longer holds the placeholder {from}:\n{}",
                self.name,
                self.text
            );
            text = text.replace(from, to);
        }
        text
    }
}

/// The directory holding the binary under test: where the recipes' `mirrorproof` is found.
fn bin_dir() -> PathBuf {
    Path::new(BIN).parent().unwrap().to_owned()
}

fn out_of(out: std::process::Output) -> Out {
    Out {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// A shell recipe run with `bash -e` in `cwd` (as a CI job's script runs), with the binary
/// under test first on PATH.
fn bash(script: &str, cwd: &Path) -> Out {
    let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    out_of(
        Command::new("bash")
            .args(["-e", "-c", script])
            .current_dir(cwd)
            .env("PATH", path)
            .env("HOME", cwd)
            .env_remove("XDG_DATA_HOME")
            .output()
            .expect("run bash"),
    )
}

/// Runs every job of a crontab once, as cron runs it: `/bin/sh -c COMMAND` in `home`, with
/// only cron's environment (HOME, LOGNAME, SHELL, PATH=/usr/bin:/bin) and the crontab's own
/// `NAME=value` lines.
fn cron(crontab: &str, home: &Path) -> Vec<Out> {
    let mut env: BTreeMap<String, String> = [
        ("HOME", home.display().to_string()),
        ("LOGNAME", "mirrorproof".to_owned()),
        ("SHELL", "/bin/sh".to_owned()),
        ("PATH", "/usr/bin:/bin".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut outs = Vec::new();
    for line in crontab.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some((name, value)) = first.split_once('=').filter(|_| !first.contains('*')) {
            env.insert(name.to_owned(), value.to_owned());
            continue;
        }
        // Five schedule fields, then the command.
        let mut rest = line;
        for _ in 0..5 {
            rest = rest.trim_start();
            let end = rest
                .find(char::is_whitespace)
                .expect("five schedule fields");
            rest = &rest[end..];
        }
        let command = rest.trim();
        assert!(!command.contains('%'), "cron would cut the command at %");
        outs.push(out_of(
            Command::new("/bin/sh")
                .args(["-c", command])
                .current_dir(home)
                .env_clear()
                .envs(&env)
                .output()
                .expect("run /bin/sh"),
        ));
    }
    outs
}

/// A world judged at the wall clock's time, as the binary judges.
fn world() -> World {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    w
}

// ---------------------------------------------------------------------------------------
// The documents

#[test]
fn every_recipe_is_tested_and_the_docs_repeat_the_readme_exactly() {
    let readme = blocks(&doc("README.md"), "README.md");
    let marked: Vec<&str> = readme.keys().map(String::as_str).collect();
    let mut tested = TESTED.to_vec();
    tested.sort_unstable();
    assert_eq!(marked, tested, "README.md's recipes and the tested ones");
    let reports = blocks(&doc("docs/REPORTS.md"), "docs/REPORTS.md");
    assert!(reports.contains_key("monitoring-rules"));
    for (name, text) in &reports {
        assert_eq!(
            Some(text),
            readme.get(name),
            "docs/REPORTS.md's recipe {name} differs from README.md's"
        );
    }
}

// ---------------------------------------------------------------------------------------
// CI

#[test]
fn ci_recipe_fails_the_job_on_a_stale_mirror_and_writes_the_junit_report() {
    let command = Recipe::get("ci").with(&[]);
    // The GitLab job runs the same command and publishes the same file.
    let gitlab = Recipe::get("ci-gitlab").with(&[]);
    assert!(
        gitlab.contains(&format!("    - {}", command.trim())),
        "the GitLab job runs the ci recipe's command:\n{gitlab}"
    );
    assert!(gitlab.contains("junit: report.xml") && gitlab.contains("when: always"));

    let mut w = world();
    let rel = genuine(&w);
    let old = older(&w);
    w.mirror("a", "FR").serves(&rel);
    w.mirror("b", "DE").serves(&rel);
    w.write_profile("exampleos.toml");
    let passing = bash(&command, w.path());
    assert_eq!(passing.code, Some(0), "{}", passing.describe());
    assert!(w.path().join("report.xml").is_file());

    w.mirror("c", "US").serves(&old);
    w.write_profile("exampleos.toml");
    let failing = bash(&command, w.path());
    assert_eq!(
        failing.code,
        Some(1),
        "a stale mirror fails the job: {}",
        failing.describe()
    );
    let xml = std::fs::read_to_string(w.path().join("report.xml")).unwrap();
    assert!(
        xml.contains("type=\"stale\"") && xml.contains("testcase name=\"c\""),
        "{xml}"
    );
    if readers::has_junitparser("ci_recipe_fails_the_job...") {
        let doc = readers::junitparser(&w.path().join("report.xml"));
        assert_eq!(doc["failures"], 2, "c and the run's verdict: {doc:#}");
        assert_eq!(doc["tests"], 3 + 3);
    }
}

// ---------------------------------------------------------------------------------------
// Monitoring

/// The alerts of a rules file: per alert, its labels and annotation templates.
struct Alert {
    name: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// Reads the alert rules as the README writes them (`- alert:` items with `labels:` and
/// `annotations:` maps of one-line values): enough to say what promtool must see fire.
fn alerts(rules: &str) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    let mut section: Option<(String, usize)> = None;
    for line in rules.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if let Some(name) = t.strip_prefix("- alert: ") {
            out.push(Alert {
                name: name.trim().to_owned(),
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
            });
            section = None;
            continue;
        }
        if t == "labels:" || t == "annotations:" {
            section = Some((t.trim_end_matches(':').to_owned(), indent));
            continue;
        }
        match (&section, out.last_mut()) {
            (Some((which, at)), Some(alert)) if indent > *at => {
                let (k, v) = t.split_once(": ").expect("key: value");
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                let map = if which == "labels" {
                    &mut alert.labels
                } else {
                    &mut alert.annotations
                };
                map.insert(k.to_owned(), v.to_owned());
            }
            _ => section = None,
        }
    }
    out
}

/// An annotation template rendered for these labels (the rules use `{{ $labels.NAME }}`
/// only).
fn render(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut s = template.to_owned();
    for (k, v) in labels {
        s = s.replace(&format!("{{{{ $labels.{k} }}}}"), v);
    }
    assert!(
        !s.contains("{{"),
        "a template this test cannot render: {template}"
    );
    s
}

/// What promtool must see firing: this alert, for these series' labels.
fn expected(alert: &Alert, series: &[BTreeMap<String, String>]) -> Value {
    let alerts: Vec<Value> = series
        .iter()
        .map(|labels| {
            let mut all = labels.clone();
            all.extend(alert.labels.clone());
            let annotations: BTreeMap<&String, String> = alert
                .annotations
                .iter()
                .map(|(k, t)| (k, render(t, labels)))
                .collect();
            json!({ "exp_labels": all, "exp_annotations": annotations })
        })
        .collect();
    Value::Array(alerts)
}

/// The labels of the one sample of `family` whose labels include `want`.
fn labels_of(text: &str, family: &str, want: &[(&str, &str)]) -> BTreeMap<String, String> {
    let found: Vec<_> = readers::samples(text)
        .into_iter()
        .filter(|(n, l, _)| {
            n == family
                && want
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{family} {want:?}");
    found[0].1.iter().cloned().collect()
}

/// The series of an exposition, as PromQL selectors (the text before the value), and their
/// values.
fn series(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (s, v) = l.rsplit_once(' ').unwrap();
            (s.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn monitoring_recipe_feeds_node_exporter_and_its_alerts_fire_for_the_mirror_left_behind() {
    let mut w = world();
    let rel = genuine(&w);
    w.mirror("a", "FR").serves(&rel);
    w.mirror("b", "DE").serves(&rel);
    w.mirror("c", "US").serves(&rel);
    let profile = w.write_profile("exampleos.toml");
    let textfile = w.path().join("textfile");
    let state = w.path().join("state");
    std::fs::create_dir_all(&textfile).unwrap();
    let crontab = Recipe::get("monitoring").with(&[
        ("/usr/local/bin", bin_dir().to_str().unwrap()),
        ("/etc/mirrorproof/exampleos.toml", profile.to_str().unwrap()),
        ("/var/lib/mirrorproof", state.to_str().unwrap()),
        (
            "/var/lib/node_exporter/textfile",
            textfile.to_str().unwrap(),
        ),
    ]);
    let prom = textfile.join("mirrorproof.prom");

    // Run 1: every mirror serves the latest release.
    let outs = cron(&crontab, w.path());
    assert_eq!(outs.len(), 1, "one job");
    assert_eq!(outs[0].code, Some(0), "{}", outs[0].describe());
    let run1 = std::fs::read_to_string(&prom).unwrap();

    // A new release reaches a and b, not c.
    let newer = w
        .release(V + 1)
        .published(w.now - chrono::TimeDelta::hours(1))
        .signed_by(&[0, 1])
        .artifact(ZIP, 4096)
        .build();
    w.on("a").serves(&newer);
    w.on("b").serves(&newer);
    let outs = cron(&crontab, w.path());
    assert_eq!(outs[0].code, Some(1), "{}", outs[0].describe());
    let run2 = std::fs::read_to_string(&prom).unwrap();
    assert_eq!(
        std::fs::read_dir(&textfile).unwrap().count(),
        1,
        "only the metrics file is in the collector's directory"
    );
    let c = [("mirror", "c"), ("vantage", "direct")];
    let stale = labels_of(&run2, "mirrorproof_mirror_ok", &c);
    assert!(
        run2.contains(
            "mirrorproof_mirror_status{profile=\"exampleos\",mirror=\"c\",country=\"US\",vantage=\"direct\",status=\"stale\"} 1\n"
        ),
        "{run2}"
    );
    assert!(run1.contains(
        "mirrorproof_mirror_ok{profile=\"exampleos\",mirror=\"c\",country=\"US\",vantage=\"direct\"} 1\n"
    ));

    // node_exporter serves the file.
    if readers::has_node_exporter("monitoring_recipe...") {
        let exporter = readers::NodeExporter::start(&textfile);
        let scraped = exporter.scrape();
        assert!(
            scraped.contains("node_textfile_scrape_error 0"),
            "{scraped}"
        );
        assert_eq!(
            labels_of(&scraped, "mirrorproof_mirror_ok", &c),
            stale,
            "{scraped}"
        );
        assert!(scraped.contains(
            "mirrorproof_mirror_ok{country=\"US\",mirror=\"c\",profile=\"exampleos\",vantage=\"direct\"} 0"
        ));
    }

    if !readers::has_promtool("monitoring_recipe...") {
        return;
    }
    let rules = Recipe::get("monitoring-rules").with(&[]);
    let rules_file = w.path().join("mirrorproof.rules.yml");
    std::fs::write(&rules_file, &rules).unwrap();
    let checked = readers::promtool(
        &["check", "rules", rules_file.to_str().unwrap()],
        w.path(),
        b"",
    );
    assert!(
        checked.status.success(),
        "promtool check rules: {}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let alerts = alerts(&rules);
    let alert = |name: &str| {
        alerts
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("no alert {name} in the rules"))
    };

    // The runs on the test's clock, one sample a minute: run 1's metrics for the first 30
    // minutes, run 2's for the next 7.5 hours. The check timestamp is the minute it
    // was taken while checks run (for 4 hours), then stays: the checks stopped.
    let one: BTreeMap<String, String> = series(&run1).into_iter().collect();
    let two: BTreeMap<String, String> = series(&run2).into_iter().collect();
    let mut input = Vec::new();
    let mut keys: Vec<&String> = one.keys().chain(two.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let values = if key.starts_with("mirrorproof_check_timestamp_seconds{") {
            "0+60x240 14400x239".to_owned()
        } else {
            let v1 = one.get(key).map_or("_", String::as_str);
            let v2 = two.get(key).map_or("_", String::as_str);
            format!("{v1}x29 {v2}x450")
        };
        input.push(json!({ "series": key, "values": values }));
    }
    let run_labels = labels_of(&run2, "mirrorproof_check_timestamp_seconds", &[]);
    let case = |at: &str, not_ok: &[BTreeMap<String, String>], stale_check: bool| {
        let stale_check: Vec<BTreeMap<String, String>> = if stale_check {
            vec![run_labels.clone()]
        } else {
            Vec::new()
        };
        [
            json!({ "alertname": "MirrorNotOk", "eval_time": at,
                    "exp_alerts": expected(alert("MirrorNotOk"), not_ok) }),
            json!({ "alertname": "MirrorproofCheckStale", "eval_time": at,
                    "exp_alerts": expected(alert("MirrorproofCheckStale"), &stale_check) }),
        ]
    };
    let mut tests = Vec::new();
    // Before the release: nothing. Just after it: c is not ok, but not for an hour yet.
    tests.extend(case("29m", &[], false));
    tests.extend(case("80m", &[], false));
    // An hour after: c alone, while the checks still run.
    tests.extend(case("2h", std::slice::from_ref(&stale), false));
    // Checks stopped at 4h: over an hour without one (and 15 minutes of it) by 7h.
    tests.extend(case("7h", std::slice::from_ref(&stale), true));
    let test_file = w.path().join("mirrorproof.test.yml");
    // JSON is YAML: no quoting of label values to get wrong.
    let spec = json!({
        "rule_files": [rules_file],
        "evaluation_interval": "1m",
        "tests": [{ "interval": "1m", "input_series": input, "alert_rule_test": tests }],
    });
    std::fs::write(&test_file, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    let tested = readers::promtool(
        &["test", "rules", test_file.to_str().unwrap()],
        w.path(),
        b"",
    );
    assert!(
        tested.status.success(),
        "promtool test rules:\n{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// Auditing

/// The auditor's sweep, three times: every mirror on the previous release, then a new
/// release that one mirror (b) does not have yet, then b caught up. The history says how
/// long b lagged, the evidence holds every sweep, and the page (opened in Chromium) charts it.
#[test]
fn auditor_recipe_keeps_every_sweep_and_the_page_charts_the_lag() {
    let script = Recipe::get("auditor").with(&[]);
    let mut w = world();
    let rel = genuine(&w);
    let old = older(&w);
    w.mirror("a", "FR").serves(&old);
    w.mirror("b", "DE").serves(&old);
    w.write_profile("exampleos.toml");

    let mut codes = Vec::new();
    let mut lag_tables = Vec::new();
    for sweep in 0..3 {
        if sweep == 1 {
            w.on("a").serves(&rel);
        }
        if sweep == 2 {
            w.on("b").serves(&rel);
        }
        if sweep > 0 {
            // The evidence directory is named by the second: one sweep per second at most.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let out = bash(&script, w.path());
        codes.push(out.code);
        lag_tables.push(out.stdout.clone());
    }
    // ok, then b stale (the script exits as check did, after the lag table), then ok.
    assert_eq!(codes, [Some(0), Some(1), Some(0)], "{lag_tables:?}");
    for table in &lag_tables {
        assert!(table.contains("FR") && table.contains("DE"), "{table}");
    }

    let sweeps = std::fs::read_dir(w.path().join("evidence"))
        .unwrap()
        .count();
    assert_eq!(sweeps, 3, "one evidence bundle per sweep");

    let lag = run_in(
        w.path(),
        &["history", "lag", "--history", "audit.sqlite", "--json"],
    );
    assert_eq!(lag.code, Some(0), "{}", lag.describe());
    let lag: Value = serde_json::from_str(&lag.stdout).unwrap();
    assert_eq!(lag["schema"], "mirrorproof.lag/1");
    assert_eq!(lag["latest_version"], json!(V));
    let of = |name: &str| {
        lag["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {lag:#}"))
            .clone()
    };
    assert_eq!(of("a")["lag_seconds"], 0, "{lag:#}");
    assert_eq!(of("a")["serving_version"], json!(V));
    assert_eq!(of("b")["serving_version"], json!(V));
    assert!(
        of("b")["lag_seconds"].as_u64().unwrap() >= 1,
        "b caught up a sweep later: {lag:#}"
    );

    let page = std::fs::read_to_string(w.path().join("report.html")).unwrap();
    assert_eq!(
        page.matches("<figure class=\"lag\">").count(),
        2,
        "a chart per mirror"
    );
    assert!(common::outside::outside_references(&page).is_empty());
    if let Some(chromium) = common::chromium::Chromium::get() {
        let url = format!("file://{}", w.path().join("report.html").display());
        let dom = chromium.dump_dom(&url);
        assert!(dom.contains("Lag over time"), "{dom}");
        for name in ["a", "b"] {
            assert!(dom.contains(&format!("<b>{name}</b>")), "{name} in {dom}");
        }
        let shot = w.path().join("auditor.png");
        chromium.screenshot(&url, &shot, 1280, 2400);
        let (width, _) = common::chromium::png_size(&std::fs::read(&shot).unwrap());
        assert_eq!(width, 1280);
    }
}
