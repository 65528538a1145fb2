//! Classical RK4 written as four fused stages over three extra state copies (SPEC §2, method of lines):
//!   k_s = f(u_s);  acc ← (s = 1 ? y : acc) + w_s·dt·k_s;  u_{s+1} = y + c_s·dt·k_s;  last stage: y ← acc + w_4·dt·k_4
//! with u_1 = y, c = (½, ½, 1), w = (1/6, 1/3, 1/3, 1/6). Each stage reads u_s with stencils and y, acc pointwise,
//! so it is one pass over the lattice on either backend.

/// What a stage does with its right-hand side k.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rk4Stage {
    pub index: usize,
    /// weight of k in the final combination
    pub w: f64,
    /// coefficient of k in the next stage's input (unused by the last stage)
    pub c: f64,
}

pub const STAGES: [Rk4Stage; 4] = [
    Rk4Stage { index: 0, w: 1.0 / 6.0, c: 0.5 },
    Rk4Stage { index: 1, w: 1.0 / 3.0, c: 0.5 },
    Rk4Stage { index: 2, w: 1.0 / 3.0, c: 1.0 },
    Rk4Stage { index: 3, w: 1.0 / 6.0, c: 0.0 },
];

/// The combination of one stage for a flat f64 array (pointwise; the same arithmetic as the fused field kernels):
/// acc ← (first ? y : acc) + w·dt·k, next ← y + c·dt·k; the last stage writes y ← acc + w·dt·k and ignores `next`.
/// Short arrays are combined on the calling thread (`par::parallel_work`).
pub fn combine_f64(st: &Rk4Stage, dt: f64, k: &[f64], y: &mut [f64], acc: &mut [f64], next: &mut [f64]) {
    use rayon::prelude::*;
    let wdt = st.w * dt;
    let cdt = st.c * dt;
    let parallel = super::par::parallel_work(k.len());
    if st.is_last() {
        let f = |(y, (a, k)): (&mut f64, (&f64, &f64))| *y = a + wdt * k;
        if parallel {
            y.par_iter_mut().zip(acc.par_iter().zip(k.par_iter())).for_each(f);
        } else {
            y.iter_mut().zip(acc.iter().zip(k)).for_each(f);
        }
        return;
    }
    let first = st.is_first();
    let f = |((a, nx), (y, k)): ((&mut f64, &mut f64), (&f64, &f64))| {
        let base = if first { *y } else { *a };
        *a = base + wdt * k;
        *nx = y + cdt * k;
    };
    if parallel {
        acc.par_iter_mut().zip(next.par_iter_mut()).zip(y.par_iter().zip(k.par_iter())).for_each(f);
    } else {
        acc.iter_mut().zip(next.iter_mut()).zip(y.iter().zip(k)).for_each(f);
    }
}

impl Rk4Stage {
    pub fn is_first(&self) -> bool {
        self.index == 0
    }
    pub fn is_last(&self) -> bool {
        self.index == 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// The fused stages reproduce classical RK4: on u' = λu one step multiplies by Σ_{k≤4} (λdt)^k/k!.
    #[test]
    fn reproduces_rk4_polynomial() {
        let (lam, dt) = (-0.7f64, 0.3f64);
        let y = 1.3f64;
        let (mut acc, mut u) = (0.0, y);
        let mut y_new = 0.0;
        for st in STAGES {
            let k = lam * u;
            acc = if st.is_first() { y } else { acc } + st.w * dt * k;
            if st.is_last() {
                y_new = acc;
            } else {
                u = y + st.c * dt * k;
            }
        }
        let z = lam * dt;
        let exact = y * (1.0 + z + z * z / 2.0 + z * z * z / 6.0 + z * z * z * z / 24.0);
        assert!((y_new - exact).abs() < 1e-15);
    }
}
