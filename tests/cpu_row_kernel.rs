//! The row-wise CPU right-hand side (src/backend/cpu/evolve_row.rs, with fd_row.rs and numerics/lanes.rs) is
//! bit for bit the per-site reference `rhs_all_reference` (fd.rs stencils with periodic wrapping at every tap,
//! `site_rhs` one site at a time), on every instruction set this CPU has (baseline SSE2, AVX2 + FMA, AVX-512),
//! in f32 and f64, for both finite-difference orders, with and without Kreiss–Oliger dissipation, every lapse
//! condition and a non-zero potential, on lattices whose rows are not a whole number of vectors (and on
//! homogeneous directions, down to one site; short rows go in blocks of rows: the whole lattice below 512
//! sites, a few rows at a time above). The same for the gathered kernel (all sites of a lattice in one block, the
//! taps gathered across rows: the stepper's path below 512 sites) on every lattice, and for `rhs_all`, the
//! stepper's entry point, which also takes a stencil-free path on a one-site lattice. The same for the row-wise
//! scalar flux (flux_row.rs) against its per-site reference.
use cqgrav::backend::cpu::evolve_row::{rhs_gathered, rhs_rows, Isa};
use cqgrav::backend::cpu::evolve_stage::{rhs_all, rhs_all_reference, StageBuffers};
use cqgrav::backend::cpu::fd::Fd;
use cqgrav::backend::cpu::flux_row::scalar_flux_rows;
use cqgrav::backend::cpu::scalar_flux::{scalar_flux, scalar_flux_reference};
use cqgrav::config::Lapse;
use cqgrav::numerics::lattice::Lattice;
use cqgrav::numerics::real::Real;
use cqgrav::numerics::stencil::Stencil;
use cqgrav::physics::adm_rhs::RhsParams;
use cqgrav::physics::potential::Polynomial;
use cqgrav::state::{var, NVARS};

/// `rhs_rows` / `rhs_gathered`.
type Kernel<T> = fn(Isa, &Fd<T>, &Lattice, &RhsParams<T>, &StageBuffers<T>, &mut Vec<[T; NVARS]>);

/// A deterministic pseudo-random number in [−1, 1) (SplitMix64).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// A generic state: δg a tenth of the flat metric, π^ab, lapse near 1, φ and π_φ of order one, random flux.
fn state<T: Real>(lat: &Lattice, seed: u64) -> (Vec<T>, Vec<T>) {
    let n = lat.sites();
    let mut s = seed;
    let mut u = vec![T::zero(); NVARS * n];
    for v in 0..NVARS {
        for i in 0..n {
            let x = noise(&mut s);
            u[v * n + i] = T::c(match v {
                v if v < var::PI => 0.1 * x,
                var::LAPSE => 1.0 + 0.2 * x,
                _ => x,
            });
        }
    }
    let flux = (0..3 * n).map(|_| T::c(noise(&mut s))).collect();
    (u, flux)
}

fn params<T: Real>(lapse: Lapse) -> RhsParams<T> {
    let mut c = [0.0; 9];
    c[3] = 0.05;
    c[4] = 0.25 * 0.3;
    RhsParams {
        lambda: T::c(0.02),
        mass: T::c(0.7),
        potential: Polynomial { c }.cast(),
        lapse,
        background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0].map(T::c),
    }
}

fn compare<T: Real>(what: &str) {
    // small lattices run as one block of rows, larger ones with short rows (n ≥ 512) in blocks of several rows
    let shapes = [[9, 7, 8], [13, 2, 3], [1, 1, 1], [21, 1, 1], [1, 9, 1], [1, 1, 10], [32, 3, 1], [2, 2, 2], [3, 4, 5], [5, 11, 12]];
    let mut checked = 0;
    for (si, shape) in shapes.into_iter().enumerate() {
        let lat = Lattice::new(shape, 0.37);
        let (u, flux) = state::<T>(&lat, 17 + si as u64);
        let b = StageBuffers { input: &u, flux: &flux };
        for order in [2, 4] {
            for dissipation in [0.0, 0.3] {
                for lapse in [Lapse::Geodesic, Lapse::Harmonic, Lapse::OnePlusLog] {
                    let fd = Fd::<T>::new(&Stencil::new(order), lat.spacing, dissipation);
                    let p = params::<T>(lapse);
                    let mut reference = Vec::new();
                    rhs_all_reference(&fd, &lat, &p, &b, &mut reference);
                    assert!(reference.iter().flatten().all(|x| x.is_finite()), "{what}: the test state must give a finite right-hand side");
                    for isa in Isa::available() {
                        for (kernel, rhs) in [("row kernel", rhs_rows::<T> as Kernel<T>), ("gathered kernel", rhs_gathered::<T>)] {
                            let mut fast = Vec::new();
                            rhs(isa, &fd, &lat, &p, &b, &mut fast);
                            assert_eq!(fast.len(), lat.sites());
                            for (i, (f, r)) in fast.iter().zip(&reference).enumerate() {
                                for v in 0..NVARS {
                                    assert!(
                                        bytemuck::bytes_of(&f[v]) == bytemuck::bytes_of(&r[v]),
                                        "{what} {isa:?} shape {shape:?} order {order} σ {dissipation} {lapse:?}: site {i} variable {v}: {:?} ({kernel}) ≠ {:?} (reference)",
                                        f[v],
                                        r[v]
                                    );
                                }
                            }
                            checked += 1;
                        }
                    }
                    // the stepper's entry point (the gathered kernel below 512 sites, the row kernel, the one-site path)
                    let mut used = Vec::new();
                    rhs_all(&fd, &lat, &p, &b, &mut used);
                    for (i, (f, r)) in used.iter().zip(&reference).enumerate() {
                        assert!(
                            (0..NVARS).all(|v| bytemuck::bytes_of(&f[v]) == bytemuck::bytes_of(&r[v])),
                            "{what} rhs_all shape {shape:?} order {order} σ {dissipation} {lapse:?}: site {i}: {f:?} ≠ {r:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(checked >= shapes.len() * 24, "every instruction set was compared, both kernels");
}

#[test]
fn row_kernel_is_the_per_site_reference_bit_for_bit_f64() {
    compare::<f64>("f64");
}

#[test]
fn row_kernel_is_the_per_site_reference_bit_for_bit_f32() {
    compare::<f32>("f32");
}

/// The row-wise scalar flux (flux_row.rs) is bit for bit the per-site `scalar_flux_reference` (fd.rs stencils,
/// one site at a time) on every instruction set, f32 and f64, both orders, on rows that are and are not a whole
/// number of vectors (and one-site rows); so is `scalar_flux`, the stepper's entry point.
fn compare_flux<T: Real>(what: &str) {
    let shapes = [[9, 7, 8], [13, 2, 3], [1, 9, 1], [32, 3, 1], [16, 4, 9], [21, 5, 6], [5, 11, 12], [3, 4, 5]];
    let mut checked = 0;
    for (si, shape) in shapes.into_iter().enumerate() {
        let lat = Lattice::new(shape, 0.37);
        let (u, _) = state::<T>(&lat, 91 + si as u64);
        let background = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0].map(T::c);
        for order in [2, 4] {
            let fd = Fd::<T>::new(&Stencil::new(order), lat.spacing, 0.0);
            let mut reference = vec![T::zero(); 3 * lat.sites()];
            scalar_flux_reference(&fd, &lat, &background, &u, &mut reference);
            assert!(reference.iter().all(|x| x.is_finite() && *x != T::zero()), "{what}: the test state must give a finite, non-zero flux");
            let mut runs: Vec<(String, Vec<T>)> = Vec::new();
            for isa in Isa::available() {
                let mut fast = vec![T::zero(); 3 * lat.sites()];
                scalar_flux_rows(isa, &fd, &lat, &background, &u, &mut fast);
                runs.push((format!("rows {isa:?}"), fast));
            }
            let mut used = vec![T::zero(); 3 * lat.sites()];
            scalar_flux(&fd, &lat, &background, &u, &mut used);
            runs.push(("scalar_flux".into(), used));
            for (name, fast) in &runs {
                for (i, (f, r)) in fast.iter().zip(&reference).enumerate() {
                    assert!(bytemuck::bytes_of(f) == bytemuck::bytes_of(r), "{what} {name} shape {shape:?} order {order}: F^{} at site {}: {f:?} ≠ {r:?} (reference)", i / lat.sites(), i % lat.sites());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= shapes.len() * 2 * 2, "every instruction set was compared");
}

#[test]
fn row_flux_is_the_per_site_reference_bit_for_bit_f64() {
    compare_flux::<f64>("f64");
}

#[test]
fn row_flux_is_the_per_site_reference_bit_for_bit_f32() {
    compare_flux::<f32>("f32");
}

/// The detected instruction set is one of the available ones, and on x86-64 the baseline is always there.
#[test]
fn detected_instruction_set_is_available() {
    let all = Isa::available();
    assert_eq!(all[0], Isa::Baseline);
    assert!(all.contains(&Isa::detect()));
}
