// The strength of a step's conditioning at each site (twin: src/physics/gaussian_dynamics.rs
// `conditioning_strength`): the eigenvalues λ of Γ_loc^½ b Γ_loc^½ — computed here as those of the similar
// matrix Lᵀ b L with Γ_loc = L Lᵀ (Cholesky; a non-positive pivot, e.g. the zero gradient of an axis of one site,
// gives a zero column) by cyclic Jacobi — as out[2x] = max |λ|, out[2x + 1] = max(−λ_min, 0). The host takes the
// maximum over sites: the frozen-increment flow escapes at s ≈ 1/|λ| along λ < 0 directions. The per-site forms b
// are read at fb[x·pu[9] + pu[10] ..]: the noise forms (stride 25), or σ of the drift forms (stride 75, offset 50)
// for the drift's stiffness (twin: `GaussianModel::drift_stiffness`).
//#include "lattice.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> loc: array<real>;
@group(0) @binding(2) var<storage, read> fb: array<real>;
@group(0) @binding(3) var<storage, read_write> out: array<real>;

const SWEEPS: u32 = 12u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    if x >= n {
        return;
    }
    // Cholesky Γ_loc = L Lᵀ (lower), semi-definite
    var l: array<array<real, 5>, 5>;
    for (var i = 0u; i < 5u; i++) {
        for (var j = 0u; j < 5u; j++) {
            l[i][j] = real(0.0);
        }
    }
    for (var j = 0u; j < 5u; j++) {
        var dj = loc[x * 25u + j * 5u + j];
        for (var k = 0u; k < j; k++) {
            dj = dj - l[j][k] * l[j][k];
        }
        if dj <= real(0.0) {
            continue;
        }
        let ljj = sqrt(dj);
        l[j][j] = ljj;
        for (var i = j + 1u; i < 5u; i++) {
            var s = loc[x * 25u + i * 5u + j];
            for (var k = 0u; k < j; k++) {
                s = s - l[i][k] * l[j][k];
            }
            l[i][j] = s / ljj;
        }
    }
    // m = Lᵀ b L (symmetrised)
    var bl: array<array<real, 5>, 5>;
    for (var i = 0u; i < 5u; i++) {
        for (var j = 0u; j < 5u; j++) {
            var s = real(0.0);
            for (var k = 0u; k < 5u; k++) {
                s = s + fb[x * pu[9] + pu[10] + i * 5u + k] * l[k][j];
            }
            bl[i][j] = s;
        }
    }
    var a: array<array<real, 5>, 5>;
    for (var i = 0u; i < 5u; i++) {
        for (var j = 0u; j < 5u; j++) {
            var s = real(0.0);
            for (var k = 0u; k < 5u; k++) {
                s = s + l[k][i] * bl[k][j];
            }
            a[i][j] = s;
        }
    }
    for (var i = 0u; i < 5u; i++) {
        for (var j = i + 1u; j < 5u; j++) {
            let s = real(0.5) * (a[i][j] + a[j][i]);
            a[i][j] = s;
            a[j][i] = s;
        }
    }
    // cyclic Jacobi (eigenvalues only)
    for (var sweep = 0u; sweep < SWEEPS; sweep++) {
        for (var p = 0u; p < 4u; p++) {
            for (var q = p + 1u; q < 5u; q++) {
                let apq = a[p][q];
                if apq == real(0.0) {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (real(2.0) * apq);
                var t: real;
                if abs(theta) > real(1e15) {
                    t = real(0.5) / theta;
                } else {
                    var sgn = real(1.0);
                    if theta < real(0.0) {
                        sgn = real(-1.0);
                    }
                    t = sgn / (abs(theta) + sqrt(theta * theta + real(1.0)));
                }
                let c = real(1.0) / sqrt(t * t + real(1.0));
                let s = t * c;
                a[p][p] = a[p][p] - t * apq;
                a[q][q] = a[q][q] + t * apq;
                a[p][q] = real(0.0);
                a[q][p] = real(0.0);
                for (var r = 0u; r < 5u; r++) {
                    if r == p || r == q {
                        continue;
                    }
                    let arp = a[r][p];
                    let arq = a[r][q];
                    a[r][p] = c * arp - s * arq;
                    a[p][r] = a[r][p];
                    a[r][q] = s * arp + c * arq;
                    a[q][r] = a[r][q];
                }
            }
        }
    }
    var lo = a[0][0];
    var hi = a[0][0];
    for (var i = 1u; i < 5u; i++) {
        lo = min(lo, a[i][i]);
        hi = max(hi, a[i][i]);
    }
    out[2u * x] = max(abs(lo), abs(hi));
    out[2u * x + 1u] = max(-lo, real(0.0));
}
