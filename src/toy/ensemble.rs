//! Many trajectories of one realisation, and what is kept of them: ensemble statistics at every recording time,
//! the full timeseries of the first `saved` trajectories, every trajectory's final state, the (q, p) histograms
//! per outcome and the unconditional cq-state ρ̂(q, p) = E[ρ̂_cond δ(q − q_traj) δ(p − p_traj)] on a grid, and the
//! semiclassical trajectory beside them.
//!
//! Reproducible: trajectory i draws only Philox(seed; i, …), chunks of trajectories run in parallel (rayon) and
//! their sums are combined in chunk order, so the result is the same bits for any number of threads.
use super::continuous::Continuous;
use super::discrete::Discrete;
use super::model::{coherence, purity, Density, ToyModel};
use super::semiclassical::semiclassical;
use super::trajectory::{Initial, Point, Unravelling};
use anyhow::Result;
use num_complex::Complex64;
use rayon::prelude::*;

/// The leading s × s block of ρ̂ kept in the saved timeseries (all of it for the qubit).
pub const SAVED_BLOCK: usize = 16;
/// Trajectories per parallel task, and tasks per batch (bounds the memory of partial sums).
const CHUNK: u32 = 128;
const BATCH: usize = 64;

#[derive(Debug, Clone)]
pub enum Realisation {
    Discrete(Discrete),
    Continuous(Continuous),
}

impl Realisation {
    pub fn unravelling(&self) -> &dyn Unravelling {
        match self {
            Realisation::Discrete(d) => d,
            Realisation::Continuous(c) => c,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Realisation::Discrete(_) => "discrete",
            Realisation::Continuous(_) => "continuous",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSpec {
    pub q_bins: usize,
    pub p_bins: usize,
    /// None: the range of the final states, widened by half a bin on each side.
    pub q_range: Option<[f64; 2]>,
    pub p_range: Option<[f64; 2]>,
}

/// Everything a toy run needs.
#[derive(Debug, Clone)]
pub struct ToySetup {
    pub model: ToyModel,
    pub realisation: Realisation,
    pub initial: Initial,
    /// Recording times, from 0 to t_end.
    pub times: Vec<f64>,
    pub trajectories: u32,
    pub saved: u32,
    pub seed: u64,
    pub outcome_threshold: f64,
    pub histogram: HistogramSpec,
}

/// Sums over trajectories at one recording time; q and p as deviations from the semiclassical path (no
/// cancellation in the variances).
#[derive(Debug, Clone)]
struct Sums {
    n: f64,
    q: f64,
    q2: f64,
    p: f64,
    p2: f64,
    qp: f64,
    coherence: f64,
    purity: f64,
    purity_min: f64,
    jumps: f64,
    jumps2: f64,
    energy: f64,
    undecided: f64,
    populations: Vec<f64>,
}

impl Sums {
    fn new(d: usize) -> Self {
        Self { n: 0.0, q: 0.0, q2: 0.0, p: 0.0, p2: 0.0, qp: 0.0, coherence: 0.0, purity: 0.0, purity_min: f64::INFINITY, jumps: 0.0, jumps2: 0.0, energy: 0.0, undecided: 0.0, populations: vec![0.0; d] }
    }
    fn add(&mut self, o: &Sums) {
        self.n += o.n;
        self.q += o.q;
        self.q2 += o.q2;
        self.p += o.p;
        self.p2 += o.p2;
        self.qp += o.qp;
        self.coherence += o.coherence;
        self.purity += o.purity;
        self.purity_min = self.purity_min.min(o.purity_min);
        self.jumps += o.jumps;
        self.jumps2 += o.jumps2;
        self.energy += o.energy;
        self.undecided += o.undecided;
        for (a, b) in self.populations.iter_mut().zip(&o.populations) {
            *a += b;
        }
    }
}

/// What one chunk of trajectories contributes: sums per recording time, saved timeseries, final states.
type ChunkResult = (Vec<Sums>, Vec<SavedTrajectory>, Vec<FinalState>);

/// The timeseries of one saved trajectory (arrays over the recording times, row-major).
#[derive(Debug, Clone, Default)]
pub struct SavedTrajectory {
    pub index: u32,
    pub q: Vec<f64>,
    pub p: Vec<f64>,
    pub jumps: Vec<u64>,
    pub purity: Vec<f64>,
    pub coherence: Vec<f64>,
    /// (time, level)
    pub populations: Vec<f64>,
    /// (time, s, s), s = min(d, SAVED_BLOCK)
    pub rho_re: Vec<f64>,
    pub rho_im: Vec<f64>,
}

/// A trajectory at the last recording time.
#[derive(Debug, Clone)]
pub struct FinalState {
    pub q: f64,
    pub p: f64,
    pub jumps: u64,
    pub populations: Vec<f64>,
    /// ρ₁₀ (the qubit's α = ⟨↑|ρ̂|↓⟩).
    pub alpha: Complex64,
    /// The level whose population is ≥ the outcome threshold, or −1 (undecided).
    pub outcome: i32,
}

/// The (q, p) grid at the last recording time. Arrays are (…, p bin, q bin), q fastest.
#[derive(Debug, Clone)]
pub struct Histograms {
    pub q_edges: Vec<f64>,
    pub p_edges: Vec<f64>,
    /// (d + 1, p, q): trajectories per outcome level, the last plane the undecided ones.
    pub counts: Vec<f64>,
    /// (d, p, q): u_k(q, p) = E[ρ_kk δ(q − q_i) δ(p − p_i)], a density (Σ over levels and cells × cell area = 1
    /// less what falls outside the grid).
    pub u: Vec<f64>,
    /// (p, q): α(q, p) = E[ρ₁₀ δ δ], real and imaginary parts.
    pub alpha_re: Vec<f64>,
    pub alpha_im: Vec<f64>,
    /// Trajectories outside the grid.
    pub outside: u64,
}

/// What a toy run produces.
#[derive(Debug, Clone)]
pub struct ToyResult {
    pub times: Vec<f64>,
    /// Ensemble timeseries: (name, value per recording time), names as in docs/toy.md.
    pub columns: Vec<(&'static str, Vec<f64>)>,
    /// E[ρ_kk] per recording time: (time, level).
    pub populations_mean: Vec<f64>,
    pub saved: Vec<SavedTrajectory>,
    pub finals: Vec<FinalState>,
    pub histograms: Histograms,
    /// The semiclassical trajectory: q, p and |ρ₁₀| per recording time.
    pub semiclassical: [Vec<f64>; 3],
}

impl ToyResult {
    /// The ensemble timeseries column `name` (panics on an unknown name: the names are fixed, docs/toy.md).
    pub fn column(&self, name: &str) -> &[f64] {
        &self.columns.iter().find(|c| c.0 == name).unwrap_or_else(|| panic!("no toy timeseries column {name}")).1
    }
}

impl ToySetup {
    /// Runs the ensemble; `progress(done)` is called as chunks of trajectories finish.
    pub fn run(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<ToyResult> {
        let d = self.model.dim();
        let nt = self.times.len();
        let sc: Vec<(f64, f64, Density)> = self.times.iter().map(|&t| semiclassical(&self.model, &self.initial, t)).collect();
        let mut total: Vec<Sums> = vec![Sums::new(d); nt];
        let mut saved = Vec::new();
        let mut finals = Vec::with_capacity(self.trajectories as usize);
        let n_chunks = self.trajectories.div_ceil(CHUNK);
        let chunk_ids: Vec<u32> = (0..n_chunks).collect();
        let mut done = 0u64;
        for batch in chunk_ids.chunks(BATCH) {
            let parts: Vec<Result<ChunkResult>> = batch.par_iter().map(|&c| self.chunk(c, &sc)).collect();
            for part in parts {
                let (sums, sv, fs) = part?;
                for (a, b) in total.iter_mut().zip(&sums) {
                    a.add(b);
                }
                saved.extend(sv);
                done += fs.len() as u64;
                finals.extend(fs);
            }
            progress(done);
        }
        let histograms = self.histograms(&finals);
        let (columns, populations_mean) = self.columns(&total, &sc);
        let semiclassical = [sc.iter().map(|s| s.0).collect(), sc.iter().map(|s| s.1).collect(), sc.iter().map(|s| s.2[(1, 0)].norm()).collect()];
        Ok(ToyResult { times: self.times.clone(), columns, populations_mean, saved, finals, histograms, semiclassical })
    }

    /// The outcome of a conditional state: the level with population ≥ the threshold, else −1.
    pub fn outcome(&self, rho: &Density) -> i32 {
        (0..rho.nrows()).find(|&k| rho[(k, k)].re >= self.outcome_threshold).map_or(-1, |k| k as i32)
    }

    fn chunk(&self, c: u32, sc: &[(f64, f64, Density)]) -> Result<ChunkResult> {
        let d = self.model.dim();
        let nt = self.times.len();
        let s = d.min(SAVED_BLOCK);
        let mut sums = vec![Sums::new(d); nt];
        let mut saved = Vec::new();
        let mut finals = Vec::new();
        let first = c * CHUNK;
        let last = (first + CHUNK).min(self.trajectories);
        for i in first..last {
            let keep = i < self.saved;
            let mut st = SavedTrajectory { index: i, ..Default::default() };
            let mut fin = None;
            let mut record = |k: usize, pt: &Point| {
                let rho = pt.rho;
                let (dq, dp) = (pt.q - sc[k].0, pt.p - sc[k].1);
                let (pur, coh) = (purity(rho), coherence(rho));
                let outcome = self.outcome(rho);
                let sm = &mut sums[k];
                sm.n += 1.0;
                sm.q += dq;
                sm.q2 += dq * dq;
                sm.p += dp;
                sm.p2 += dp * dp;
                sm.qp += dq * dp;
                sm.coherence += coh;
                sm.purity += pur;
                sm.purity_min = sm.purity_min.min(pur);
                sm.jumps += pt.jumps as f64;
                sm.jumps2 += (pt.jumps as f64).powi(2);
                sm.energy += self.model.mean_energy(rho);
                sm.undecided += f64::from(u8::from(outcome < 0));
                for (l, a) in sm.populations.iter_mut().enumerate() {
                    *a += rho[(l, l)].re;
                }
                if keep {
                    st.q.push(pt.q);
                    st.p.push(pt.p);
                    st.jumps.push(pt.jumps);
                    st.purity.push(pur);
                    st.coherence.push(coh);
                    st.populations.extend((0..d).map(|l| rho[(l, l)].re));
                    for a in 0..s {
                        for b in 0..s {
                            st.rho_re.push(rho[(a, b)].re);
                            st.rho_im.push(rho[(a, b)].im);
                        }
                    }
                }
                if k + 1 == nt {
                    fin = Some(FinalState {
                        q: pt.q,
                        p: pt.p,
                        jumps: pt.jumps,
                        populations: (0..d).map(|l| rho[(l, l)].re).collect(),
                        alpha: rho[(1, 0)],
                        outcome,
                    });
                }
            };
            self.realisation.unravelling().trajectory(self.seed, i, &self.initial, &self.times, &mut record)?;
            finals.push(fin.expect("the last recording time is always recorded"));
            if keep {
                saved.push(st);
            }
        }
        Ok((sums, saved, finals))
    }

    fn columns(&self, total: &[Sums], sc: &[(f64, f64, Density)]) -> (Vec<(&'static str, Vec<f64>)>, Vec<f64>) {
        let col = |f: &dyn Fn(&Sums, usize) -> f64| total.iter().enumerate().map(|(k, s)| f(s, k)).collect::<Vec<f64>>();
        let var = |s2: f64, s1: f64, n: f64| if n > 1.0 { (s2 - s1 * s1 / n) / (n - 1.0) } else { 0.0 };
        let columns = vec![
            ("t", self.times.clone()),
            ("q_mean", col(&|s, k| sc[k].0 + s.q / s.n)),
            ("p_mean", col(&|s, k| sc[k].1 + s.p / s.n)),
            ("q_var", col(&|s, _| var(s.q2, s.q, s.n))),
            ("p_var", col(&|s, _| var(s.p2, s.p, s.n))),
            ("qp_cov", col(&|s, _| if s.n > 1.0 { (s.qp - s.q * s.p / s.n) / (s.n - 1.0) } else { 0.0 })),
            ("coherence_mean", col(&|s, _| s.coherence / s.n)),
            ("purity_mean", col(&|s, _| s.purity / s.n)),
            ("purity_min", col(&|s, _| s.purity_min)),
            ("jumps_mean", col(&|s, _| s.jumps / s.n)),
            ("jumps_var", col(&|s, _| var(s.jumps2, s.jumps, s.n))),
            ("energy_mean", col(&|s, _| s.energy / s.n)),
            ("undecided_fraction", col(&|s, _| s.undecided / s.n)),
            ("q_semiclassical", sc.iter().map(|s| s.0).collect()),
            ("p_semiclassical", sc.iter().map(|s| s.1).collect()),
        ];
        let pops = total.iter().flat_map(|s| s.populations.iter().map(move |p| p / s.n)).collect();
        (columns, pops)
    }

    fn histograms(&self, finals: &[FinalState]) -> Histograms {
        let spec = &self.histogram;
        let d = self.model.dim();
        let range = |given: Option<[f64; 2]>, bins: usize, x: &dyn Fn(&FinalState) -> f64| -> [f64; 2] {
            given.unwrap_or_else(|| {
                let lo = finals.iter().map(x).fold(f64::INFINITY, f64::min);
                let hi = finals.iter().map(x).fold(f64::NEG_INFINITY, f64::max);
                let span = if hi > lo { hi - lo } else { 1.0 };
                let pad = 0.5 * span / (bins as f64 - 1.0).max(1.0);
                [lo - pad, hi + pad]
            })
        };
        let qr = range(spec.q_range, spec.q_bins, &|f| f.q);
        let pr = range(spec.p_range, spec.p_bins, &|f| f.p);
        let edges = |r: [f64; 2], n: usize| (0..=n).map(|k| r[0] + (r[1] - r[0]) * k as f64 / n as f64).collect::<Vec<f64>>();
        let (nq, np) = (spec.q_bins, spec.p_bins);
        let cell_area = (qr[1] - qr[0]) / nq as f64 * (pr[1] - pr[0]) / np as f64;
        let norm = 1.0 / (finals.len() as f64 * cell_area);
        let mut h = Histograms {
            q_edges: edges(qr, nq),
            p_edges: edges(pr, np),
            counts: vec![0.0; (d + 1) * np * nq],
            u: vec![0.0; d * np * nq],
            alpha_re: vec![0.0; np * nq],
            alpha_im: vec![0.0; np * nq],
            outside: 0,
        };
        let bin = |x: f64, r: [f64; 2], n: usize| {
            let b = ((x - r[0]) / (r[1] - r[0]) * n as f64).floor();
            (b >= 0.0 && b < n as f64).then_some(b as usize)
        };
        for f in finals {
            let (Some(iq), Some(ip)) = (bin(f.q, qr, nq), bin(f.p, pr, np)) else {
                h.outside += 1;
                continue;
            };
            let cell = ip * nq + iq;
            let plane = if f.outcome < 0 { d } else { f.outcome as usize };
            h.counts[plane * np * nq + cell] += 1.0;
            for (k, pk) in f.populations.iter().enumerate() {
                h.u[k * np * nq + cell] += pk * norm;
            }
            h.alpha_re[cell] += f.alpha.re * norm;
            h.alpha_im[cell] += f.alpha.im * norm;
        }
        h
    }
}
