//! A mirror's lag over time as a small SVG chart: x is the time of each run, y the lag;
//! dashed lines mark the runs at which the mirror started serving another version, ticks
//! on the time axis the runs at which a newer release was first seen anywhere, and hollow
//! points the runs at which it served nothing valid. A sentence under the chart says the
//! same in words, for readers who do not read charts (or colours).
//!
//! The chart's size does not grow with the history: beyond [`MAX_POINTS`] observations,
//! each pixel column keeps its worst lag (a delay must never be averaged away) and every
//! change of version.

use std::fmt::Write as _;

use crate::report::{LagPoint, LagSeries};

/// Drawing area, in SVG units (the chart scales to its box).
pub(super) const WIDTH: f64 = 380.0;
pub(super) const HEIGHT: f64 = 130.0;
pub(super) const LEFT: f64 = 52.0;
pub(super) const RIGHT: f64 = 10.0;
pub(super) const TOP: f64 = 18.0;
pub(super) const BOTTOM: f64 = 22.0;
/// Observations drawn at most; a longer history is thinned to one per pixel column.
pub(super) const MAX_POINTS: usize = 320;
/// Each observation is a visible dot up to this many points; more would be a smear.
const MAX_DOTS: usize = 60;
/// Version labels closer than this to the previous one are left out (the dashed line
/// stays).
const LABEL_GAP: f64 = 96.0;

pub(super) fn lag_chart(out: &mut String, s: &LagSeries) {
    if s.points.is_empty() {
        out.push_str("<p>No observation yet.</p>\n");
        return;
    }
    let mut points: Vec<&LagPoint> = s.points.iter().collect();
    // The history hands them oldest first; a chart must not zigzag if one does not.
    if !points.is_sorted_by_key(|p| p.at) {
        points.sort_by_key(|p| p.at);
    }
    let total = points.len();
    let t0 = points.first().map_or(0, |p| p.at);
    let t1 = points.last().map_or(0, |p| p.at);
    let worst = points.iter().map(|p| p.lag_seconds).max().unwrap_or(0);
    let scale = Scale::new(t0, t1, worst);
    let drawn = thin(&points, &scale);

    let last = points.last().copied();
    let _ = writeln!(
        out,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"lag over {total} observations, worst {}\">",
        duration(worst)
    );
    // Axes and the two y labels: 0 and the worst lag.
    let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP);
    let _ = writeln!(
        out,
        "<line class=\"grid\" x1=\"{x0}\" y1=\"{y1}\" x2=\"{x1}\" y2=\"{y1}\"/><line class=\"axis\" x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\"/><line class=\"axis\" x1=\"{x0}\" y1=\"{y1}\" x2=\"{x0}\" y2=\"{y0}\"/>"
    );
    // A mirror never behind has no top worth naming: its chart is the line at 0.
    if worst > 0 {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            x0 - 4.0,
            y1 + 4.0,
            duration(worst)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        x0 - 4.0,
        y0 + 3.0
    );
    let _ = write!(
        out,
        "<text x=\"{x0}\" y=\"{}\">{}</text>",
        HEIGHT - 6.0,
        date(t0, t1 - t0)
    );
    if t1 != t0 {
        let _ = write!(
            out,
            "<text x=\"{x1}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            HEIGHT - 6.0,
            date(t1, t1 - t0)
        );
    }
    out.push('\n');

    // What the mirror served: a dashed line (and a label, room permitting) where it changes.
    let mut last_label = f64::NEG_INFINITY;
    let mut served: Option<Option<u64>> = None;
    let mut latest: Option<u64> = None;
    for p in &drawn {
        let x = scale.x(p.at);
        if served != Some(p.serving_version) {
            let _ = write!(
                out,
                "<line class=\"change\" x1=\"{x:.1}\" y1=\"{y1}\" x2=\"{x:.1}\" y2=\"{y0}\"/>"
            );
            if x - last_label >= LABEL_GAP {
                let label = match p.serving_version {
                    Some(v) => format!("v{v}"),
                    None => "nothing valid".to_owned(),
                };
                let anchor = if x > x1 - LABEL_GAP { "end" } else { "start" };
                let _ = write!(
                    out,
                    "<text class=\"version\" x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{label}</text>",
                    if anchor == "end" { x - 2.0 } else { x + 2.0 },
                    y1 - 5.0
                );
                last_label = x;
            }
            out.push('\n');
            served = Some(p.serving_version);
        }
        if latest.is_some_and(|l| l != p.latest_version) {
            let _ = writeln!(
                out,
                "<path class=\"release\" d=\"M{x:.1} {y0}l-3 5h6z\"><title>release {} first seen by {}</title></path>",
                p.latest_version,
                date(p.at, 0)
            );
        }
        latest = Some(p.latest_version);
    }

    // The lag itself.
    out.push_str("<path class=\"line\" d=\"");
    for (i, p) in drawn.iter().enumerate() {
        let _ = write!(
            out,
            "{}{:.1} {:.1}",
            if i == 0 { "M" } else { "L" },
            scale.x(p.at),
            scale.y(p.lag_seconds)
        );
    }
    if drawn.len() == 1 {
        // One observation: a short flat stroke, so the line is visible at all.
        let _ = write!(out, "h1");
    }
    out.push_str("\"/>\n");
    for p in &drawn {
        let nothing = p.serving_version.is_none();
        if !nothing && drawn.len() > MAX_DOTS {
            continue;
        }
        let _ = write!(
            out,
            "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\"><title>{}</title></circle>",
            if nothing { "nothing" } else { "pt" },
            scale.x(p.at),
            scale.y(p.lag_seconds),
            if nothing { 3 } else { 2 },
            point_words(p)
        );
    }
    out.push_str("\n</svg>\n");

    if let Some(last) = last {
        out.push_str("<p>");
        let _ = write!(out, "Last seen {}: ", date(last.at, 0));
        match last.serving_version {
            Some(v) if v >= last.latest_version => {
                let _ = write!(out, "serves the latest release {v}");
            }
            Some(v) => {
                let _ = write!(
                    out,
                    "serves {v}, latest {}, <b>{} behind</b>",
                    last.latest_version,
                    duration(last.lag_seconds)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<b>serves nothing valid</b>, latest {}, {} behind",
                    last.latest_version,
                    duration(last.lag_seconds)
                );
            }
        }
        let _ = write!(
            out,
            ". Worst lag {} over {} observation{}",
            duration(worst),
            total,
            if total == 1 { "" } else { "s" }
        );
        if total > drawn.len() {
            let _ = write!(out, " ({} drawn)", drawn.len());
        }
        out.push_str(".</p>\n");
    }
}

/// From (time, lag) to the chart's coordinates.
pub(super) struct Scale {
    t0: i64,
    span: f64,
    y_max: u64,
}

impl Scale {
    pub(super) fn new(t0: i64, t1: i64, worst: u64) -> Scale {
        Scale {
            t0,
            // A single instant is drawn at the left edge.
            span: (t1.saturating_sub(t0)).max(1) as f64,
            // A mirror never behind gets a flat line at 0 under a nominal top of 1 s.
            y_max: worst.max(1),
        }
    }

    pub(super) fn x(&self, at: i64) -> f64 {
        let f = (at.saturating_sub(self.t0)) as f64 / self.span;
        LEFT + f.clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    pub(super) fn y(&self, lag: u64) -> f64 {
        let f = lag as f64 / self.y_max as f64;
        (HEIGHT - BOTTOM) - f.clamp(0.0, 1.0) * (HEIGHT - BOTTOM - TOP)
    }
}

/// At most about twice [`MAX_POINTS`] observations: up to [`MAX_POINTS`], all of them;
/// beyond, per pixel column the one with the worst lag, and every observation where what
/// the mirror served, or the latest release, changed (while those are few enough).
pub(super) fn thin<'a>(points: &[&'a LagPoint], scale: &Scale) -> Vec<&'a LagPoint> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let kept = thin_keeping(points, scale, true);
    if kept.len() <= 2 * MAX_POINTS {
        return kept;
    }
    // A mirror that flips between versions at every run: its changes alone would be the
    // whole history, so the worst lag per column is all that is drawn.
    thin_keeping(points, scale, false)
}

fn thin_keeping<'a>(points: &[&'a LagPoint], scale: &Scale, changes: bool) -> Vec<&'a LagPoint> {
    let mut out: Vec<&LagPoint> = Vec::with_capacity(MAX_POINTS * 2);
    let mut column: Option<(i64, &LagPoint)> = None;
    let mut prev: Option<&LagPoint> = None;
    for &p in points {
        let changed = prev.is_none_or(|q| {
            q.serving_version != p.serving_version || q.latest_version != p.latest_version
        });
        prev = Some(p);
        let col = scale.x(p.at).floor() as i64;
        if changed && changes {
            if let Some((_, best)) = column.take() {
                out.push(best);
            }
            out.push(p);
            continue;
        }
        column = match column {
            Some((c, best)) if c == col => Some((
                c,
                if p.lag_seconds > best.lag_seconds {
                    p
                } else {
                    best
                },
            )),
            Some((_, best)) => {
                out.push(best);
                Some((col, p))
            }
            None => Some((col, p)),
        };
    }
    if let Some((_, best)) = column {
        out.push(best);
    }
    // The last observation is what the sentence under the chart describes: keep it drawn.
    if let (Some(&last), Some(&drawn)) = (points.last(), out.last())
        && !std::ptr::eq(last, drawn)
    {
        out.push(last);
    }
    out
}

fn point_words(p: &LagPoint) -> String {
    let served = match p.serving_version {
        Some(v) => format!("served {v}"),
        None => "served nothing valid".to_owned(),
    };
    format!(
        "{}: {served}, latest {}, lag {}",
        date(p.at, 0),
        p.latest_version,
        duration(p.lag_seconds)
    )
}

/// A lag in the two largest units that matter: "3d 4h", "5h 10m", "12m", "40s".
pub(super) fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

/// A run's time: to the second when the chart spans less than an hour (runs a minute apart
/// would read alike), to the minute when it spans less than a few days, else the day.
pub(super) fn date(at: i64, span: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp(at, 0) else {
        return at.to_string();
    };
    if span > 3 * 86_400 {
        t.format("%Y-%m-%d").to_string()
    } else if span >= 3600 {
        t.format("%Y-%m-%d %H:%M").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}
