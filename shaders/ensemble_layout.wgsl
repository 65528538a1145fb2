// The ensemble representation's member arrays and parameters (SPEC §4.2; host: src/backend/gpu/ensemble_field.rs,
// twin layout: src/numerics/member_ops.rs). Members are member-minor: d[(f·n + i)·M + s] for field f (0 φ, 1 π),
// site i, member s — a site's M values are contiguous. Include-only file (no bindings); the including kernel
// declares `eu: array<u32>`:
//   eu: 0 = M | 1 = number of localisation blocks nb | 2..5 = blocks along x, y, z
const EU_M: u32 = 0u;
const EU_NB: u32 = 1u;
const EU_BLOCKS: u32 = 2u;

fn members() -> u32 {
    return eu[EU_M];
}
