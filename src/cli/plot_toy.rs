//! `cqgrav plot FILE` for a `cqgrav toy` output (docs/toy.md): the paper's Figure 1 from the run —
//! `figure1.png`: left, the saved CQ trajectories q(t) coloured by their final outcome (spin up / down); right, the
//! semiclassical trajectory (expectation-value coupling) with the trajectory average E[q](t) — and
//! `cq_state.png` (the unconditional u_k(q, p) and |α(q, p)| at t_end) and `momentum.png` (the distribution of p
//! at t_end per outcome, with the semiclassical p).
use super::figure::{linear_tick, register_font, text_style, ticks};
use super::number::g;
use crate::io::toy::ToyOutput;
use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const INK: RGBColor = RGBColor(40, 40, 40);
const GRID: RGBColor = RGBColor(225, 225, 225);
const UNDECIDED: RGBColor = RGBColor(150, 150, 150);
/// Outcome colours: the qubit's down (blue) and up (red); the oscillator's levels in order.
const LEVEL_COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

type Root<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{e}")
}

pub fn plot(file: &Path, dir: &Path) -> Result<()> {
    register_font();
    let f = ToyOutput::open(file)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the plot directory {}", dir.display()))?;
    for p in write_plots(&f, dir)? {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// The three figures of a toy output; returns the files written.
pub fn write_plots(f: &ToyOutput, dir: &Path) -> Result<Vec<PathBuf>> {
    let files = [dir.join("figure1.png"), dir.join("cq_state.png"), dir.join("momentum.png")];
    figure1(f, &files[0]).with_context(|| format!("writing {}", files[0].display()))?;
    cq_state(f, &files[1]).with_context(|| format!("writing {}", files[1].display()))?;
    momentum(f, &files[2]).with_context(|| format!("writing {}", files[2].display()))?;
    Ok(files.to_vec())
}

/// The colour and legend name of an outcome (−1: undecided).
fn outcome_style(f: &ToyOutput, outcome: i32) -> (RGBColor, String) {
    if outcome < 0 {
        return (UNDECIDED, "undecided".into());
    }
    let k = outcome as usize;
    let name = if f.model == "qubit-particle" { format!("spin {}", f.level_labels[k]) } else { f.level_labels[k].clone() };
    (LEVEL_COLORS[k % LEVEL_COLORS.len()], name)
}

/// Draws `s` with its top-left corner at (x, y) in the embedded vector font, 15 px per `scale`.
fn text(root: &Root, x: i32, y: i32, s: &str, color: RGBColor, scale: i32) {
    let _ = root.draw_text(s, &text_style(15.0 * scale as f64, color), (x, y));
}

/// A plot box in pixels with its data ranges.
struct Panel {
    px: (i32, i32),
    py: (i32, i32),
    xr: (f64, f64),
    yr: (f64, f64),
}

impl Panel {
    fn sx(&self, x: f64) -> i32 {
        self.px.0 + ((x - self.xr.0) / (self.xr.1 - self.xr.0) * (self.px.1 - self.px.0) as f64).round() as i32
    }
    fn sy(&self, y: f64) -> i32 {
        self.py.1 - ((y - self.yr.0) / (self.yr.1 - self.yr.0) * (self.py.1 - self.py.0) as f64).round() as i32
    }
    /// Grid, ticks, frame, title and axis labels.
    fn frame(&self, root: &Root, title: &str, xlabel: &str, ylabel: &str, grid: bool) -> Result<()> {
        let line = |a: (i32, i32), b: (i32, i32), c: RGBColor| root.draw(&PathElement::new(vec![a, b], c.stroke_width(1))).map_err(err);
        let xt = ticks(self.xr.0, self.xr.1, 6);
        let xstep = if xt.len() > 1 { xt[1] - xt[0] } else { self.xr.1 - self.xr.0 };
        for &x in &xt {
            if grid {
                line((self.sx(x), self.py.0), (self.sx(x), self.py.1), GRID)?;
            }
            let s = linear_tick(x, xstep);
            text(root, self.sx(x) - 4 * s.len() as i32, self.py.1 + 8, &s, INK, 1);
        }
        let yt = ticks(self.yr.0, self.yr.1, 6);
        let ystep = if yt.len() > 1 { yt[1] - yt[0] } else { self.yr.1 - self.yr.0 };
        for &y in &yt {
            if grid {
                line((self.px.0, self.sy(y)), (self.px.1, self.sy(y)), GRID)?;
            }
            let s = linear_tick(y, ystep);
            text(root, self.px.0 - 8 - 8 * s.len() as i32, self.sy(y) - 4, &s, INK, 1);
        }
        let (x0, x1, y0, y1) = (self.px.0, self.px.1, self.py.0, self.py.1);
        for (a, b) in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))] {
            line(a, b, INK)?;
        }
        text(root, x0, y0 - 22, title, INK, 1);
        text(root, (x0 + x1) / 2 - 4 * xlabel.len() as i32, y1 + 26, xlabel, INK, 1);
        text(root, x0 - 56, y0 - 10, ylabel, INK, 1);
        Ok(())
    }
    fn polyline(&self, root: &Root, xs: &[f64], ys: &[f64], color: RGBColor, width: u32) -> Result<()> {
        let pts: Vec<(i32, i32)> = xs.iter().zip(ys).filter(|(_, y)| y.is_finite()).map(|(&x, &y)| (self.sx(x), self.sy(y))).collect();
        root.draw(&PathElement::new(pts, color.stroke_width(width))).map_err(err)
    }
    fn dashed(&self, root: &Root, xs: &[f64], ys: &[f64], color: RGBColor) -> Result<()> {
        for (k, (x, y)) in xs.windows(2).zip(ys.windows(2)).enumerate() {
            if (k / 4) % 2 == 0 {
                self.polyline(root, x, y, color, 3)?;
            }
        }
        Ok(())
    }
}

/// A legend box at (x, y): coloured line and name per entry.
fn legend(root: &Root, x: i32, y: i32, entries: &[(RGBColor, String)]) -> Result<()> {
    let w = 8 * entries.iter().map(|e| e.1.len()).max().unwrap_or(1) as i32 + 48;
    let h = 14 * entries.len() as i32 + 10;
    root.draw(&Rectangle::new([(x, y), (x + w, y + h)], WHITE.filled())).map_err(err)?;
    root.draw(&Rectangle::new([(x, y), (x + w, y + h)], INK.stroke_width(1))).map_err(err)?;
    for (k, (c, name)) in entries.iter().enumerate() {
        let ly = y + 6 + 14 * k as i32;
        root.draw(&PathElement::new(vec![(x + 8, ly + 4), (x + 32, ly + 4)], c.stroke_width(3))).map_err(err)?;
        text(root, x + 40, ly, name, INK, 1);
    }
    Ok(())
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = vals.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

/// Figure 1 of the paper from the run.
fn figure1(f: &ToyOutput, path: &Path) -> Result<()> {
    let (w, h) = (1400u32, 620u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let t = &f.t;
    let q_mean = f.timeseries.column("q_mean").ok_or_else(|| anyhow!("no timeseries column q_mean"))?;
    let yr = range(f.saved_q.iter().flatten().copied().chain(f.semiclassical_q.iter().copied()).chain(q_mean.iter().copied()));
    let xr = (t[0], *t.last().unwrap_or(&1.0));
    let xr = if xr.1 > xr.0 { xr } else { (xr.0, xr.0 + 1.0) };
    text(&root, 90, 10, &format!("Figure 1 (paper IV B): {}, {} realisation", f.model, f.realisation), INK, 2);
    let left = Panel { px: (90, 680), py: (70, h as i32 - 60), xr, yr };
    let right = Panel { px: (790, 1380), py: (70, h as i32 - 60), xr, yr };
    left.frame(&root, "CQ trajectories q(t), coloured by the final outcome", "t", "q", true)?;
    right.frame(&root, "semiclassical: coupled to <H_m>; dashed: E[q] over all CQ trajectories", "t", "q", true)?;
    let mut seen: Vec<i32> = Vec::new();
    for (q, &o) in f.saved_q.iter().zip(&f.saved_outcome) {
        left.polyline(&root, t, q, outcome_style(f, o).0, 1)?;
        if !seen.contains(&o) {
            seen.push(o);
        }
    }
    seen.sort_by_key(|&o| if o < 0 { i32::MAX } else { o });
    let entries: Vec<(RGBColor, String)> = seen.iter().map(|&o| outcome_style(f, o)).collect();
    legend(&root, left.px.0 + 10, left.py.0 + 10, &entries)?;
    right.polyline(&root, t, &f.semiclassical_q, BLACK, 3)?;
    right.dashed(&root, t, q_mean, RGBColor(255, 127, 14))?;
    legend(&root, right.px.0 + 10, right.py.0 + 10, &[(BLACK, "semiclassical".into()), (RGBColor(255, 127, 14), "trajectory average E[q]".into())])?;
    root.present().map_err(err)
}

/// White → colour map for a heatmap value in [0, 1].
fn heat(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0).sqrt();
    let mix = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
}

/// The unconditional cq-state at t_end on the (q, p) grid.
fn cq_state(f: &ToyOutput, path: &Path) -> Result<()> {
    let (nq, np) = (f.q_edges.len() - 1, f.p_edges.len() - 1);
    let plane = |k: usize| f.u[k * np * nq..(k + 1) * np * nq].to_vec();
    let mut panels: Vec<(String, Vec<f64>)> = Vec::new();
    if f.model == "qubit-particle" {
        panels.push(("u_up(q, p)".into(), plane(1)));
        panels.push(("u_down(q, p)".into(), plane(0)));
    } else {
        let total = (0..np * nq).map(|c| (0..f.levels).map(|k| f.u[k * np * nq + c]).sum()).collect();
        panels.push(("sum_k u_k(q, p)".into(), total));
    }
    panels.push(("|alpha(q, p)| (rho_10)".into(), f.alpha_abs.clone()));
    let width = 470 * panels.len() as u32 + 40;
    let root = BitMapBackend::new(path, (width, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let t_end = f.t.last().copied().unwrap_or(0.0);
    text(&root, 90, 10, &format!("unconditional cq-state at t = {} ({}, {} realisation); x: semiclassical (q, p)", g(t_end, 4), f.model, f.realisation), INK, 1);
    let xr = (f.q_edges[0], f.q_edges[nq]);
    let yr = (f.p_edges[0], f.p_edges[np]);
    let (qs, ps) = (f.semiclassical_q.last().copied().unwrap_or(0.0), f.semiclassical_p.last().copied().unwrap_or(0.0));
    for (i, (title, data)) in panels.iter().enumerate() {
        let x0 = 90 + 470 * i as i32;
        let panel = Panel { px: (x0, x0 + 380), py: (60, 480), xr, yr };
        let max = data.iter().copied().fold(0.0f64, f64::max);
        for ip in 0..np {
            for iq in 0..nq {
                let v = data[ip * nq + iq];
                if v > 0.0 && max > 0.0 {
                    let a = (panel.sx(f.q_edges[iq]), panel.sy(f.p_edges[ip + 1]));
                    let b = (panel.sx(f.q_edges[iq + 1]), panel.sy(f.p_edges[ip]));
                    root.draw(&Rectangle::new([a, b], heat(v / max).filled())).map_err(err)?;
                }
            }
        }
        panel.frame(&root, &format!("{title}, max {:.3e}", max), "q", "p", false)?;
        let (cx, cy) = (panel.sx(qs), panel.sy(ps));
        for (a, b) in [((cx - 6, cy - 6), (cx + 6, cy + 6)), ((cx - 6, cy + 6), (cx + 6, cy - 6))] {
            root.draw(&PathElement::new(vec![a, b], BLACK.stroke_width(2))).map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// The distribution of p at t_end per outcome (from /histograms), with the semiclassical p.
fn momentum(f: &ToyOutput, path: &Path) -> Result<()> {
    let (nq, np) = (f.q_edges.len() - 1, f.p_edges.len() - 1);
    let n: f64 = f.counts.iter().sum::<f64>().max(1.0);
    let dp = (f.p_edges[np] - f.p_edges[0]) / np as f64;
    let planes = f.counts.len() / (np * nq);
    let mut curves: Vec<(i32, Vec<f64>)> = Vec::new();
    for k in 0..planes {
        let density: Vec<f64> = (0..np).map(|ip| (0..nq).map(|iq| f.counts[(k * np + ip) * nq + iq]).sum::<f64>() / (n * dp)).collect();
        if density.iter().any(|&v| v > 0.0) {
            curves.push((if k + 1 == planes { -1 } else { k as i32 }, density));
        }
    }
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let ymax = curves.iter().flat_map(|c| c.1.iter().copied()).fold(0.0f64, f64::max);
    let panel = Panel { px: (100, 936), py: (70, 544), xr: (f.p_edges[0], f.p_edges[np]), yr: (0.0, if ymax > 0.0 { 1.4 * ymax } else { 1.0 }) };
    let t_end = f.t.last().copied().unwrap_or(0.0);
    panel.frame(&root, &format!("momentum distribution at t = {} per outcome (fraction per unit p); black: semiclassical p", g(t_end, 4)), "p", "density", true)?;
    let mut entries = Vec::new();
    for (o, density) in &curves {
        let (c, name) = outcome_style(f, *o);
        // a step curve over the bins
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for (ip, &v) in density.iter().enumerate() {
            xs.extend([f.p_edges[ip], f.p_edges[ip + 1]]);
            ys.extend([v, v]);
        }
        panel.polyline(&root, &xs, &ys, c, 2)?;
        entries.push((c, name));
    }
    let ps = f.semiclassical_p.last().copied().unwrap_or(0.0);
    panel.polyline(&root, &[ps, ps], &[panel.yr.0, panel.yr.1], BLACK, 2)?;
    entries.push((BLACK, "semiclassical p".into()));
    legend(&root, panel.px.1 - 260, panel.py.0 + 10, &entries)?;
    root.present().map_err(err)
}
