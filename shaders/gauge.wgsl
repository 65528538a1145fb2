// Lapse conditions (SPEC §2; signs for K > 0 = expansion, see src/physics/gauge.rs, its twin).
//   geodesic: ∂t N = 0;  harmonic: ∂t N = N² K;  one-plus-log: ∂t N = 2 N K
fn lapse_rhs(kind: u32, lapse: real, trace_k: real) -> real {
    if kind == 1u {
        return lapse * lapse * trace_k;
    }
    if kind == 2u {
        return real(2.0) * lapse * trace_k;
    }
    return real(0.0);
}
