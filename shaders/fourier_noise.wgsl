// The noise form of a step at momentum k (twin: src/physics/fourier_dynamics.rs `noise_form`): ξ̄ = P̄ Σ_x dW(x) with
// P̄ and ā_c of the step's start (the stage-0 box block), b̄ = Σ_c ξ̄_c ā_c, and its diagonal symbol
// b = (Σσσ b̄_ab + b̄_φφ, b̄_ππ). `noise` holds Σ_x dW (6) | the number of sub-steps. Include-only file (the including
// kernel declares `box`, `noise`, `sig`).

fn noise_symbol(s: array<real, 3>) -> array<real, 2> {
    var xi: array<real, 6>;
    for (var i = 0u; i < 6u; i++) {
        var t = real(0.0);
        for (var j = 0u; j < 6u; j++) {
            t = t + box[B_P + 6u * i + j] * noise[j];
        }
        xi[i] = t;
    }
    var grad: array<real, 6>;
    var bphi = real(0.0);
    var bpi = real(0.0);
    for (var p = 0u; p < 6u; p++) {
        grad[p] = real(0.0);
    }
    for (var c = 0u; c < 6u; c++) {
        let o = B_A + 9u * c;
        for (var p = 0u; p < 6u; p++) {
            grad[p] = grad[p] + xi[c] * box[o + p];
        }
        bphi = bphi + xi[c] * box[o + 6u];
        bpi = bpi + xi[c] * box[o + 8u];
    }
    return array<real, 2>(phi_symbol(grad, bphi, s), bpi);
}
