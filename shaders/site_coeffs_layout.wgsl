// Layout of the per-site coefficient block of the dense quantum field, written by gaussian_coeffs.wgsl and read by
// gaussian_site_forms.wgsl and noise_forms.wgsl (host side: src/backend/gpu/dense_field.rs `SC`):
//   sc[x·SC + s·25 + 5a + b] = ã_s[a][b] (s < 6) | sc[x·SC + SC_DINV + 6i + j] = (𝒟⁻¹)_ij | sc[x·SC + SC_K + 5a + b] = k[a][b]
// Include-only file (no bindings).
const SC: u32 = 211u;
const SC_DINV: u32 = 150u;
const SC_K: u32 = 186u;
