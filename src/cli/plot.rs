//! `cqgrav plot FILE [--out DIR]`: PNG plots of an output file's timeseries for a quick look: scale factor,
//! Hubble rate, constraint norms (log scale) and energies against t.
//!
//! Lines are drawn with plotters' bitmap backend; text uses the public-domain 8×8 glyphs of `font8x8`
//! (plotters' own text needs system fonts, which a server or CI machine may not have).
use crate::io::{OutputFile, Timeseries};
use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const W: u32 = 960;
const H: u32 = 600;
const LEFT: i32 = 100;
const RIGHT: i32 = 24;
const TOP: i32 = 48;
const BOTTOM: i32 = 56;
const COLORS: [RGBColor; 5] = [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189), RGBColor(255, 127, 14)];

pub fn plot(file: &Path, out: Option<&Path>) -> Result<()> {
    let dir = out.map_or_else(|| default_dir(file), Path::to_path_buf);
    if crate::io::toy::is_toy_output(file) {
        // a `cqgrav toy` file: the paper's Figure 1 (src/cli/plot_toy.rs)
        return super::plot_toy::plot(file, &dir);
    }
    let f = OutputFile::open(file)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the plot directory {}", dir.display()))?;
    for p in write_plots(&f.timeseries, &dir, &file.display().to_string())? {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// `<file>.plots` beside the file.
pub fn default_dir(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".plots");
    PathBuf::from(s)
}

/// A named curve y(t).
type Series = (String, Vec<f64>);

/// The plots of SPEC §6's main diagnostics; returns the files written.
pub fn write_plots(ts: &Timeseries, dir: &Path, label: &str) -> Result<Vec<PathBuf>> {
    if ts.is_empty() {
        return Err(anyhow!("{label}: the timeseries has no rows yet: nothing to plot"));
    }
    let t = ts.column("t").ok_or_else(|| anyhow!("{label}: no timeseries column t"))?;
    let col = |n: &str| ts.column(n).map(|c| (n.to_string(), c.to_vec()));
    let mut energies: Vec<Series> = ["e_kin_grav", "e_pot_grav", "e_matter"].iter().filter_map(|n| col(n)).collect();
    if energies.len() == 3 {
        let total = (0..t.len()).map(|i| energies.iter().map(|e| e.1[i]).sum()).collect();
        energies.push(("total".into(), total));
    }
    // (file, title, named series, log scale)
    let plots: Vec<(&str, &str, Vec<Series>, bool)> = vec![
        ("scale_factor.png", "scale factor a = <sqrt g>^(1/3)", col("a").into_iter().collect(), false),
        ("hubble.png", "Hubble rate H = <K>/3", col("hubble").into_iter().collect(), false),
        (
            "constraints.png",
            "constraint norms (zeros not drawn)",
            ["ham_rel", "mom_rel", "ham_l2", "mom_l2"].iter().filter_map(|n| col(n)).collect(),
            true,
        ),
        ("energies.png", "energies (sum dV N ...)", energies, false),
    ];
    let mut written = Vec::new();
    for (name, title, series, log) in plots {
        if series.is_empty() {
            continue;
        }
        let path = dir.join(name);
        draw(&path, title, label, t, &series, log).with_context(|| format!("writing plot {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Nice tick values covering [lo, hi] (about `n` of them).
pub(super) fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

pub(super) fn fmt_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        // enough decimals to show the step exactly (0.25 → 2)
        let decimals = (0..12).find(|&d| {
            let x = step * 10f64.powi(d);
            (x.round() - x).abs() <= 1e-6 * x.abs().max(1.0)
        });
        let decimals = decimals.unwrap_or(12) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// The y range of the series (log: of log10 of the positive values); widened when flat.
fn y_range(series: &[Series], log: bool) -> Option<(f64, f64)> {
    let vals = series.iter().flat_map(|s| s.1.iter().copied()).filter(|v| v.is_finite() && (!log || *v > 0.0));
    let vals: Vec<f64> = if log { vals.map(f64::log10).collect() } else { vals.collect() };
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return None;
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else if log { 0.5 } else { 0.05 * lo.abs().max(1e-12) };
    Some((lo - pad, hi + pad))
}

fn draw(path: &Path, title: &str, label: &str, t: &[f64], series: &[Series], log: bool) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let root = BitMapBackend::new(path, (W, H)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let x0 = t.iter().copied().fold(f64::INFINITY, f64::min);
    let mut x1 = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let (y0, y1) = y_range(series, log).unwrap_or((0.0, 1.0));
    let to_y = |v: f64| if log { v.log10() } else { v };
    // plot area in pixels
    let (px0, px1, py0, py1) = (LEFT, W as i32 - RIGHT, TOP, H as i32 - BOTTOM);
    let sx = |x: f64| px0 + ((x - x0) / (x1 - x0) * (px1 - px0) as f64).round() as i32;
    let sy = |y: f64| py1 - ((y - y0) / (y1 - y0) * (py1 - py0) as f64).round() as i32;
    let grid = RGBColor(225, 225, 225);
    let ink = RGBColor(40, 40, 40);
    let line = |a: (i32, i32), b: (i32, i32), c: RGBColor| root.draw(&PathElement::new(vec![a, b], c.stroke_width(1)));

    // grid and tick labels
    let xt = ticks(x0, x1, 8);
    let xstep = if xt.len() > 1 { xt[1] - xt[0] } else { x1 - x0 };
    for &x in &xt {
        line((sx(x), py0), (sx(x), py1), grid).map_err(|e| err(&e))?;
        let s = fmt_tick(x, xstep);
        text(&root, sx(x) - 4 * s.len() as i32, py1 + 8, &s, ink, 1);
    }
    let yt: Vec<f64> = if log { (y0.ceil() as i64..=y1.floor() as i64).map(|k| k as f64).collect() } else { ticks(y0, y1, 8) };
    let ystep = if yt.len() > 1 { yt[1] - yt[0] } else { y1 - y0 };
    for &y in &yt {
        line((px0, sy(y)), (px1, sy(y)), grid).map_err(|e| err(&e))?;
        let s = if log { format!("1e{}", y as i64) } else { fmt_tick(y, ystep) };
        text(&root, px0 - 8 - 8 * s.len() as i32, sy(y) - 4, &s, ink, 1);
    }
    // frame, title, axis label
    for (a, b) in [((px0, py0), (px1, py0)), ((px1, py0), (px1, py1)), ((px1, py1), (px0, py1)), ((px0, py1), (px0, py0))] {
        line(a, b, ink).map_err(|e| err(&e))?;
    }
    text(&root, px0, 8, title, ink, 2);
    text(&root, px0, 30, label, ink, 1);
    text(&root, (px0 + px1) / 2 - 4, py1 + 30, "t", ink, 2);

    // curves, split at non-finite (or, on a log scale, non-positive) values
    let area = root.margin(py0 as u32 + 1, (H as i32 - py1) as u32 + 1, px0 as u32 + 1, W - px1 as u32 + 1);
    let clip = |x: i32, y: i32| (x - px0 - 1, y - py0 - 1);
    for (k, (_, ys)) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let mut seg: Vec<(i32, i32)> = Vec::new();
        let mut segments = Vec::new();
        for (&x, &y) in t.iter().zip(ys) {
            if y.is_finite() && (!log || y > 0.0) {
                seg.push(clip(sx(x), sy(to_y(y))));
            } else if !seg.is_empty() {
                segments.push(std::mem::take(&mut seg));
            }
        }
        segments.push(seg);
        for s in segments.into_iter().filter(|s| !s.is_empty()) {
            if s.len() == 1 {
                area.draw(&Circle::new(s[0], 2, color.filled())).map_err(|e| err(&e))?;
            } else {
                area.draw(&PathElement::new(s, color.stroke_width(2))).map_err(|e| err(&e))?;
            }
        }
    }
    // legend, in a framed white box in the top right corner
    let labels: Vec<String> = series
        .iter()
        .map(|(name, ys)| {
            let shown = ys.iter().any(|v| v.is_finite() && (!log || *v > 0.0));
            if shown { name.clone() } else { format!("{name} (no values)") }
        })
        .collect();
    let w = 8 * labels.iter().map(String::len).max().unwrap_or(1) as i32 + 48;
    let h = 14 * labels.len() as i32 + 10;
    let (bx, by) = (px1 - 8 - w, py0 + 8);
    root.draw(&Rectangle::new([(bx, by), (bx + w, by + h)], WHITE.filled())).map_err(|e| err(&e))?;
    root.draw(&Rectangle::new([(bx, by), (bx + w, by + h)], ink.stroke_width(1))).map_err(|e| err(&e))?;
    for (k, name) in labels.iter().enumerate() {
        let (lx, ly) = (bx + 8, by + 6 + 14 * k as i32);
        let color = COLORS[k % COLORS.len()];
        root.draw(&PathElement::new(vec![(lx, ly + 4), (lx + 24, ly + 4)], color.stroke_width(2))).map_err(|e| err(&e))?;
        text(&root, lx + 32, ly, name, ink, 1);
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// Draws ASCII `s` with the 8×8 font8x8 glyphs, top-left at (x, y), each pixel `scale`² pixels.
pub(super) fn text<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, x: i32, y: i32, s: &str, color: RGBColor, scale: i32) {
    for (i, ch) in s.chars().enumerate() {
        let glyph = font8x8::legacy::BASIC_LEGACY[if ch.is_ascii() { ch as usize } else { b'?' as usize }];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = x + (i as i32 * 8 + col) * scale + dx;
                            let py = y + row as i32 * scale + dy;
                            let _ = area.draw_pixel((px, py), &color);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks() {
        assert_eq!(ticks(0.0, 2.0, 8), vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]);
        assert_eq!(ticks(-1.0, 1.0, 4), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(fmt_tick(0.25, 0.25), "0.25");
        assert_eq!(fmt_tick(2e-8, 1e-8), "2.00e-8");
    }
}
