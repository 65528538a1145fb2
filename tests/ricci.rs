//! The discrete Ricci tensor, Ricci scalar and lapse Hessian of a fully 3-D, non-diagonal periodic metric
//! converge at the stencil order to exact values computed symbolically by sympy
//! (data/reference/make_ricci_reference.py, written independently of the solver).
mod support;
use cqgrav::backend::cpu::fd::{gradient, hessian, Fd};
use cqgrav::numerics::lattice::Lattice;
use cqgrav::numerics::stencil::Stencil;
use cqgrav::physics::adm_rhs::lapse_hessian;
use cqgrav::physics::ricci::{ricci, SymDerivs};
use cqgrav::physics::tensor::{contract, inverse};
use support::ricci_reference::RicciReference;

/// Max errors (Ricci tensor, Ricci scalar, lapse Hessian) over all sample points on an n³ lattice.
fn errors(refr: &RicciReference, n: usize, order: u32) -> (f64, f64, f64) {
    let l = refr.box_length();
    let lat = Lattice::new([n, n, n], l / n as f64);
    let sites = lat.sites();
    let mut g = vec![vec![0.0; sites]; 6];
    let mut lapse = vec![0.0; sites];
    for i in 0..sites {
        let x = lat.position(i);
        let m = refr.metric(x);
        for k in 0..6 {
            g[k][i] = m[k];
        }
        lapse[i] = refr.lapse(x);
    }
    let fd = Fd::<f64>::new(&Stencil::new(order), lat.spacing, 0.0);
    let (mut er, mut es, mut eh) = (0.0f64, 0.0f64, 0.0f64);
    for smp in refr.samples() {
        let c = smp.lattice_site(n, l);
        let i = lat.index(c[0], c[1], c[2]);
        let mut der = SymDerivs::<f64>::default();
        let mut gl = [0.0; 6];
        for k in 0..6 {
            gl[k] = g[k][i];
            let gr = gradient(&fd, &lat, &g[k], c);
            let hs = hessian(&fd, &lat, &g[k], c);
            for a in 0..3 {
                der.d[a][k] = gr[a];
            }
            for p in 0..6 {
                der.dd[p][k] = hs[p];
            }
        }
        let (ginv, _) = inverse(&gl);
        let (ric, gam) = ricci(&ginv, &der);
        let hess = lapse_hessian(&gam, &gradient(&fd, &lat, &lapse, c), &hessian(&fd, &lat, &lapse, c));
        for k in 0..6 {
            er = er.max((ric[k] - smp.ricci[k]).abs());
            eh = eh.max((hess[k] - smp.hessian_lapse[k]).abs());
        }
        es = es.max((contract(&ginv, &ric) - smp.ricci_scalar).abs());
    }
    (er, es, eh)
}

#[test]
fn ricci_converges_to_exact_values() {
    let refr = RicciReference::load();
    let scale = refr.samples().iter().map(|s| s.ricci.iter().fold(0.0f64, |m, x| m.max(x.abs()))).fold(0.0, f64::max);
    println!("max |R_ab| over samples: {scale:.3}");
    for (order, ns) in [(4u32, [16usize, 32, 64]), (2, [16, 32, 64])] {
        let e: Vec<_> = ns.iter().map(|&n| errors(&refr, n, order)).collect();
        for w in 0..2 {
            let rates = [(e[w].0 / e[w + 1].0).log2(), (e[w].1 / e[w + 1].1).log2(), (e[w].2 / e[w + 1].2).log2()];
            println!(
                "order {order}, N {} → {}: errors R_ab {:.2e} → {:.2e}, R {:.2e} → {:.2e}, D_aD_bN {:.2e} → {:.2e}; rates {:.2} {:.2} {:.2}",
                ns[w], ns[w + 1], e[w].0, e[w + 1].0, e[w].1, e[w + 1].1, e[w].2, e[w + 1].2, rates[0], rates[1], rates[2]
            );
            if w == 1 {
                for r in rates {
                    assert!((r - order as f64).abs() < 0.3, "rate {r} for order {order}");
                }
            }
        }
        // the finest lattice is accurate in absolute terms too
        assert!(e[2].0 < scale * if order == 4 { 1e-4 } else { 1e-2 });
    }
}
